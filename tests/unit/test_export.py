"""Export: safe slugs, .md round trip, zip contents, approval required, recorded on the timeline, CLI."""

import io
import zipfile

import pytest

from db.crud import drafts as drafts_crud
from db.models import DraftStatus, ReviewEventKind
from db.session import session_scope
from editorial import reviews
from editorial.cli import main
from editorial.export import (
    NotApproved,
    build_zip,
    export_drafts,
    export_filename,
    prepare_exports,
    slugify,
    write_exports,
)
from editorial.frontmatter import normalize_front_matter, parse_post
from editorial.workflow import PermissionDenied
from tests.unit.workflow_support import GOOD_FRONT_MATTER, approved_draft, generated_draft, team


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        return team(session)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Grounded Posts, With Small Models!", "grounded-posts-with-small-models"),
        ("../../etc/passwd", "etc-passwd"),
        ("Café déjà vu", "cafe-deja-vu"),
        ("C:\\Windows\\con.md", "c-windows-con-md"),
        ("日本語", "draft"),
        ("", "draft"),
        ("a" * 200, "a" * 80),
    ],
)
def test_slugs_are_safe_file_names(title, slug):
    assert slugify(title) == slug


def test_file_name_falls_back_to_the_draft_id():
    assert export_filename("!!!", 42) == "draft-42.md"


def test_approved_draft_exports_as_dev_to_markdown_that_parses_back(engine, people):
    body = "# Intro\n\nGrounded text [1].\n\n<script>kept as text</script>\n"
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], body=body, title="My Post: part 1")
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
        reviews.approve(
            session=session,
            draft_id=draft.id,
            actor=people["reviewer"],
            revision_number=reviews.load_draft(session=session, draft_id=draft.id).version,
            acknowledge_unsupported=True,
        )
        [post] = export_drafts(session=session, draft_ids=[draft.id], actor=people["reviewer"], where="tests")
    assert post.filename == "my-post-part-1.md"
    front_matter, parsed_body = parse_post(post.text)
    assert normalize_front_matter(front_matter) == normalize_front_matter(
        {**GOOD_FRONT_MATTER, "title": "My Post: part 1"}
    )
    assert parsed_body == body.strip()
    with session_scope(engine) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
        assert draft.status is DraftStatus.EXPORTED and draft.exported_at is not None
        last = reviews.timeline(session=session, draft_id=draft.id)[-1]
    assert (last.kind, last.actor, last.from_status, last.to_status) == (
        ReviewEventKind.EXPORT,
        "rita",
        DraftStatus.APPROVED,
        DraftStatus.EXPORTED,
    )
    assert last.note == "my-post-part-1.md → tests"


def test_several_drafts_zip_with_unique_names(engine, people, tmp_path):
    with session_scope(engine) as session:
        ids = [approved_draft(session, people, title="Same title").id for _ in range(2)]
        ids.append(approved_draft(session, people, title="Other").id)
        posts = export_drafts(session=session, draft_ids=ids, actor=people["admin"])
    archive = zipfile.ZipFile(io.BytesIO(build_zip(posts)))
    assert archive.namelist() == ["same-title.md", f"same-title-{ids[1]}.md", "other.md"]
    for name in archive.namelist():
        front_matter, body = parse_post(archive.read(name).decode("utf-8"))
        assert front_matter["title"] in ("Same title", "Other") and body == "Hello world."
    paths = write_exports(posts, tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(archive.namelist())


def test_editors_cannot_export_and_unapproved_drafts_are_refused(engine, people):
    with session_scope(engine) as session:
        approved = approved_draft(session, people)
        waiting = generated_draft(session, people["editor"])
        with pytest.raises(PermissionDenied, match="ed is an editor and may not export"):
            prepare_exports(session=session, draft_ids=[approved.id], actor=people["editor"])
        with pytest.raises(NotApproved, match="not approved"):
            prepare_exports(session=session, draft_ids=[waiting.id], actor=people["reviewer"])
        with pytest.raises(PermissionDenied, match="export without approval"):
            prepare_exports(session=session, draft_ids=[waiting.id], actor=people["reviewer"], force=True)


def test_forced_export_by_an_admin_is_recorded_and_keeps_the_status(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], title="")  # invalid, and not approved
        [post] = export_drafts(session=session, draft_ids=[draft.id], actor=people["admin"], force=True)
        assert post.filename == f"draft-{draft.id}.md"
        event = reviews.timeline(session=session, draft_id=draft.id)[-1]
        assert event.kind is ReviewEventKind.EXPORT and "forced while draft" in event.note
        assert drafts_crud.get_draft(session=session, draft_id=draft.id).status is DraftStatus.DRAFT


def test_cli_export_checks_role_and_approval(engine, people, monkeypatch, tmp_path, capsys):
    from editorial.auth import hash_password

    with session_scope(engine) as session:
        for user in people.values():
            session.merge(user).password_hash = hash_password("secret-pass")
        approved = approved_draft(session, people, title="Ship it")
        waiting = generated_draft(session, people["editor"], title="Not yet")
    monkeypatch.setenv("EDITORIAL_PASSWORD", "secret-pass")
    out = tmp_path / "out"
    assert main(["export", "--draft", str(approved.id), "--out", str(out), "--as", "ed"]) == 1
    assert "may not export" in capsys.readouterr().err
    assert main(["export", "--draft", str(waiting.id), "--out", str(out), "--as", "rita"]) == 1
    assert "not approved" in capsys.readouterr().err
    assert main(["export", "--draft", str(approved.id), "--out", str(out), "--as", "rita"]) == 0
    assert (out / "ship-it.md").read_text().startswith("---\ntitle: Ship it\n")
    assert main(["export", "--draft", str(waiting.id), "--out", str(out), "--as", "ada", "--force"]) == 0
    assert (
        main(
            [
                "export",
                "--draft",
                str(approved.id),
                "--draft",
                str(waiting.id),
                "--out",
                str(out),
                "--as",
                "ada",
                "--force",
                "--zip",
                "Both posts",
            ]
        )
        == 0
    )
    assert sorted(zipfile.ZipFile(out / "both-posts.zip").namelist()) == ["not-yet.md", "ship-it.md"]
    with session_scope(engine) as session:
        notes = [
            e.note for e in reviews.timeline(session=session, draft_id=waiting.id) if e.kind is ReviewEventKind.EXPORT
        ]
    assert len(notes) == 2 and all("forced while draft" in note for note in notes)
