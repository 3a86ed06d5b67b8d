"""Export approved drafts as dev.to-ready Markdown files (one ``.md`` or several in a ``.zip``).

Exporting checks the actor's role, refuses drafts that are not approved unless forced (admins,
recorded), takes the revision the reviewer approved, marks approved drafts exported and writes an
EXPORT event on each draft's timeline.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from db.crud.reviews import add_event
from db.models import DraftStatus, ReviewEventKind, User, utcnow
from editorial.errors import EditorialError
from editorial.frontmatter import compose_post, validate_front_matter
from editorial.reviews import InvalidDraft, load_draft, release_revision
from editorial.workflow import EXPORTABLE, Action, require, status_label

MAX_SLUG_CHARS = 80


class NotApproved(EditorialError):
    """The draft is not approved and the export was not forced."""


@dataclass(frozen=True)
class ExportedPost:
    """One post ready to download: its file name and Markdown text."""

    draft_id: int
    revision_number: int
    filename: str
    text: str


def slugify(title: str, fallback: str = "draft") -> str:
    """A safe file stem: lowercase ASCII letters, digits and single hyphens (never empty, no dots)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    slug = slug[:MAX_SLUG_CHARS].rstrip("-")
    return slug or fallback


def export_filename(title: str, draft_id: int) -> str:
    """``<slug>.md`` for a draft (``draft-<id>.md`` when the title has no usable characters)."""
    return f"{slugify(title, fallback=f'draft-{draft_id}')}.md"


def _check(session: Session, draft_id: int, actor: User | None, force: bool):
    require(actor, Action.EXPORT)
    draft = load_draft(session=session, draft_id=draft_id)
    if DraftStatus(draft.status) not in EXPORTABLE:
        if not force:
            raise NotApproved(
                f"Draft {draft_id} is {status_label(draft.status).lower()}, not approved: "
                "only approved drafts are exported."
            )
        require(actor, Action.FORCE_EXPORT)
    revision = release_revision(session=session, draft=draft)
    if revision is None:
        raise InvalidDraft(f"Draft {draft_id} has no approved revision to export.")
    if not force and (problems := validate_front_matter(revision.front_matter, revision.body)):
        raise InvalidDraft(
            f"Draft {draft_id} breaks dev.to's rules: " + "; ".join(f"{k}: {v}" for k, v in problems.items())
        )
    return draft, revision


def prepare_exports(
    *, session: Session, draft_ids: list[int], actor: User | None, force: bool = False
) -> list[ExportedPost]:
    """Check permissions and statuses and render the files, without recording anything.

    Raises:
        PermissionDenied: The actor may not export (or force).
        NotApproved: A draft is not approved and ``force`` is False.
        InvalidDraft: A draft breaks dev.to's rules.
    """
    posts, used = [], set()
    for draft_id in draft_ids:
        draft, revision = _check(session, draft_id, actor, force)
        name = export_filename(draft.title, draft.id)
        if name in used:
            name = f"{name[:-3]}-{draft.id}.md"
        used.add(name)
        posts.append(ExportedPost(draft.id, revision.number, name, compose_post(revision.front_matter, revision.body)))
    return posts


def record_exports(
    *, session: Session, posts: list[ExportedPost], actor: User | None, force: bool = False, where: str = ""
) -> None:
    """Mark the exported drafts (approved → exported) and write an EXPORT event on each timeline."""
    for post in posts:
        draft, revision = _check(session, post.draft_id, actor, force)
        from_status = DraftStatus(draft.status)
        to_status = DraftStatus.EXPORTED if from_status is DraftStatus.APPROVED else from_status
        note = f"{post.filename}{' → ' + where if where else ''}"
        if from_status not in EXPORTABLE:
            note += f" (forced while {status_label(from_status).lower()})"
        draft.status = to_status
        draft.exported_at = utcnow()
        session.add(draft)
        add_event(
            session=session,
            draft_id=draft.id,
            kind=ReviewEventKind.EXPORT,
            actor_id=actor.id if actor else None,
            note=note,
            from_status=from_status,
            to_status=to_status,
            revision_id=revision.id,
        )


def export_drafts(
    *, session: Session, draft_ids: list[int], actor: User | None, force: bool = False, where: str = ""
) -> list[ExportedPost]:
    """:func:`prepare_exports` then :func:`record_exports`: the files, with the drafts marked."""
    posts = prepare_exports(session=session, draft_ids=draft_ids, actor=actor, force=force)
    record_exports(session=session, posts=posts, actor=actor, force=force, where=where)
    return posts


def build_zip(posts: list[ExportedPost]) -> bytes:
    """A zip archive holding one ``.md`` per post."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for post in posts:
            archive.writestr(post.filename, post.text.encode("utf-8"))
    return buffer.getvalue()


def write_exports(posts: list[ExportedPost], out_dir: Path) -> list[Path]:
    """Write each post to ``out_dir`` (created if needed); return the file paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for post in posts:
        path = out_dir / post.filename
        path.write_text(post.text, encoding="utf-8")
        paths.append(path)
    return paths
