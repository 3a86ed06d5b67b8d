"""SQLModel tables for the whole domain.

Ladder per entity, after the FastAPI template: ``XBase`` (shared fields),
``X(XBase, table=True)`` (the table). Create/update payloads are plain keyword
arguments of the CRUD functions in :mod:`db.crud`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def name_key(name: str) -> str:
    """The case-insensitive form of a user name: stripped and lowercased (``Boss`` and ``boss`` clash)."""
    return name.strip().lower()


def _username_key_default(context) -> str:
    return name_key(context.get_current_parameters()["username"])


# --------------------------------------------------------------------------- enums
class Role(StrEnum):
    """What a user may do; each role includes the ones above it."""

    EDITOR = "editor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class SourceStatus(StrEnum):
    """Lifecycle of an uploaded source."""

    PENDING = "pending"
    INGESTING = "ingesting"
    READY = "ready"
    FAILED = "failed"


class RunStatus(StrEnum):
    """Lifecycle of a plan/write run."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunKind(StrEnum):
    """What a run does."""

    PLAN = "plan"
    WRITE = "write"
    PLAN_AND_WRITE = "plan_and_write"
    REGENERATE_SECTION = "regenerate_section"
    TRY_MODEL = "try_model"


class PlanStatus(StrEnum):
    """Whether the editor has approved a blueprint for writing."""

    DRAFT = "draft"
    APPROVED = "approved"


class DraftStatus(StrEnum):
    """Review workflow statuses of a draft."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    EXPORTED = "exported"
    PUBLISHED = "published"


class RevisionOrigin(StrEnum):
    """How a revision came to be."""

    GENERATED = "generated"
    EDITED = "edited"
    RESTORED = "restored"
    CONFLICT = "conflict"


class ReviewEventKind(StrEnum):
    """Kinds of entries on a draft's timeline."""

    CREATED = "created"
    COMMENT = "comment"
    STATUS_CHANGE = "status_change"
    EXPORT = "export"
    PUBLISH = "publish"


class CallStatus(StrEnum):
    """Outcome of one model call."""

    OK = "ok"
    ERROR = "error"


# --------------------------------------------------------------------------- users
class UserBase(SQLModel):
    username: str = Field(index=True, unique=True, max_length=64)
    role: Role = Field(default=Role.EDITOR)
    disabled: bool = False


class User(UserBase, table=True):
    """A person who logs in; the password is only ever stored as an argon2 hash."""

    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    username_key: str = Field(
        default=None,
        unique=True,
        max_length=64,
        nullable=False,
        sa_column_kwargs={"default": _username_key_default},
    )
    """:func:`name_key` of the user name, unique: user names are case-insensitive."""
    password_hash: str
    last_login_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- sources
class CollectionBase(SQLModel):
    name: str = Field(index=True, unique=True, max_length=200)
    description: str = ""


class SourceCollection(CollectionBase, table=True):
    """A named set of sources (one per topic or client), mapped to one Chroma collection."""

    __tablename__ = "source_collection"

    id: int | None = Field(default=None, primary_key=True)
    chroma_name: str = Field(unique=True, max_length=512)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class SourceBase(SQLModel):
    name: str = Field(max_length=512)
    kind: str = Field(max_length=16)  # md, txt, pdf, html, docx, paste
    size_bytes: int = 0


class Source(SourceBase, table=True):
    """One uploaded document; its chunks live in Chroma under ``source_key``."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("collection_id", "name", name="uq_source_collection_name"),)

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="source_collection.id", index=True, ondelete="CASCADE")
    source_key: str = Field(unique=True, max_length=64)  # the record manager's source id
    content_hash: str = Field(default="", max_length=64)
    status: SourceStatus = Field(default=SourceStatus.PENDING, index=True)
    error: str | None = Field(default=None, sa_column=Column(Text))
    chunk_count: int = 0
    page_count: int | None = None
    added_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- runs and plans
class Run(SQLModel, table=True):
    """One execution of the chain (plan, write, both, or a section regeneration)."""

    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    kind: RunKind = Field(index=True)
    status: RunStatus = Field(default=RunStatus.RUNNING, index=True)
    collection_id: int | None = Field(default=None, foreign_key="source_collection.id", ondelete="SET NULL")
    plan_id: int | None = Field(default=None, foreign_key="plan.id", ondelete="SET NULL")
    draft_id: int | None = Field(default=None, foreign_key="draft.id", ondelete="SET NULL")
    topic: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    # Resumable progress: stage name plus whatever the stage saved (e.g. finished sections).
    stage: str | None = None
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    # Live control and progress readable by any process (a run may work in a queue worker elsewhere).
    cancel_requested: bool = False
    live_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    worker: str = Field(default="", max_length=200)


class Plan(SQLModel, table=True):
    """A research result and content blueprint, editable until approved."""

    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int | None = Field(default=None, foreign_key="source_collection.id", ondelete="SET NULL")
    topic: str
    audience: str = ""
    tone: str = ""
    target_words: int = 1500
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    blueprint: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    is_fallback: bool = False
    status: PlanStatus = Field(default=PlanStatus.DRAFT)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- drafts
class Draft(SQLModel, table=True):
    """A post under editing; its text lives in :class:`Revision` rows.

    ``version`` is the optimistic-concurrency counter: it equals the number of the
    current revision, and a save must name the version it was based on. The run
    that produced a plan or draft points at them (``Run.plan_id``/``Run.draft_id``).
    """

    __tablename__ = "draft"
    __table_args__ = (Index("ix_draft_status_updated", "status", "updated_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(default="", max_length=256, index=True)
    status: DraftStatus = Field(default=DraftStatus.DRAFT, index=True)
    collection_id: int | None = Field(default=None, foreign_key="source_collection.id", ondelete="SET NULL", index=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", ondelete="SET NULL")
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    version: int = 0
    word_count: int = 0
    devto_id: int | None = None
    devto_url: str | None = None
    exported_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class Revision(SQLModel, table=True):
    """An immutable snapshot of a draft's front matter and Markdown body."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("draft_id", "number", name="uq_revision_draft_number"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True, ondelete="CASCADE")
    number: int
    front_matter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    origin: RevisionOrigin = Field(default=RevisionOrigin.EDITED)
    base_number: int | None = None  # the revision the author started from
    note: str = ""
    word_count: int = 0
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class ReviewEvent(SQLModel, table=True):
    """One entry of a draft's timeline: creation, comment, status change, export, publish."""

    __tablename__ = "review_event"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True, ondelete="CASCADE")
    revision_id: int | None = Field(default=None, foreign_key="revision.id", ondelete="SET NULL")
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    kind: ReviewEventKind
    from_status: DraftStatus | None = None
    to_status: DraftStatus | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


# --------------------------------------------------------------------------- usage
class LLMCall(SQLModel, table=True):
    """One model call with its token usage and latency (the token ledger)."""

    __tablename__ = "llm_call"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="run.id", index=True, ondelete="SET NULL")
    draft_id: int | None = Field(default=None, foreign_key="draft.id", index=True, ondelete="SET NULL")
    collection_id: int | None = Field(default=None, foreign_key="source_collection.id", ondelete="SET NULL")
    stage: str = Field(default="", max_length=64, index=True)  # research, plan, repair, section 3, ...
    backend: str = Field(default="", max_length=32)
    model: str = Field(default="", max_length=256, index=True)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    total_tokens: int = 0
    latency_ms: int = 0
    status: CallStatus = Field(default=CallStatus.OK)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ModelPrice(SQLModel, table=True):
    """Price per million tokens for a model name, used for cost estimates (local models: 0)."""

    __tablename__ = "model_price"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(unique=True, max_length=256)
    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0


class AppSetting(SQLModel, table=True):
    """Runtime settings changed from the Settings page (overrides of the environment defaults)."""

    __tablename__ = "app_setting"

    key: str = Field(primary_key=True, max_length=128)
    value: Any = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- login throttle
class LoginFailure(SQLModel, table=True):
    """Failed logins in a row for a typed user name, whether or not an account has that name.

    Keyed by :func:`name_key`, so an unknown name is slowed down exactly like a real one and the
    answers reveal nothing about which accounts exist.
    """

    __tablename__ = "login_failure"

    name_key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow, index=True)


# --------------------------------------------------------------------------- browser sessions
class LoginSession(SQLModel, table=True):
    """One logged-in browser: the cookie holds a signed random id; only its SHA-256 is stored here.

    ``fingerprint`` is a digest of the account's password hash and role when the session began:
    a changed password or role no longer matches, which ends the session.
    """

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, max_length=64)
    fingerprint: str = Field(max_length=64)
    claim_nonce: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    end_reason: str = Field(default="", max_length=64)


# --------------------------------------------------------------------------- ask your sources
class AskConversation(SQLModel, table=True):
    """One user's conversation with one collection (Ask your sources)."""

    __tablename__ = "ask_conversation"
    __table_args__ = (UniqueConstraint("user_id", "collection_id", name="uq_ask_conversation_user_collection"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE", index=True)
    collection_id: int = Field(foreign_key="source_collection.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AskTurn(SQLModel, table=True):
    """A question, its verified answer, the passages behind it and its token usage."""

    __tablename__ = "ask_turn"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="ask_conversation.id", ondelete="CASCADE", index=True)
    question: str = Field(sa_column=Column(Text, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    declined: bool = False
    method: str = Field(default="", max_length=32)
    passages: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    dropped: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- groundedness reports
class GroundingReport(SQLModel, table=True):
    """The groundedness report of one revision: summary columns plus the whole report as JSON.

    ``report`` holds every sentence's verdict (status, cited passage, score) and the passages it was
    checked against, so a later revision can be re-checked without the sources at hand. ``checked_by``
    says who produced it: ``writer`` (the writing run's verifier) or ``recheck`` (a save, re-checked).
    ``complete`` is false when only part of the body could be checked (``problem`` says why, for people).
    ``acknowledged_by_id``/``acknowledged_at`` record a reviewer approving despite unsupported sentences.
    """

    __tablename__ = "grounding_report"
    __table_args__ = (Index("ix_grounding_report_draft_number", "draft_id", "revision_number"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", ondelete="CASCADE")
    revision_id: int = Field(foreign_key="revision.id", unique=True, ondelete="CASCADE")
    revision_number: int
    sentence_count: int = 0
    supported_count: int = 0
    unsupported_count: int = 0
    no_claim_count: int = 0
    supported_share: float = 1.0
    passage_count: int = 0
    unknown_terms: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    checked_by: str = Field(default="recheck", max_length=16)
    elapsed_ms: int = 0
    complete: bool = True
    problem: str = Field(default="", sa_column=Column(Text, nullable=False))
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    acknowledged_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- queued ingests
class IngestTaskStatus(StrEnum):
    """Lifecycle of an ingest sent to a queue worker."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IngestTask(SQLModel, table=True):
    """An upload handed to a queue worker: its progress and result, readable by every app process."""

    __tablename__ = "ingest_task"

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="source_collection.id", index=True, ondelete="CASCADE")
    status: IngestTaskStatus = Field(default=IngestTaskStatus.QUEUED, index=True)
    total: int = 0
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    """``{"active": [{name, stage, done, total}], "outcomes": [FileOutcome fields]}`` while it works."""
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime | None = None
    worker: str = Field(default="", max_length=200)


class IngestTaskFile(SQLModel, table=True):
    """One file of a queued upload, kept in the database until a worker has ingested it."""

    __tablename__ = "ingest_task_file"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="ingest_task.id", index=True, ondelete="CASCADE")
    position: int = 0
    name: str = Field(max_length=512)
    kind: str | None = Field(default=None, max_length=32)
    force: bool = False
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
