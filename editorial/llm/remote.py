"""Remote backends: OpenAI-compatible servers and Hugging Face Inference / TGI endpoints, with a preflight check.

The servers: vLLM, Ollama, LM Studio, llama.cpp and the like. The preflight check gives a one-line reason
(unreachable URL, refused key) before any work starts.

``openai`` uses ``langchain_openai.ChatOpenAI`` with ``base_url``; ``hf_endpoint`` uses
``langchain_huggingface.ChatHuggingFace`` over ``HuggingFaceEndpoint``. Both report token usage from the
server's answers, so the ledger needs no tokenizer for them.

No request follows a redirect (a key is only sent to the URL it was configured for), and the one line people see
does not tell an unreachable address from one that answers something else; the log has the details.
"""

from __future__ import annotations

import logging
from typing import Any

from editorial.errors import BackendUnreachable
from editorial.llm.spec import Backend, ModelSpec
from editorial.settings import EMBEDDED, Settings

logger = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 5.0
NO_KEY = "not-needed"
"""OpenAI's client insists on a key; local servers ignore it."""


def api_root(base_url: str) -> str:
    """The OpenAI API root for a server URL: ``http://host:8000`` and ``http://host:8000/v1`` both give ``…/v1``."""
    base = base_url.strip().rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def _server_root(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def _key(spec: ModelSpec) -> str | None:
    return spec.api_key.get_secret_value() if spec.api_key is not None else None


def _headers(spec: ModelSpec) -> dict[str, str]:
    key = _key(spec)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def check_backend(spec: ModelSpec, timeout: float = PREFLIGHT_TIMEOUT_S) -> list[str]:
    """Ping a remote backend (``GET /v1/models``) and return the model names it serves.

    A Hugging Face / TGI endpoint without ``/v1/models`` is accepted when ``/info`` or ``/health`` answers.

    Raises:
        BackendUnreachable: no URL, the server does not answer, refuses the key, or is not such a server.
    """
    import httpx

    label = {"openai": "OpenAI-compatible server", "hf_endpoint": "Hugging Face endpoint"}.get(
        spec.backend, spec.backend
    )
    if not spec.base_url or not spec.base_url.strip():
        raise BackendUnreachable(f"The {label} needs a base URL (EDITORIAL_LLM_BASE_URL or the Settings page).")
    if spec.backend == "hf_endpoint" and _hub_offline():
        raise BackendUnreachable(
            "The Hugging Face endpoint backend cannot send requests while HF_HUB_OFFLINE=1 (huggingface_hub then "
            "blocks every URL): set HF_HUB_OFFLINE=0 and EDITORIAL_HF_HUB_OFFLINE=false, or use the openai backend "
            "with the endpoint's URL (TGI speaks the OpenAI API)."
        )
    url = f"{api_root(spec.base_url)}/models"
    unusable = (
        f"The {label} at {spec.base_url} is not reachable or is not an OpenAI-compatible API; "
        "an admin can check it (details in the log)."
    )
    try:
        response = httpx.get(url, headers=_headers(spec), timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        logger.warning("preflight GET %s failed: %s: %s", url, type(exc).__name__, exc)
        raise BackendUnreachable(unusable) from exc
    if response.is_redirect:
        logger.warning(
            "preflight GET %s answered a redirect (%s) to %s",
            url,
            response.status_code,
            response.headers.get("location"),
        )
        raise BackendUnreachable(
            f"The {label} at {spec.base_url} answered with a redirect; redirects are not followed (a key could "
            "leak to another host): configure the final URL."
        )
    if response.status_code in (401, 403):
        which = "the API key" if _key(spec) else "requests without an API key (an admin sets this endpoint's key)"
        raise BackendUnreachable(f"The {label} at {spec.base_url} refused {which} (HTTP {response.status_code}).")
    if response.status_code == 404 and spec.backend == "hf_endpoint":
        for path in ("/info", "/health"):
            try:
                probe = httpx.get(
                    _server_root(spec.base_url) + path, headers=_headers(spec), timeout=timeout, follow_redirects=False
                )
            except httpx.HTTPError:
                continue
            if probe.status_code in (401, 403):
                raise BackendUnreachable(
                    f"The {label} at {spec.base_url} refused the API key (HTTP {probe.status_code})."
                )
            if probe.status_code < 400:
                return []
    if response.status_code >= 400:
        logger.warning("preflight GET %s answered HTTP %s", url, response.status_code)
        raise BackendUnreachable(unusable)
    try:
        data = response.json().get("data", [])
        return [str(item.get("id")) for item in data if isinstance(item, dict) and item.get("id")]
    except (ValueError, AttributeError) as exc:
        logger.warning("preflight GET %s did not answer JSON", url)
        raise BackendUnreachable(unusable) from exc


def served_model_name(spec: ModelSpec, served: list[str]) -> str:
    """The model name to request: the configured one, or the only served model when none was configured."""
    if spec.model and spec.model != EMBEDDED:
        return spec.model
    if served:
        return served[0]
    raise BackendUnreachable(f"Name the model to use on {spec.base_url} (EDITORIAL_LLM_MODEL or the Settings page).")


def build_openai(settings: Settings, spec: ModelSpec) -> Any:
    """``ChatOpenAI`` for an OpenAI-compatible server at ``spec.base_url`` (checked first)."""
    import openai
    from langchain_openai import ChatOpenAI

    served = check_backend(spec)
    return ChatOpenAI(
        model=served_model_name(spec, served),
        base_url=api_root(spec.base_url or ""),
        api_key=_key(spec) or NO_KEY,
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_new_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        stream_usage=True,
        http_client=openai.DefaultHttpxClient(follow_redirects=False),
        http_async_client=openai.DefaultAsyncHttpxClient(follow_redirects=False),
    )


def build_hf_endpoint(settings: Settings, spec: ModelSpec) -> Any:
    """``ChatHuggingFace`` over a Hugging Face Inference or TGI endpoint at ``spec.base_url`` (checked first)."""
    from langchain_huggingface import ChatHuggingFace, HuggingFaceEndpoint

    served = check_backend(spec)
    name = served_model_name(spec, served) if (served or spec.model != EMBEDDED) else "tgi"
    key = _key(spec)
    endpoint = HuggingFaceEndpoint(
        endpoint_url=_server_root(spec.base_url or ""),
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature or None,
        top_p=settings.top_p,
        repetition_penalty=settings.repetition_penalty,
        timeout=settings.llm_timeout_s,
        huggingfacehub_api_token=key,
        server_kwargs={"headers": {"Authorization": f"Bearer {key}"}} if key else {},
        task="text-generation",
    )
    return ChatHuggingFace(llm=endpoint, model_id=name)


def describe_remote(settings: Settings, spec: ModelSpec) -> str:
    """Where a remote model is served."""
    return f"{spec.backend} server {spec.base_url or '(no URL set)'}"


def check_remote(settings: Settings, spec: ModelSpec) -> tuple[bool, str]:
    """For ``doctor``: ping the server; one line either way."""
    try:
        served = check_backend(spec)
    except BackendUnreachable as exc:
        return False, str(exc)
    listed = f" (serves {', '.join(served[:3])})" if served else ""
    return True, f"{spec.base_url} answers{listed}"


OPENAI_BACKEND = Backend(build=build_openai, describe=describe_remote, check=check_remote)
HF_ENDPOINT_BACKEND = Backend(build=build_hf_endpoint, describe=describe_remote, check=check_remote)
