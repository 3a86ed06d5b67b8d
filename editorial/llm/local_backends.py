"""The two in-process backends: ``embedded`` (bundled SmolLM2) and ``transformers`` (any id or folder)."""

from __future__ import annotations

import time
from pathlib import Path

from editorial.errors import ModelUnavailable
from editorial.llm.embedded import (
    EMBEDDED_MODEL_NAME,
    embedded_checkpoint_path,
    embedded_gguf_path,
    ensure_embedded_checkpoint,
    read_checkpoint_marker,
)
from editorial.llm.local import LocalChatModel, load_local_model, locate_transformers_model
from editorial.llm.spec import Backend, ModelSpec
from editorial.settings import Settings

EMBEDDED_DISPLAY_NAME = f"{EMBEDDED_MODEL_NAME.split('/')[-1]} (embedded)"


def _chat_model(settings: Settings, spec: ModelSpec, source: str, offline: bool) -> LocalChatModel:
    loaded = load_local_model(source, settings.torch_dtype, offline=offline, label=_display_name(spec))
    return LocalChatModel.from_loaded(
        loaded,
        model_name=_display_name(spec),
        backend=spec.backend,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        repetition_penalty=settings.repetition_penalty,
        torch_threads=settings.torch_threads,
    )


def _display_name(spec: ModelSpec) -> str:
    return EMBEDDED_DISPLAY_NAME if spec.backend == "embedded" else spec.model


def build_embedded(settings: Settings, spec: ModelSpec) -> LocalChatModel:
    """The embedded SmolLM2-135M-Instruct, converting its GGUF once into ``models_dir``."""
    folder = ensure_embedded_checkpoint(settings)
    return _chat_model(settings, spec, str(folder), offline=True)


def build_transformers(settings: Settings, spec: ModelSpec) -> LocalChatModel:
    """Any causal LM given as a local folder or a Hugging Face id (cache only when offline)."""
    source = locate_transformers_model(spec.model, offline=settings.hf_hub_offline)
    return _chat_model(settings, spec, source, offline=settings.hf_hub_offline)


def describe_embedded(settings: Settings, spec: ModelSpec) -> str:
    """Where the embedded model loads from: its converted checkpoint, or the package GGUF before conversion."""
    folder = embedded_checkpoint_path(settings)
    marker = read_checkpoint_marker(folder)
    if marker:
        return f"converted checkpoint {folder} ({marker.get('dtype', '?')})"
    try:
        gguf = embedded_gguf_path()
    except ModelUnavailable as exc:
        return str(exc)
    return f"package GGUF {gguf} (converted to {folder} on first use)"


def describe_transformers(settings: Settings, spec: ModelSpec) -> str:
    """Where a transformers model loads from: a local folder or a Hugging Face id."""
    try:
        source = locate_transformers_model(spec.model, offline=settings.hf_hub_offline)
    except ModelUnavailable as exc:
        return str(exc)
    if Path(source).is_dir():
        return f"local folder {source}"
    return f"Hugging Face id {source} ({'local cache only' if settings.hf_hub_offline else 'hub or cache'})"


def _check(build):
    def check(settings: Settings, spec: ModelSpec) -> tuple[bool, str]:
        started = time.perf_counter()
        chat = build(settings, spec)
        reply = chat.invoke("Say OK.", max_new_tokens=1)
        seconds = time.perf_counter() - started
        tokens = (reply.usage_metadata or {}).get("output_tokens", 0)
        return True, (
            f"{chat.model_name} loads from {chat.source} ({chat.dtype}) and generates "
            f"({tokens} token in {seconds:.1f} s)"
        )

    check.__doc__ = "Load the model (once per process) and generate one token."
    return check


EMBEDDED_BACKEND = Backend(
    build=build_embedded, describe=describe_embedded, check=_check(build_embedded), display_name=_display_name
)
TRANSFORMERS_BACKEND = Backend(
    build=build_transformers,
    describe=describe_transformers,
    check=_check(build_transformers),
    display_name=_display_name,
)
