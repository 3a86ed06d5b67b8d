"""Session fixtures for the real embedded chat model (converted once per session, or once per machine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def embedded_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted SmolLM2 checkpoint lives: ``EDITORIAL_TEST_MODEL_CACHE`` if set (kept), else a temp dir."""
    cache = os.environ.get("EDITORIAL_TEST_MODEL_CACHE")
    return Path(cache) if cache else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedded_llm_settings(embedded_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Settings with the session's models folder, greedy generation and short answers.

    One torch thread: on a contended 2-core machine two OpenMP threads can collapse to under 1 token/s (spinning
    barriers), which would make the timing assertions below flaky; the code path is the same.
    """
    from editorial.settings import Settings

    return Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("llm-data"),
        model_cache_dir=embedded_models_dir,
        hf_hub_offline=True,
        temperature=0.0,
        max_new_tokens=48,
        torch_threads=1,
    )


@pytest.fixture(scope="session")
def embedded_chat_model(embedded_llm_settings):
    """The real embedded chat model (``LocalChatModel``), loaded once for the session."""
    from editorial.llm import build_chat_model

    return build_chat_model(embedded_llm_settings)


@pytest.fixture(scope="session")
def real_embeddings():
    """The real embedding model (all-MiniLM-L6-v2), loaded once for the session; it holds no per-test state."""
    from editorial.embeddings import build_embeddings
    from editorial.settings import Settings

    return build_embeddings(Settings(_env_file=None))
