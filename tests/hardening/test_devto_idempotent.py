"""Item 7: a create whose answer is lost (timeout after dev.to made the article) is never repeated."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from db.crud import drafts as drafts_crud
from db.models import AppSetting
from db.session import session_scope
from editorial import devto
from editorial.devto import DevtoClient, DevtoError, intent_key, publish_draft
from tests.unit.workflow_support import approved_draft, team


class SlowForem:
    """A fake dev.to on 127.0.0.1 that keeps articles and can stall its answer after creating one."""

    def __init__(self) -> None:
        self.articles: dict[int, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.stall_next_create = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path))
                page = int(self.path.split("page=")[1].split("&")[0]) if "page=" in self.path else 1
                items = [{"id": i, **a} for i, a in sorted(fake.articles.items())]
                self._answer(200, items[(page - 1) * 100 : page * 100])

            def do_POST(self) -> None:
                fake.requests.append(("POST", self.path))
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))["article"]
                article_id = 500 + len(fake.articles)
                fake.articles[article_id] = {
                    "title": body["title"],
                    "body_markdown": body["body_markdown"],
                    "published": body["published"],
                    "url": f"https://dev.to/ed/a-{article_id}",
                }
                if fake.stall_next_create:
                    delay, fake.stall_next_create = fake.stall_next_create, 0.0
                    time.sleep(delay)  # created, but the client gives up before the answer
                self._answer(201, {"id": article_id, **fake.articles[article_id]})

            def do_PUT(self) -> None:
                fake.requests.append(("PUT", self.path))
                article_id = int(self.path.rsplit("/", 1)[-1])
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))["article"]
                fake.articles[article_id].update(title=body["title"], body_markdown=body["body_markdown"])
                self._answer(200, {"id": article_id, **fake.articles[article_id]})

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def forem():
    server = SlowForem()
    devto.create_limiter.reset()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_timeout_after_create_then_retry_makes_one_article(engine, forem):
    with session_scope(engine) as session:
        people = team(session)
        draft_id = approved_draft(session, people).id
    client = DevtoClient(api_key="k", base_url=forem.url, timeout=1.0)
    forem.stall_next_create = 3.0
    with pytest.raises(DevtoError, match="did not answer in time"), session_scope(engine) as session:
        publish_draft(session=session, draft_id=draft_id, actor=people["reviewer"], client=client)
    assert len(forem.articles) == 1  # dev.to made it, we never heard back
    with session_scope(engine) as session:
        assert session.get(AppSetting, intent_key(draft_id)).value["title"]  # the intent outlived the failure
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).devto_id is None
    for _ in range(2):  # the editor clicks again, twice
        with session_scope(engine) as session:
            article = publish_draft(session=session, draft_id=draft_id, actor=people["reviewer"], client=client)
    assert len(forem.articles) == 1 and article.id in forem.articles
    assert [method for method, _ in forem.requests] == ["POST", "GET", "PUT", "PUT"]
    with session_scope(engine) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).devto_id == article.id
        assert session.get(AppSetting, intent_key(draft_id)).value is None
        assert not [row for row in session.exec(select(AppSetting)) if row.key.startswith("devto.") and row.value]
    client.close()


def test_a_create_that_never_reached_dev_to_is_sent_again_once(engine, forem):
    with session_scope(engine) as session:
        people = team(session)
        draft_id = approved_draft(session, people).id
    dead = DevtoClient(api_key="k", base_url="http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(DevtoError), session_scope(engine) as session:
        publish_draft(session=session, draft_id=draft_id, actor=people["reviewer"], client=dead)
    client = DevtoClient(api_key="k", base_url=forem.url, timeout=5.0)
    with session_scope(engine) as session:
        article = publish_draft(session=session, draft_id=draft_id, actor=people["reviewer"], client=client)
    assert list(forem.articles) == [article.id]
    assert [method for method, _ in forem.requests] == ["GET", "POST"]
    dead.close()
    client.close()
