"""HTTP routes served next to the Streamlit app (``serve.py`` mounts them with ``st.App``).

Only these two routes touch the session cookie; page scripts never see its value.

- ``POST /api/session/claim`` ``{"ticket": …}``: trade a one-time login ticket for the HttpOnly cookie.
- ``POST /api/session/logout``: end the cookie's session and delete the cookie.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.session import session_scope
from editorial import sessions
from editorial.datastore import open_database
from editorial.errors import EditorialError
from editorial.settings import get_settings

log = logging.getLogger(__name__)

CLAIM_PATH = "/api/session/claim"
LOGOUT_PATH = "/api/session/logout"
MAX_BODY = 4096


def _same_origin(request: Request) -> bool:
    """Refuse cross-site posts: a browser always sends Origin with a POST from a page."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser page (curl, tests); the ticket or cookie still has to be valid
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


async def claim(request: Request) -> Response:
    """Set the session cookie for a valid, unused claim ticket."""
    if not _same_origin(request):
        return _refuse(403, "cross-site request refused")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(413, "request too large")
    try:
        ticket = str(json.loads(body or b"{}").get("ticket", ""))
    except (ValueError, AttributeError):
        return _refuse(400, "expected a JSON object with a ticket")
    settings = get_settings()

    def trade() -> str:
        with session_scope(open_database(settings)) as session:
            return sessions.claim(session=session, settings=settings, ticket=ticket)

    try:
        value = await run_in_threadpool(trade)
    except EditorialError as exc:
        log.info("session claim refused: %s", exc)
        return _refuse(403, str(exc))
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE_NAME,
        value,
        max_age=int(settings.session_max_age_hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def logout(request: Request) -> Response:
    """End the cookie's session (if any) and delete the cookie."""
    if not _same_origin(request):
        return _refuse(403, "cross-site request refused")
    settings = get_settings()
    session_id = sessions.session_id_from_cookie(settings, request.cookies.get(sessions.COOKIE_NAME))

    def end() -> None:
        with session_scope(open_database(settings)) as session:
            sessions.end(session=session, session_id=session_id)

    if session_id:
        await run_in_threadpool(end)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


def session_routes() -> list[Route]:
    """The routes ``serve.py`` adds to the Streamlit app."""
    return [Route(CLAIM_PATH, claim, methods=["POST"]), Route(LOGOUT_PATH, logout, methods=["POST"])]
