"""The two local backends: ``embedded`` (bundled SmolLM2) and ``transformers`` (any id or folder).

``embedded`` runs the bundled SmolLM2 on ONNX Runtime GenAI by default (in a child process:
:mod:`editorial.llm.ort_engine`; ``EDITORIAL_LLM_EMBEDDED_RUNTIME=transformers`` turns it off) and falls back to the
transformers path when that runtime is missing or its model cannot be built.
``transformers`` with the model name ``embedded`` is the same model on the transformers path (bfloat16 torch).
"""

from __future__ import annotations

import json
import logging
import threading
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
from editorial.llm.local import LoadedModel, LocalChatModel, load_local_model, locate_transformers_model
from editorial.llm.ort_convert import ensure_ort_model, ort_available, ort_model_path, read_ort_marker
from editorial.llm.ort_engine import get_engine, ort_thread_count
from editorial.llm.spec import Backend, ModelSpec
from editorial.settings import EMBEDDED, Settings

log = logging.getLogger(__name__)

EMBEDDED_DISPLAY_NAME = f"{EMBEDDED_MODEL_NAME.split('/')[-1]} (embedded)"
TRANSFORMERS_EMBEDDED_NAME = f"{EMBEDDED_MODEL_NAME.split('/')[-1]} (transformers)"

_ort_models: dict[tuple[str, int, str], LoadedModel] = {}
_ort_lock = threading.Lock()


def load_ort_model(folder: Path, checkpoint: Path, threads: int, spin: str = "auto") -> LoadedModel:
    """The ONNX model in ``folder`` (its process started) with the checkpoint's tokenizer, once per process."""
    from transformers import AutoTokenizer

    key = (str(folder), threads, spin)
    with _ort_lock:
        if key in _ort_models:
            return _ort_models[key]
        started = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)
        except Exception as exc:
            raise ModelUnavailable(f"The embedded tokenizer could not be loaded from {checkpoint}: {exc}") from exc
        engine = get_engine(str(folder), threads, spin)
        config = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
        eos = config["model"].get("eos_token_id")
        ends = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            ends.add(tokenizer.eos_token_id)
        variant = (read_ort_marker(folder) or {}).get("variant", "onnx")
        loaded = LoadedModel(
            None, tokenizer, str(folder), variant, time.perf_counter() - started, engine=engine, end_ids=frozenset(ends)
        )
        _ort_models[key] = loaded
        return loaded


def _chat_model(settings: Settings, spec: ModelSpec, source: str, offline: bool) -> LocalChatModel:
    loaded = load_local_model(source, settings.torch_dtype, offline=offline, label=_display_name(spec))
    return _wrap(settings, spec, loaded)


def _wrap(settings: Settings, spec: ModelSpec, loaded: LoadedModel) -> LocalChatModel:
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
    if spec.model == EMBEDDED:
        return EMBEDDED_DISPLAY_NAME if spec.backend == "embedded" else TRANSFORMERS_EMBEDDED_NAME
    return spec.model


def uses_onnx(settings: Settings) -> bool:
    """True when the embedded model should run on ONNX Runtime GenAI (the default runtime, and it is installed)."""
    return settings.llm_embedded_runtime == "onnx" and ort_available()


def build_embedded(settings: Settings, spec: ModelSpec) -> LocalChatModel:
    """The embedded SmolLM2-135M-Instruct: on ONNX Runtime GenAI (the default), or on transformers.

    The ONNX model is built once into ``models_dir``; that path falls back to transformers (one warning in the
    log) when the runtime is not installed or its model cannot be built or started.
    """
    checkpoint = ensure_embedded_checkpoint(settings)
    if uses_onnx(settings):
        try:
            folder = ensure_ort_model(settings, settings.llm_onnx_variant)
            threads = ort_thread_count(settings.llm_threads)
            return _wrap(settings, spec, load_ort_model(folder, checkpoint, threads, settings.llm_spin))
        except ModelUnavailable as exc:
            log.warning("Embedded ONNX runtime unavailable, using transformers instead: %s", exc)
    return _chat_model(settings, spec, str(checkpoint), offline=True)


def build_transformers(settings: Settings, spec: ModelSpec) -> LocalChatModel:
    """Any causal LM given as a local folder or a Hugging Face id (cache only when offline).

    The model name ``embedded`` is the bundled SmolLM2 on this path (its converted checkpoint, torch).
    """
    if spec.model == EMBEDDED:
        return _chat_model(settings, spec, str(ensure_embedded_checkpoint(settings)), offline=True)
    source = locate_transformers_model(spec.model, offline=settings.hf_hub_offline)
    return _chat_model(settings, spec, source, offline=settings.hf_hub_offline)


def describe_embedded(settings: Settings, spec: ModelSpec) -> str:
    """Where the embedded model loads from: its converted checkpoint, or the package GGUF before conversion."""
    folder = ort_model_path(settings, settings.llm_onnx_variant)
    onnx = read_ort_marker(folder) if uses_onnx(settings) else None
    if onnx:
        return f"ONNX Runtime GenAI model {folder} ({onnx.get('variant', '?')})"
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
    if spec.model == EMBEDDED:
        return f"converted checkpoint {embedded_checkpoint_path(settings)} (transformers, {settings.torch_dtype})"
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
