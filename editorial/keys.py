"""API keys bound to the endpoint they were configured for: a key is only ever sent to its own URL.

``EDITORIAL_LLM_API_KEY`` belongs to ``EDITORIAL_LLM_BASE_URL``; keys an admin enters for other endpoints
live in ``<data folder>/secrets/endpoint_keys.json`` (0600 in a 0700 folder), keyed by the endpoint's
normalised URL, never in the database. Any other URL gets no key.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from editorial.private import write_private
from editorial.settings import Settings

KEYS_FILE = Path("secrets") / "endpoint_keys.json"


def url_key(base_url: str) -> str:
    """A URL normalised for comparison: lower-case scheme and host, default port, no trailing ``/`` or ``/v1``."""
    parts = urlsplit(base_url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    path = parts.path.rstrip("/")
    path = path[: -len("/v1")] if path.endswith("/v1") else path
    return f"{scheme}://{host}:{port}{path}"


def keys_path(settings: Settings) -> Path:
    """Where endpoint keys entered in the app are kept."""
    return settings.resolved_data_dir / KEYS_FILE


def _stored(settings: Settings) -> dict[str, str]:
    path = keys_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def store_endpoint_key(settings: Settings, base_url: str, key: str | None) -> None:
    """Keep ``key`` for ``base_url`` (None or blank forgets it)."""
    stored = _stored(settings)
    if key and key.strip():
        stored[url_key(base_url)] = key.strip()
    else:
        stored.pop(url_key(base_url), None)
    write_private(keys_path(settings), json.dumps(stored).encode("utf-8"))


def has_endpoint_key(settings: Settings, base_url: str) -> bool:
    """Whether a key would be sent to ``base_url``."""
    return key_for_url(settings, base_url) is not None


def key_for_url(settings: Settings, base_url: str | None) -> SecretStr | None:
    """The key configured for exactly this endpoint, or None: never another endpoint's key."""
    if not base_url or not base_url.strip():
        return None
    wanted = url_key(base_url)
    if settings.llm_base_url and settings.llm_api_key is not None and url_key(settings.llm_base_url) == wanted:
        return settings.llm_api_key
    key = _stored(settings).get(wanted)
    return SecretStr(key) if key else None
