"""dev.to (Forem API v1): send an approved draft as an article, create then update.

The API key comes from ``EDITORIAL_DEVTO_API_KEY`` (or ``.env``) or from a key file that the
admin page writes in the data folder (``secrets/devto_api_key``, mode 0600) — never from the
database. Creates are limited on our side to :data:`CREATES_PER_WINDOW` per
:data:`WINDOW_SECONDS`, like dev.to itself; a 429 answer is reported with its Retry-After.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from db.crud.app_settings import get_app_setting, set_app_setting
from db.crud.reviews import add_event
from db.models import DraftStatus, ReviewEventKind, User
from editorial.errors import EditorialError
from editorial.frontmatter import normalize_front_matter, validate_front_matter
from editorial.private import write_private
from editorial.reviews import load_draft, release_revision
from editorial.settings import Settings
from editorial.workflow import EXPORTABLE, Action, require, require_transition, status_label

logger = logging.getLogger(__name__)

CREATES_PER_WINDOW = 10
WINDOW_SECONDS = 30.0
KEY_FILE = Path("secrets") / "devto_api_key"
LOOKUP_PAGES = 10
LOOKUP_PER_PAGE = 100


class DevtoError(EditorialError):
    """dev.to refused the request or could not be reached."""


class DevtoRateLimited(DevtoError):
    """Too many creates: wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class DevtoArticle:
    """What dev.to answered about an article."""

    id: int
    url: str
    published: bool


# --------------------------------------------------------------------------- the API key
def key_file(settings: Settings) -> Path:
    """Where a key entered in the app is kept (outside the database)."""
    return settings.resolved_data_dir / KEY_FILE


def api_key_source(settings: Settings) -> str | None:
    """``"environment"``, ``"key file"`` or None: where :func:`resolve_api_key` finds the key."""
    if settings.devto_api_key is not None and settings.devto_api_key.get_secret_value().strip():
        return "environment"
    if key_file(settings).is_file() and key_file(settings).read_text(encoding="utf-8").strip():
        return "key file"
    return None


def resolve_api_key(settings: Settings) -> str | None:
    """The dev.to API key from the environment, else from the key file, else None."""
    source = api_key_source(settings)
    if source == "environment":
        return settings.devto_api_key.get_secret_value().strip()
    if source == "key file":
        return key_file(settings).read_text(encoding="utf-8").strip()
    return None


def store_api_key(settings: Settings, key: str) -> Path:
    """Write the key to the key file, readable by the owner only."""
    key = key.strip()
    if not key:
        raise DevtoError("The dev.to API key is empty.")
    path = key_file(settings)
    write_private(path, key.encode("utf-8"))
    return path


def forget_api_key(settings: Settings) -> None:
    """Delete the key file (a key in the environment stays)."""
    key_file(settings).unlink(missing_ok=True)


# --------------------------------------------------------------------------- the client
class _CreateLimiter:
    """A sliding window of create timestamps per API base URL, shared by the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def acquire(self, base_url: str, now: float) -> None:
        with self._lock:
            window = self._times[base_url]
            while window and now - window[0] >= WINDOW_SECONDS:
                window.popleft()
            if len(window) >= CREATES_PER_WINDOW:
                wait = WINDOW_SECONDS - (now - window[0])
                raise DevtoRateLimited(
                    f"dev.to allows about {CREATES_PER_WINDOW} new articles per {WINDOW_SECONDS:.0f} s; "
                    f"try again in {wait:.0f} s.",
                    wait,
                )
            window.append(now)

    def reset(self) -> None:
        with self._lock:
            self._times.clear()


create_limiter = _CreateLimiter()


def article_payload(front_matter: dict, body: str) -> dict[str, Any]:
    """The JSON body of a create/update request for a draft's front matter and Markdown."""
    fm = normalize_front_matter(front_matter)
    article: dict[str, Any] = {
        "title": fm.get("title", ""),
        "body_markdown": body.strip(),
        "published": bool(fm.get("published", False)),
        "tags": fm.get("tags", []),
    }
    for ours, theirs in (
        ("description", "description"),
        ("series", "series"),
        ("cover_image", "main_image"),
        ("canonical_url", "canonical_url"),
    ):
        if fm.get(ours):
            article[theirs] = fm[ours]
    return {"article": article}


class DevtoClient:
    """A small Forem API v1 client (``POST /api/articles``, ``PUT /api/articles/{id}``)."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://dev.to",
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise DevtoError("No dev.to API key: set EDITORIAL_DEVTO_API_KEY or enter one on the Users page.")
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "api-key": api_key,
                "accept": "application/vnd.forem.api-v1+json",
                "user-agent": "editorial-desk",
            },
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> DevtoClient:
        """A client with the configured base URL and API key."""
        return cls(api_key=resolve_api_key(settings) or "", base_url=settings.devto_base_url, **kwargs)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def create_article(self, payload: dict[str, Any]) -> DevtoArticle:
        """Create an article; raises :class:`DevtoRateLimited` past the create limit."""
        create_limiter.acquire(self.base_url, self._clock())
        return self._send("POST", "/api/articles", payload)

    def find_article(self, title: str, body_sha256: str, pages: int = LOOKUP_PAGES) -> DevtoArticle | None:
        """The account's article (published or not) with this title and body hash, or None (``/articles/me/all``)."""
        for page in range(1, pages + 1):
            try:
                response = self._http.get("/api/articles/me/all", params={"page": page, "per_page": LOOKUP_PER_PAGE})
            except httpx.HTTPError as exc:
                raise DevtoError(
                    f"dev.to could not be reached to check for an earlier article ({type(exc).__name__})."
                ) from exc
            if response.status_code in (401, 403):
                raise DevtoError(f"dev.to refused the API key ({response.status_code}); check it.")
            if response.status_code >= 400:
                raise DevtoError(f"dev.to refused the lookup of earlier articles ({response.status_code}); try again.")
            try:
                items = response.json()
            except ValueError as exc:
                raise DevtoError("dev.to answered the lookup of earlier articles without JSON; try again.") from exc
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict) or item.get("title") != title:
                    continue
                if body_hash(str(item.get("body_markdown") or "")) == body_sha256:
                    return DevtoArticle(int(item["id"]), str(item.get("url", "")), bool(item.get("published")))
            if not isinstance(items, list) or len(items) < LOOKUP_PER_PAGE:
                return None
        return None

    def update_article(self, article_id: int, payload: dict[str, Any]) -> DevtoArticle:
        """Update the article ``article_id``."""
        return self._send("PUT", f"/api/articles/{article_id}", payload)

    def _send(self, method: str, path: str, payload: dict[str, Any]) -> DevtoArticle:
        try:
            response = self._http.request(method, path, json=payload)
        except httpx.TimeoutException as exc:
            raise DevtoError(f"dev.to did not answer in time ({self.base_url}).") from exc
        except httpx.HTTPError as exc:
            raise DevtoError(f"dev.to could not be reached at {self.base_url}: {type(exc).__name__}.") from exc
        if response.status_code == 429:
            retry = _retry_after(response)
            raise DevtoRateLimited(f"dev.to is rate limiting requests; try again in {retry:.0f} s.", retry)
        if response.status_code in (401, 403):
            raise DevtoError(f"dev.to refused the API key ({response.status_code}); check it.")
        if response.status_code == 404:
            raise DevtoError(f"dev.to has no such article ({method} {path} answered 404).")
        if response.status_code >= 400:
            raise DevtoError(f"dev.to rejected the article ({response.status_code}): {_error_text(response)}")
        try:
            data = response.json()
            return DevtoArticle(id=int(data["id"]), url=str(data.get("url", "")), published=bool(data.get("published")))
        except (ValueError, KeyError, TypeError) as exc:
            raise DevtoError(f"dev.to answered {response.status_code} without an article id.") from exc


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("retry-after", WINDOW_SECONDS)))
    except ValueError:
        return WINDOW_SECONDS


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        text = data.get("error") or data.get("message") or str(data)
    except (ValueError, AttributeError):
        text = response.text
    return " ".join(str(text).split())[:300] or "no details"


# --------------------------------------------------------------------------- the workflow step
def body_hash(body: str) -> str:
    """SHA-256 of a body as dev.to keeps it (surrounding whitespace ignored)."""
    return hashlib.sha256(body.strip().encode("utf-8")).hexdigest()


def intent_key(draft_id: int) -> str:
    """The AppSetting row recording that a create was sent for a draft and not yet confirmed."""
    return f"devto.create_intent.{draft_id}"


def _create_once(
    session: Session, draft_id: int, revision_id: int, payload: dict[str, Any], client: DevtoClient
) -> DevtoArticle:
    """Create the article at most once: record the intent (committed) first; after an unconfirmed try, look it up.

    A create whose answer was lost (a timeout after dev.to made the article) leaves the intent behind; the next
    try finds the article by title and body among the account's articles and updates it instead of creating.
    """
    article = payload["article"]
    wanted = {"title": article["title"], "body_sha256": body_hash(article["body_markdown"])}
    intent = get_app_setting(session=session, key=intent_key(draft_id))
    if intent:
        found = client.find_article(str(intent.get("title")), str(intent.get("body_sha256")))
        if found is None and {k: intent.get(k) for k in wanted} != wanted:
            found = client.find_article(wanted["title"], wanted["body_sha256"])
        if found is not None:
            logger.info("draft %s: adopting dev.to article %s left by an unconfirmed create", draft_id, found.id)
            return client.update_article(found.id, payload)
    set_app_setting(
        session=session,
        key=intent_key(draft_id),
        value={"revision_id": revision_id, **wanted},
    )
    session.commit()  # the intent must outlive a failure of the request below
    return client.create_article(payload)


def publish_draft(*, session: Session, draft_id: int, actor: User | None, client: DevtoClient) -> DevtoArticle:
    """Send an approved draft to dev.to (create the first time, update afterwards) and record it.

    The article is unpublished on dev.to unless the front matter says ``published: true``; in
    that case the draft's status becomes published. The intent to create is committed before the
    request, and a later try looks for the article before creating another (:func:`_create_once`).

    Raises:
        PermissionDenied: The actor may not publish.
        DevtoError: The draft is not approved or breaks dev.to's rules, or the API refused.
    """
    require(actor, Action.PUBLISH)
    draft = load_draft(session=session, draft_id=draft_id)
    status = DraftStatus(draft.status)
    if status not in EXPORTABLE:
        raise DevtoError(f"Draft {draft_id} is {status_label(status).lower()}; only approved drafts go to dev.to.")
    revision = release_revision(session=session, draft=draft)
    if revision is None:
        raise DevtoError(f"Draft {draft_id} has no approved revision.")
    if problems := validate_front_matter(revision.front_matter, revision.body):
        raise DevtoError("Fix the draft first — " + "; ".join(f"{k}: {v}" for k, v in problems.items()))
    payload = article_payload(revision.front_matter, revision.body)
    published = payload["article"]["published"]
    if published and status is not DraftStatus.PUBLISHED:
        require_transition(actor, status, DraftStatus.PUBLISHED)
    if draft.devto_id:
        article = client.update_article(draft.devto_id, payload)
    else:
        article = _create_once(session, draft.id, revision.id, payload, client)
    draft.devto_id, draft.devto_url = article.id, article.url or draft.devto_url
    set_app_setting(session=session, key=intent_key(draft.id), value=None)
    to_status = DraftStatus.PUBLISHED if published else status
    draft.status = to_status
    session.add(draft)
    add_event(
        session=session,
        draft_id=draft.id,
        kind=ReviewEventKind.PUBLISH,
        actor_id=actor.id if actor else None,
        note=f"{'published' if article.published else 'unpublished draft'} on dev.to: {article.url}",
        from_status=status,
        to_status=to_status,
        revision_id=revision.id,
    )
    return article
