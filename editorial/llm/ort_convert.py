"""Convert the embedded SmolLM2 once into an ONNX Runtime GenAI model folder under the models cache.

The converted transformers checkpoint (:mod:`editorial.llm.embedded`) is fed to ONNX Runtime GenAI's model builder
(``python -m onnxruntime_genai.models.builder``, run as a child process: it imports torch and patches its own
import path) with weight-only quantisation (:data:`ORT_VARIANT`); the ``q4_1`` variant then puts the GGUF's own
blocks into the builder's int4 graph (:mod:`editorial.llm.ort_q41`). As for the checkpoint, the build writes into a
temporary sibling folder and renames it into place under a file lock with a marker written last, so two processes
starting at once build once and a crash never leaves a half-written model. Later starts only read the marker.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from editorial.errors import ModelUnavailable
from editorial.llm.embedded import (
    LOCK_TIMEOUT_S,
    Progress,
    embedded_gguf_path,
    ensure_embedded_checkpoint,
    read_checkpoint_marker,
)
from editorial.settings import Settings

_INT4_ARGS = ["-p", "int4", "--extra_options", "algo_config=rtn_last", "is_symmetric=false", "block_size=32"]
ORT_VARIANTS: dict[str, list[str]] = {
    # 8-bit weights, 8-bit activations (the CPU default accuracy_level=4; level 1, float activations, has no fast
    # kernel here: under 1 token/s). Greedy output stays with transformers fp32 longer than int4's.
    "int8": ["-p", "int8"],
    # 4-bit asymmetric blocks of 32 (the GGUF's Q4_1 layout) with the tied head at 8 bits (Q8_0 in the GGUF):
    # faster, fluent, but greedy output leaves the reference within a few tokens (bench/bench_runtimes.py).
    "int4": _INT4_ARGS,
    # The int4 graph with the GGUF's exact Q4_1 blocks (and its Q8_0 head, float32 norms) written in by
    # editorial.llm.ort_q41: the int4 kernels, the GGUF's own weights.
    "q4_1": _INT4_ARGS,
}
GGUF_EXACT_VARIANTS = {"q4_1"}
"""Variants whose builder output is rewritten with the GGUF's own blocks after the build."""
ORT_VARIANT = "q4_1"
"""The embedded default (``EDITORIAL_LLM_ONNX_VARIANT``): the shipped GGUF's own weights, so greedy output stays with
the reference (17/30/11/30 first tokens equal to transformers fp32 on four prompts; int8 6/20/0/17), and about 1.1×
int8's decode speed (bench/bench_runtimes.py)."""

ORT_MARKER_FILE = "editorial-onnx.json"
BUILD_TIMEOUT_S = 900.0


def ort_available() -> bool:
    """True when ``onnxruntime-genai`` is installed (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime_genai") is not None


def ort_model_path(settings: Settings, variant: str = ORT_VARIANT) -> Path:
    """Where the ONNX model of the embedded SmolLM2 lives (it may not exist yet)."""
    return settings.models_dir / f"smollm2-135m-instruct-onnx-{variant}"


def read_ort_marker(folder: Path) -> dict | None:
    """The marker of a complete ONNX model folder, or None if missing or unreadable."""
    try:
        marker = json.loads((folder / ORT_MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if (folder / "genai_config.json").is_file() else None


def ensure_ort_model(settings: Settings, variant: str = ORT_VARIANT, progress: Progress | None = None) -> Path:
    """Return the ONNX Runtime GenAI folder of the embedded model, building it on first use (about a minute).

    Raises:
        ModelUnavailable: the runtime is not installed, the folder is not writable or the build failed.
    """
    from filelock import FileLock, Timeout

    target = ort_model_path(settings, variant)
    if read_ort_marker(target):
        return target
    if not ort_available():
        raise ModelUnavailable("The embedded runtime 'onnxruntime-genai' is not installed (make run installs it).")
    if variant not in ORT_VARIANTS:
        raise ModelUnavailable(f"Unknown ONNX variant '{variant}' (known: {', '.join(ORT_VARIANTS)}).")
    report = progress or (lambda message: None)
    checkpoint = ensure_embedded_checkpoint(settings, progress)
    try:
        lock = FileLock(str(target.parent / f"{target.name}.lock"), timeout=LOCK_TIMEOUT_S)
        with lock:
            if read_ort_marker(target):  # another process finished while we waited
                return target
            for leftover in target.parent.glob(f".{target.name}.*"):
                shutil.rmtree(leftover, ignore_errors=True)
            report(f"Building the fast embedded model ({variant} ONNX, about a minute, once)…")
            started = time.perf_counter()
            temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                _build(checkpoint, temp, variant)
                if target.exists():
                    shutil.rmtree(target)
                temp.rename(target)
            finally:
                shutil.rmtree(temp, ignore_errors=True)
            report(f"Fast embedded model saved to {target} in {time.perf_counter() - started:.0f} s.")
    except Timeout as exc:
        raise ModelUnavailable(f"Another process has been building {target} for over {LOCK_TIMEOUT_S:.0f} s.") from exc
    except OSError as exc:
        raise ModelUnavailable(f"Cannot write the embedded ONNX model to {target}: {exc.strerror or exc}.") from exc
    return target


def _build(checkpoint: Path, destination: Path, variant: str) -> None:
    """Run the model builder into ``destination`` and write the marker last."""
    cache = destination / "_build_cache"
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(checkpoint)]
    command += ["-o", str(destination), "-e", "cpu", "-c", str(cache), *ORT_VARIANTS[variant]]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as exc:
        raise ModelUnavailable(f"Building the embedded ONNX model took over {BUILD_TIMEOUT_S:.0f} s.") from exc
    if result.returncode != 0 or not (destination / "genai_config.json").is_file():
        tail = (result.stderr or result.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise ModelUnavailable(f"Building the embedded ONNX model failed: {tail[0][:300]}")
    shutil.rmtree(cache, ignore_errors=True)
    source = read_checkpoint_marker(checkpoint) or {}
    marker = {"variant": variant, "checkpoint": str(checkpoint), "checkpoint_dtype": source.get("dtype")}
    if variant in GGUF_EXACT_VARIANTS:
        from editorial.llm.ort_q41 import rewrite_with_gguf_blocks

        gguf = embedded_gguf_path()
        try:
            marker["gguf_blocks"] = rewrite_with_gguf_blocks(destination, gguf)
        except (ImportError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"Writing the GGUF's blocks into the {variant} model failed: {exc}") from exc
        marker["gguf"] = str(gguf)
    (destination / ORT_MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")
