"""Groundedness reports of revisions: store and load them, re-check a saved body, the approval rule.

Every revision gets a report. Revision 1 of a generated draft stores the writing run's own report
(``checked_by="writer"``); every later save, restore or conflict revision is re-checked here, with no
generation, against the passages of the draft's latest report, which are carried forward into the new
report. A draft that never had sources (a pasted or hand-written post) is re-checked against nothing:
each sentence that makes a claim is unsupported, and the report says once that no sources stand behind
the draft instead of giving every sentence its own alarm.

Approving a draft whose current revision has unsupported sentences needs an explicit acknowledgement
(:func:`require_acknowledgement`), which :func:`approve` records on the report and the timeline.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlmodel import Session

from db.crud import grounding as grounding_crud
from db.crud.drafts import current_revision
from db.models import Draft, GroundingReport, Revision, User
from editorial.errors import EditorialError
from editorial.grounding.schemas import GroundednessReport, Passage, SentenceStatus
from editorial.grounding.verify import verify_text
from editorial.grounding.vocabulary import SourceVocabulary

log = logging.getLogger(__name__)

WRITER = "writer"
"""``checked_by`` of a report made by the writing run's verifier."""
RECHECK = "recheck"
"""``checked_by`` of a report made by re-checking a saved body."""

NO_SOURCES_REASON = "no sources behind this draft"
"""The reason every claim of a draft without passages carries."""

MAX_CHECK_CHARS = 200_000
"""Longest body checked whole (about 30,000 words, a few seconds); a longer one is checked up to here."""


class UnsupportedNotAcknowledged(EditorialError):
    """Approval refused: the revision has unsupported sentences and nobody acknowledged them."""


@dataclass(frozen=True)
class StoredReport:
    """A revision's report as stored, with who checked it and any acknowledgement."""

    report: GroundednessReport
    draft_id: int
    revision_id: int
    revision_number: int
    checked_by: str
    elapsed_ms: int
    created_at: datetime
    complete: bool = True
    problem: str = ""
    acknowledged_by_id: int | None = None
    acknowledged_at: datetime | None = None

    @property
    def has_sources(self) -> bool:
        """Whether any passage stands behind the draft."""
        return bool(self.report.passages)

    @property
    def unsupported_count(self) -> int:
        """Sentences with an unsupported claim."""
        return self.report.count(SentenceStatus.UNSUPPORTED)


def _stored(row: GroundingReport) -> StoredReport:
    return StoredReport(
        report=GroundednessReport.model_validate(row.report or {}),
        draft_id=row.draft_id,
        revision_id=row.revision_id,
        revision_number=row.revision_number,
        checked_by=row.checked_by,
        elapsed_ms=row.elapsed_ms,
        created_at=row.created_at,
        complete=row.complete,
        problem=row.problem,
        acknowledged_by_id=row.acknowledged_by_id,
        acknowledged_at=row.acknowledged_at,
    )


def save_report(
    *,
    session: Session,
    revision: Revision,
    report: GroundednessReport,
    checked_by: str,
    elapsed_ms: int = 0,
    problem: str = "",
) -> StoredReport:
    """Store ``report`` as the report of ``revision`` (replacing an earlier one); the caller commits.

    ``problem`` (one line for people) marks a report that covers only part of the body.
    """
    row = grounding_crud.save_report(
        session=session,
        draft_id=revision.draft_id,
        revision_id=revision.id,
        revision_number=revision.number,
        report=report.model_dump(mode="json"),
        sentence_count=len(report.sentences),
        supported_count=report.count(SentenceStatus.SUPPORTED),
        unsupported_count=report.count(SentenceStatus.UNSUPPORTED),
        no_claim_count=report.count(SentenceStatus.NO_CLAIM),
        supported_share=report.supported_share,
        passage_count=len(report.passages),
        unknown_terms=report.unknown_terms,
        checked_by=checked_by,
        elapsed_ms=elapsed_ms,
        complete=not problem,
        problem=problem,
    )
    return _stored(row)


def load_report(*, session: Session, revision_id: int) -> StoredReport | None:
    """The stored report of a revision, or None when it has none."""
    row = grounding_crud.report_for_revision(session=session, revision_id=revision_id)
    return _stored(row) if row is not None else None


def draft_passages(*, session: Session, draft_id: int, exclude_revision_id: int | None = None) -> dict[int, Passage]:
    """The passages of the draft's latest report ({} for a draft that never had sources)."""
    row = grounding_crud.latest_report(session=session, draft_id=draft_id, exclude_revision_id=exclude_revision_id)
    if row is None:
        return {}
    return GroundednessReport.model_validate(row.report or {}).passages


class _NoSources(SourceVocabulary):
    """Stands in for the vocabulary of a draft without sources: looking its terms up would only list every name."""

    def unknown(self, terms) -> list[str]:
        return []

    def __bool__(self) -> bool:  # empty, yet to be used (the verifier falls back on a falsy vocabulary)
        return True


def _vocabulary_of(passages: dict[int, Passage]) -> SourceVocabulary:
    """The names/numbers of a draft's passages, built once per set of passages (each save re-uses them)."""
    if not passages:
        return _NoSources()
    return _cached_vocabulary(tuple(sorted(p.text for p in passages.values())))


@lru_cache(maxsize=32)
def _cached_vocabulary(texts: tuple[str, ...]) -> SourceVocabulary:
    return SourceVocabulary.from_texts(texts)


def supported_shares(*, session: Session, draft_id: int) -> dict[int, float | None]:
    """Per revision number: the supported share of its report (None for a draft without sources)."""
    return {
        number: (share if passages else None)
        for number, (share, _unsupported, passages) in grounding_crud.summaries(
            session=session, draft_id=draft_id
        ).items()
    }


def check_body(
    body: str, passages: dict[int, Passage], *, vocabulary: SourceVocabulary | None = None
) -> tuple[GroundednessReport, int, str]:
    """Verify ``body`` against ``passages`` without generation.

    Never raises: a body longer than :data:`MAX_CHECK_CHARS` is checked up to there, and a verifier failure
    gives an empty report; either way the third value says so in one line (it is "" for a whole check).

    Returns:
        The report (carrying ``passages``), the time it took in ms, and the problem ("" when none).
    """
    started = time.perf_counter()
    problem = ""
    checked = body
    if len(body) > MAX_CHECK_CHARS:
        cut = body.rfind("\n\n", 0, MAX_CHECK_CHARS)
        checked = body[: cut if cut > 0 else MAX_CHECK_CHARS]
        problem = f"Only the first {len(checked):,} of {len(body):,} characters were checked (the text is too long)."
    try:
        report = verify_text(
            checked, passages, vocabulary=vocabulary if vocabulary is not None else _vocabulary_of(passages)
        )
    except Exception:  # the checker must never cost a save: record the failure instead
        log.exception("groundedness check failed on a body of %d characters", len(body))
        report = GroundednessReport()
        problem = "The sources check failed on this text; the log has the details."
    if not passages:  # one fact for people, not a list of every name as "unknown"
        report.unknown_terms = []
        for sentence in report.sentences:
            sentence.unknown_terms = []
            if sentence.status == SentenceStatus.UNSUPPORTED:
                sentence.reason = NO_SOURCES_REASON
    report.passages = dict(passages)
    return report, round((time.perf_counter() - started) * 1000), problem


@dataclass(frozen=True)
class Check:
    """A report made before its revision exists (so the check runs outside the save's write lock)."""

    report: GroundednessReport
    elapsed_ms: int = 0
    problem: str = ""
    checked_by: str = RECHECK


def writer_check(report: GroundednessReport) -> Check:
    """The writing run's own report of a body, to store as is."""
    return Check(report=report, checked_by=WRITER)


def check_draft_body(
    *,
    session: Session,
    draft_id: int | None,
    body: str,
    exclude_revision_id: int | None = None,
    vocabulary: SourceVocabulary | None = None,
) -> Check:
    """Check ``body`` against the passages of the draft's latest report (none for a new draft); nothing is stored.

    Names and numbers are looked up in those passages unless ``vocabulary`` gives the whole collection's.
    """
    passages = (
        draft_passages(session=session, draft_id=draft_id, exclude_revision_id=exclude_revision_id)
        if draft_id is not None
        else {}
    )
    report, elapsed_ms, problem = check_body(body, passages, vocabulary=vocabulary)
    log.info(
        "checked a body of draft %s: %d sentences, %d unsupported, %d ms",
        draft_id,
        len(report.sentences),
        report.count(SentenceStatus.UNSUPPORTED),
        elapsed_ms,
    )
    return Check(report=report, elapsed_ms=elapsed_ms, problem=problem)


def store_check(*, session: Session, revision: Revision, check: Check) -> StoredReport:
    """Store a :class:`Check` as the report of ``revision``; the caller commits."""
    return save_report(
        session=session,
        revision=revision,
        report=check.report,
        checked_by=check.checked_by,
        elapsed_ms=check.elapsed_ms,
        problem=check.problem,
    )


def recheck_revision(
    *, session: Session, revision: Revision, vocabulary: SourceVocabulary | None = None
) -> StoredReport:
    """Re-check a saved revision against the passages of the draft's latest report and store the result.

    The passages are carried forward into the new report, so the next save can be re-checked too.
    """
    check = check_draft_body(
        session=session,
        draft_id=revision.draft_id,
        body=revision.body,
        exclude_revision_id=revision.id,
        vocabulary=vocabulary,
    )
    return store_check(session=session, revision=revision, check=check)


def current_report(*, session: Session, draft: Draft) -> StoredReport | None:
    """The report of the draft's current revision; one is made now if the revision has none (older data)."""
    revision = current_revision(session=session, draft=draft)
    if revision is None:
        return None
    return load_report(session=session, revision_id=revision.id) or recheck_revision(session=session, revision=revision)


def describe(report: GroundednessReport, *, what: str, problem: str = "") -> str:
    """One sentence for people on how much of a text (``what``: "Revision 3", "Your unsaved text") is backed."""
    supported = report.count(SentenceStatus.SUPPORTED)
    unsupported = report.count(SentenceStatus.UNSUPPORTED)
    claims = supported + unsupported
    if not claims:
        line = f"{what} makes no claim that needs a source."
    elif not report.passages:
        line = f"No sources behind this draft: none of the {claims} sentence(s) with a claim can be checked."
    else:
        line = (
            f"{what}: {supported} of {claims} sentence(s) with a claim are supported by their sources "
            f"({report.supported_share:.0%}); {unsupported} unsupported."
        )
        if report.unknown_terms:
            line += f" {len(report.unknown_terms)} term(s) occur in no source."
    return f"{line} {problem}" if problem else line


def summary_line(stored: StoredReport) -> str:
    """One sentence for people: how much of the stored revision its sources back."""
    return describe(stored.report, what=f"Revision {stored.revision_number}", problem=stored.problem)


def acknowledgement_note(stored: StoredReport) -> str:
    """What the timeline records when a reviewer approves despite unsupported sentences."""
    if not stored.complete and not stored.unsupported_count:
        return f"Acknowledged: revision {stored.revision_number} was not checked whole ({stored.problem})"
    if not stored.has_sources:
        return (
            f"Acknowledged: no sources behind revision {stored.revision_number} "
            f"({stored.unsupported_count} sentence(s) with an unchecked claim)."
        )
    return (
        f"Acknowledged {stored.unsupported_count} unsupported sentence(s) in revision {stored.revision_number} "
        f"({stored.report.supported_share:.0%} supported)."
    )


def needs_acknowledgement(stored: StoredReport | None) -> bool:
    """Whether approving this revision needs an explicit acknowledgement (unsupported or unchecked text)."""
    return stored is not None and (stored.unsupported_count > 0 or not stored.complete)


def require_acknowledgement(stored: StoredReport | None, acknowledged: bool) -> None:
    """Refuse approval of a revision with unsupported sentences unless they were acknowledged.

    Raises:
        UnsupportedNotAcknowledged: Unsupported sentences exist and ``acknowledged`` is false.
    """
    if not needs_acknowledgement(stored) or acknowledged:
        return
    if not stored.complete and not stored.unsupported_count:
        what = "was not checked whole"
    elif not stored.has_sources:
        what = "has no sources behind it"
    else:
        what = f"has {stored.unsupported_count} unsupported sentence(s)"
    raise UnsupportedNotAcknowledged(
        f"Revision {stored.revision_number} {what}: acknowledge them to approve "
        "(the Review page's checkbox, or --acknowledge-unsupported)."
    )


def acknowledged_note(stored: StoredReport | None, acknowledged: bool, note: str) -> str:
    """The approval's timeline note: the acknowledgement first when one is needed (refused without one).

    Raises:
        UnsupportedNotAcknowledged: Unsupported or unchecked text and ``acknowledged`` is false.
    """
    require_acknowledgement(stored, acknowledged)
    if not needs_acknowledgement(stored):
        return note
    return f"{acknowledgement_note(stored)} {note.strip()}".strip()


def record_acknowledgement(*, session: Session, stored: StoredReport | None, actor: User | None) -> None:
    """Write who acknowledged the revision's unsupported sentences, and when, on its report (after approval)."""
    if not needs_acknowledgement(stored):
        return
    row = grounding_crud.report_for_revision(session=session, revision_id=stored.revision_id)
    if row is not None:
        grounding_crud.mark_acknowledged(session=session, report_id=row.id, user_id=actor.id if actor else None)
