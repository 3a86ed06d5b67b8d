"""Helpers shared by the workflow tests: users without slow hashing, drafts moved to a status."""

from __future__ import annotations

from sqlmodel import Session

from db.models import Draft, Role, User
from editorial import reviews
from editorial.drafts import create_generated_draft, save_revision

GOOD_FRONT_MATTER = {
    "title": "Grounded posts",
    "description": "Citations from your own sources",
    "tags": ["python", "rag"],
    "published": False,
    "ai_disclosure_level": "fully_autonomous",
}


def make_user(session: Session, username: str, role: Role | str = Role.EDITOR, disabled: bool = False) -> User:
    """A user with a placeholder hash (tests that log in use editorial.auth instead)."""
    user = User(username=username, role=Role(role), password_hash="placeholder", disabled=disabled)
    session.add(user)
    session.flush()
    return user


def team(session: Session) -> dict[str, User]:
    """An editor, a reviewer and an admin."""
    return {
        "editor": make_user(session, "ed", Role.EDITOR),
        "reviewer": make_user(session, "rita", Role.REVIEWER),
        "admin": make_user(session, "ada", Role.ADMIN),
    }


def generated_draft(session: Session, author: User | None = None, body: str = "Hello world.", **front) -> Draft:
    """A generated draft with valid dev.to front matter."""
    return create_generated_draft(
        session=session,
        title=front.get("title", GOOD_FRONT_MATTER["title"]),
        front_matter={**GOOD_FRONT_MATTER, **front},
        body=body,
        author_id=author.id if author else None,
        collection_id=None,
        plan_id=None,
        note="from the chain",
    )


def approved_draft(session: Session, people: dict[str, User], **front) -> Draft:
    """A draft taken through submit and approve."""
    draft = generated_draft(session, people["editor"], **front)
    reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
    reviews.approve(
        session=session,
        draft_id=draft.id,
        actor=people["reviewer"],
        revision_number=1,
        note="good",
        acknowledge_unsupported=True,
    )
    return reviews.load_draft(session=session, draft_id=draft.id)


def save(session: Session, draft_id: int, base: int, body: str, author: User | int | None, **front):
    """Save ``body`` as a new revision on ``base`` (valid front matter, changed by ``front``)."""
    return save_revision(
        session=session,
        draft_id=draft_id,
        base_version=base,
        front_matter={**GOOD_FRONT_MATTER, **front},
        body=body,
        author_id=author.id if isinstance(author, User) else author,
    )
