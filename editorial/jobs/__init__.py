"""Where long work executes: threads of the app process (the default) or workers of a task queue.

``EDITORIAL_TASK_QUEUE=procrastinate`` sends writing runs and ingests to procrastinate workers
(``python -m editorial worker``) through the PostgreSQL the app already uses; their progress, results and
cancel requests live in the database, so every app process shows and controls them.
"""
