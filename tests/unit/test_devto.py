"""The dev.to client against a local HTTP server on 127.0.0.1 (dev.to itself is out of reach)."""

import json
import re
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from db.crud import drafts as drafts_crud
from db.models import AppSetting, DraftStatus, ReviewEventKind
from db.session import session_scope
from editorial import devto, reviews
from editorial.devto import (
    DevtoClient,
    DevtoError,
    DevtoRateLimited,
    api_key_source,
    article_payload,
    forget_api_key,
    publish_draft,
    resolve_api_key,
    store_api_key,
)
from editorial.settings import Settings
from editorial.workflow import PermissionDenied
from tests.unit.workflow_support import approved_draft, generated_draft, team


class FakeForem:
    """A tiny Forem API: records requests, answers from a queue (default: success)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "json": body}
                )
                if fake.answers:
                    status, payload, headers = fake.answers.pop(0)
                else:
                    article_id = (
                        int(self.path.rsplit("/", 1)[-1]) if self.command == "PUT" else 1000 + len(fake.requests)
                    )
                    status, headers = (200 if self.command == "PUT" else 201), {}
                    payload = {
                        "id": article_id,
                        "url": f"https://dev.to/ed/post-{article_id}",
                        "published": body["article"]["published"],
                    }
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def forem():
    server = FakeForem()
    devto.create_limiter.reset()
    yield server
    server.close()
    devto.create_limiter.reset()


@pytest.fixture
def client(forem):
    api = DevtoClient(api_key="test-key", base_url=forem.url, timeout=5)
    yield api
    api.close()


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        return team(session)


def test_payload_maps_front_matter_to_forem_fields():
    payload = article_payload(
        {
            "title": "T",
            "tags": "Python, AI",
            "cover_image": "https://x/c.png",
            "canonical_url": "https://x/p",
            "series": "S",
            "description": "D",
            "ai_disclosure_level": "some_ai",
        },
        "\nBody\n",
    )
    assert payload == {
        "article": {
            "title": "T",
            "body_markdown": "Body",
            "published": False,
            "tags": ["python", "ai"],
            "description": "D",
            "series": "S",
            "main_image": "https://x/c.png",
            "canonical_url": "https://x/p",
        }
    }


def test_create_then_update_sends_the_key_and_json(forem, client):
    created = client.create_article(article_payload({"title": "T"}, "Body"))
    updated = client.update_article(created.id, article_payload({"title": "T2", "published": True}, "Body 2"))
    first, second = forem.requests
    assert (first["method"], first["path"], second["method"], second["path"]) == (
        "POST",
        "/api/articles",
        "PUT",
        f"/api/articles/{created.id}",
    )
    assert first["headers"]["api-key"] == "test-key"
    assert first["headers"]["accept"] == "application/vnd.forem.api-v1+json"
    assert second["json"]["article"]["title"] == "T2"
    assert created.url.endswith(str(created.id)) and not created.published and updated.published


@pytest.mark.parametrize(
    ("status", "payload", "headers", "error", "message"),
    [
        (429, {"error": "Rate limit reached"}, {"retry-after": "17"}, DevtoRateLimited, "try again in 17 s"),
        (401, {"error": "unauthorized"}, {}, DevtoError, "refused the API key (401)"),
        (422, {"error": "Title can't be blank"}, {}, DevtoError, "rejected the article (422): Title can't be blank"),
        (500, {"message": "boom"}, {}, DevtoError, "(500): boom"),
        (201, {"no": "id"}, {}, DevtoError, "without an article id"),
    ],
)
def test_api_errors_become_one_clear_line(forem, client, status, payload, headers, error, message):
    forem.answers.append((status, payload, headers))
    with pytest.raises(error, match=re.escape(message)) as info:
        client.create_article(article_payload({"title": "T"}, "Body"))
    assert "\n" not in str(info.value)
    if status == 429:
        assert info.value.retry_after == 17


def test_unreachable_server_is_reported():
    with pytest.raises(DevtoError, match="could not be reached"):
        DevtoClient(api_key="k", base_url="http://127.0.0.1:9", timeout=2).update_article(1, {"article": {}})


def test_creates_are_limited_to_ten_per_thirty_seconds(forem):
    now = [100.0]
    api = DevtoClient(api_key="k", base_url=forem.url, timeout=5, clock=lambda: now[0])
    for _ in range(10):
        api.create_article(article_payload({"title": "T"}, "B"))
    with pytest.raises(DevtoRateLimited, match="about 10 new articles per 30 s; try again in 30 s"):
        api.create_article(article_payload({"title": "T"}, "B"))
    assert len(forem.requests) == 10  # refused before sending
    api.update_article(1, article_payload({"title": "T"}, "B"))  # updates are not creates
    now[0] += 30.5
    api.create_article(article_payload({"title": "T"}, "B"))
    api.close()


def test_api_key_from_environment_or_key_file_never_the_database(engine, monkeypatch):
    settings = Settings()
    assert api_key_source(settings) is None and resolve_api_key(settings) is None
    with pytest.raises(DevtoError, match=r"No dev\.to API key"):
        DevtoClient.from_settings(settings)
    path = store_api_key(settings, "  file-key  ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (api_key_source(settings), resolve_api_key(settings)) == ("key file", "file-key")
    monkeypatch.setenv("EDITORIAL_DEVTO_API_KEY", "env-key")
    assert (api_key_source(Settings()), resolve_api_key(Settings())) == ("environment", "env-key")
    forget_api_key(settings)
    assert api_key_source(settings) is None
    with session_scope(engine) as session:
        assert not [row for row in session.exec(select(AppSetting)) if "key" in json.dumps(row.value)]


def test_publishing_an_approved_draft_creates_then_updates(engine, people, forem, client):
    with session_scope(engine) as session:
        draft = approved_draft(session, people)
        first = publish_draft(session=session, draft_id=draft.id, actor=people["reviewer"], client=client)
    with session_scope(engine) as session:
        stored = drafts_crud.get_draft(session=session, draft_id=draft.id)
        assert (stored.devto_id, stored.devto_url, stored.status) == (first.id, first.url, DraftStatus.APPROVED)
        again = publish_draft(session=session, draft_id=draft.id, actor=people["reviewer"], client=client)
        events = [e for e in reviews.timeline(session=session, draft_id=draft.id) if e.kind is ReviewEventKind.PUBLISH]
    assert again.id == first.id and [r["method"] for r in forem.requests] == ["POST", "PUT"]
    assert forem.requests[0]["json"]["article"]["published"] is False  # unpublished by default
    assert len(events) == 2 and "unpublished draft on dev.to" in events[0].note


def test_publishing_with_published_true_marks_the_draft_published(engine, people, forem, client):
    with session_scope(engine) as session:
        draft = approved_draft(session, people, published=True)
        article = publish_draft(session=session, draft_id=draft.id, actor=people["admin"], client=client)
        assert article.published
        assert drafts_crud.get_draft(session=session, draft_id=draft.id).status is DraftStatus.PUBLISHED


def test_publishing_is_refused_to_editors_and_for_unapproved_drafts(engine, people, forem, client):
    with session_scope(engine) as session:
        approved = approved_draft(session, people)
        waiting = generated_draft(session, people["editor"])
        with pytest.raises(PermissionDenied, match=r"may not publish to dev\.to"):
            publish_draft(session=session, draft_id=approved.id, actor=people["editor"], client=client)
        with pytest.raises(DevtoError, match="only approved drafts"):
            publish_draft(session=session, draft_id=waiting.id, actor=people["reviewer"], client=client)
    assert forem.requests == []
