"""The writing chain: research → plan (an editable Blueprint) → write, section by section, with citations.

Stages are modules with typed hand-offs (``schemas.py``); ``runner.py`` runs them, saves progress for resume
and reports through a no-op callback interface that pages and the CLI implement.
"""
