"""Seed an app's data folder before its server starts: accounts and drafts, written with the app's own code."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from db.models import User
from db.session import session_scope
from editorial import reviews
from editorial.auth import add_user
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft
from editorial.settings import Settings

PEOPLE = {"boss": "admin", "ed": "editor", "eve": "editor", "rita": "reviewer"}


def password(username: str) -> str:
    """The test password of a seeded account."""
    return f"{username}-quiet-harbour"


def engine_for(data_dir: Path):
    """The migrated database engine of ``data_dir``."""
    return open_database(Settings(data_dir=data_dir))


def seed_people(data_dir: Path) -> dict[str, int]:
    """Create the admin, two editors and a reviewer; return their ids by name."""
    ids: dict[str, int] = {}
    with session_scope(engine_for(data_dir)) as session:
        admin = None
        for name, role in PEOPLE.items():
            user = add_user(session=session, actor=admin, username=name, password=password(name), role=role)
            admin = admin or user
            ids[name] = user.id
    return ids


def seed_draft(data_dir: Path, *, title: str, body: str, author_id: int, status: str = "draft", **front) -> int:
    """A draft with revision 1, moved to ``status`` (draft, in_review or approved) by the seeded people."""
    engine = engine_for(data_dir)
    with session_scope(engine) as session:
        draft = create_generated_draft(
            session=session,
            title=title,
            front_matter={"title": title, "tags": ["testing"], "ai_disclosure_level": "some_ai", **front},
            body=body,
            author_id=author_id,
            collection_id=None,
            plan_id=None,
        )
        draft_id = draft.id
    if status in ("in_review", "approved"):
        with session_scope(engine) as session:
            reviews.submit(session=session, draft_id=draft_id, actor=session.get(User, author_id))
    if status == "approved":
        with session_scope(engine) as session:
            reviewer = session.query(User).filter(User.username == "rita").one()
            reviews.approve(
                session=session, draft_id=draft_id, actor=reviewer, revision_number=1, acknowledge_unsupported=True
            )
    return draft_id


class FakeDevto:
    """A local stand-in for the dev.to API: every create or update gets the next canned answer.

    ``GET /api/articles/me/all`` (the lookup the app makes before re-sending an unconfirmed create) lists
    ``articles`` (none by default), as dev.to lists the account's articles.
    """

    def __init__(self, answers: list[tuple[int, dict]], articles: list[dict] | None = None):
        self.answers = list(answers)
        self.articles = list(articles or [])
        self.requests: list[tuple[str, str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append((self.command, self.path, {}))
                if self.path.split("?")[0] == "/api/articles/me/all":
                    page = parse_qs(urlsplit(self.path).query).get("page", ["1"])[0]
                    self._answer(200, fake.articles if page == "1" else [])
                else:
                    self._answer(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.command, self.path, payload))
                self._answer(*(fake.answers.pop(0) if fake.answers else (500, {"error": "no answer left"})))

            def _answer(self, status, answer):
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeDevto:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
