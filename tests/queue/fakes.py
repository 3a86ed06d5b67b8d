"""A services factory for queue workers started by the tests (``EDITORIAL_WORKER_SERVICES=tests.queue.fakes:build``).

The worker runs the real runner, ledger, database and queue; only the chat model is the unit tests' fake
(it streams word by word and reports usage), slowed by ``EDITORIAL_FAKE_CHUNK_DELAY_S`` per chunk so a
test can watch, cancel or kill a run mid-way, and the search is the unit tests' fixed corpus.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Engine

from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices
from editorial.settings import Settings
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder


def build(settings: Settings, engine: Engine, chroma_name: str | None) -> ChainServices:
    """Fake planner and writer (slowed), fake search, real everything else."""
    delay = float(os.environ.get("EDITORIAL_FAKE_CHUNK_DELAY_S", "0.02"))
    model = RecordingChatModel(responder=good_responder, on_chunk=lambda _piece: time.sleep(delay))
    target = ChatTarget(model, backend="fake", name="fake-worker-model", structured_output=False)
    return ChainServices(
        engine=engine,
        planner=target,
        writer=target,
        search=fake_search(),
        heartbeat_s=settings.run_heartbeat_s,
    )
