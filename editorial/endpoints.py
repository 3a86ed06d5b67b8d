"""Model endpoints an admin configured, and the choice of one per stage for a run.

Only admins choose backends and base URLs (the Settings page, or the environment); everybody else picks
among the endpoints configured here. An endpoint's key is stored for its URL only (:mod:`editorial.keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from db.crud.app_settings import get_app_setting, set_app_setting
from db.models import User
from db.session import session_scope
from editorial.chain.models import STAGE_ROLES, apply_overrides, load_overrides
from editorial.errors import EditorialError
from editorial.keys import store_endpoint_key
from editorial.settings import Settings
from editorial.workflow import Action, PermissionDenied, require

ENDPOINTS_KEY = "llm.endpoints"
REMOTE_BACKENDS = ("openai", "hf_endpoint")
LOCAL_CHOICES = {
    "Bundled SmolLM2 (embedded)": {"backend": "embedded", "model": "embedded", "base_url": ""},
}
"""Endpoints every install has; they send nothing anywhere."""


class EndpointError(EditorialError):
    """An endpoint definition or choice is not acceptable."""


@dataclass(frozen=True)
class Endpoint:
    """A named model endpoint: backend, model name and base URL (the key is stored apart)."""

    name: str
    backend: str
    model: str
    base_url: str

    def as_choice(self) -> dict[str, str]:
        """The stage override this endpoint stands for."""
        return {"backend": self.backend, "model": self.model, "base_url": self.base_url}


def list_endpoints(engine: Engine) -> list[Endpoint]:
    """The endpoints every user may pick: the bundled model, then the admin's, by name."""
    with session_scope(engine) as session:
        saved = get_app_setting(session=session, key=ENDPOINTS_KEY, default={}) or {}
    local = [Endpoint(name, **choice) for name, choice in LOCAL_CHOICES.items()]
    custom = [
        Endpoint(name, str(v.get("backend")), str(v.get("model") or ""), str(v.get("base_url") or ""))
        for name, v in sorted(saved.items())
        if isinstance(v, dict)
    ]
    return local + custom


def save_endpoint(
    settings: Settings,
    engine: Engine,
    *,
    actor: User | None,
    name: str,
    backend: str,
    model: str,
    base_url: str,
    api_key: str | None = None,
) -> Endpoint:
    """Add or replace an endpoint (admins only); its key, if given, is bound to its URL.

    Raises:
        PermissionDenied: The actor is not an admin.
        EndpointError: A blank name or URL, an unknown backend, or a URL that is not http(s).
    """
    require(actor, Action.MANAGE_SETTINGS)
    name, base_url = " ".join(name.split())[:80], base_url.strip()
    if not name or name in LOCAL_CHOICES:
        raise EndpointError("Give the endpoint a name of its own.")
    if backend not in REMOTE_BACKENDS:
        raise EndpointError(f"Choose one of the remote backends: {', '.join(REMOTE_BACKENDS)}.")
    if not base_url.lower().startswith(("http://", "https://")):
        raise EndpointError("The base URL must start with http:// or https://.")
    endpoint = Endpoint(name, backend, model.strip(), base_url)
    with session_scope(engine) as session:
        saved = dict(get_app_setting(session=session, key=ENDPOINTS_KEY, default={}) or {})
        saved[name] = {"backend": backend, "model": endpoint.model, "base_url": base_url}
        set_app_setting(session=session, key=ENDPOINTS_KEY, value=saved)
    if api_key is not None and api_key.strip():
        store_endpoint_key(settings, base_url, api_key)
    return endpoint


def delete_endpoint(settings: Settings, engine: Engine, *, actor: User | None, name: str) -> None:
    """Remove an endpoint and forget its key (admins only)."""
    require(actor, Action.MANAGE_SETTINGS)
    with session_scope(engine) as session:
        saved = dict(get_app_setting(session=session, key=ENDPOINTS_KEY, default={}) or {})
        removed = saved.pop(name, None)
        set_app_setting(session=session, key=ENDPOINTS_KEY, value=saved)
    url = (removed or {}).get("base_url")
    if url and not any(e.base_url == url for e in list_endpoints(engine)):
        store_endpoint_key(settings, url, None)


def run_settings(
    settings: Settings, engine: Engine, *, actor: User | None, choices: dict[str, Any] | None = None
) -> Settings:
    """Settings for one run: the saved per-stage models, then the actor's choice per stage.

    A choice is an endpoint's name. A raw ``{"backend", "model", "base_url"}`` dict is accepted from admins
    only: an editor cannot make the server send requests (or a key) to an address of their choosing.

    Raises:
        PermissionDenied: A non-admin chose a backend or URL directly.
        EndpointError: The chosen endpoint does not exist (any more).
    """
    current = apply_overrides(settings, load_overrides(engine))
    endpoints = {endpoint.name: endpoint for endpoint in list_endpoints(engine)}
    picked: dict[str, dict[str, Any]] = {}
    for role, choice in (choices or {}).items():
        if role not in STAGE_ROLES or not choice:
            continue
        if isinstance(choice, str):
            if choice not in endpoints:
                raise EndpointError(f"The model endpoint '{choice}' is not configured; pick another one.")
            picked[role] = endpoints[choice].as_choice()
            continue
        if actor is None or not _is_admin(actor):
            raise PermissionDenied("Only admins choose model backends and URLs; pick one of the configured endpoints.")
        picked[role] = dict(choice)
    return apply_overrides(current, picked)


def _is_admin(actor: User) -> bool:
    try:
        require(actor, Action.MANAGE_SETTINGS)
    except PermissionDenied:
        return False
    return True
