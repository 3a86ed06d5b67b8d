"""The ONNX runtime's build-once logic and its process protocol, without a real model."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from editorial.errors import ModelUnavailable
from editorial.llm import ort_convert
from editorial.llm.ort_engine import ort_thread_count
from editorial.llm.ort_worker import session_options
from editorial.settings import Settings


def settings_for(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=tmp_path / "models")


class FakeBuild:
    def __init__(self, fail: bool = False):
        self.calls = 0
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, checkpoint: Path, destination: Path, variant: str) -> None:
        with self.lock:
            self.calls += 1
        destination.mkdir(parents=True)
        (destination / "genai_config.json").write_text("{}")
        if self.fail:
            raise ModelUnavailable("Building the embedded ONNX model failed: boom")
        (destination / ort_convert.ORT_MARKER_FILE).write_text(json.dumps({"variant": variant}))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeBuild:
    build = FakeBuild()
    monkeypatch.setattr(ort_convert, "_build", build)
    monkeypatch.setattr(ort_convert, "ensure_embedded_checkpoint", lambda settings, progress=None: tmp_path / "ckpt")
    monkeypatch.setattr(ort_convert, "ort_available", lambda: True)
    return build


def test_builds_once_and_reuses_the_folder(fake: FakeBuild, tmp_path: Path):
    settings = settings_for(tmp_path)
    messages: list[str] = []
    first = ort_convert.ensure_ort_model(settings, "int4", progress=messages.append)
    second = ort_convert.ensure_ort_model(settings, "int4", progress=messages.append)
    assert first == second == ort_convert.ort_model_path(settings, "int4")
    assert fake.calls == 1 and len(messages) == 2
    assert ort_convert.read_ort_marker(first) == {"variant": "int4"}


def test_concurrent_starts_build_once(fake: FakeBuild, tmp_path: Path):
    settings = settings_for(tmp_path)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ort_convert.ensure_ort_model(settings, "int4")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.calls == 1 and len(set(results)) == 1


def test_a_failed_build_leaves_nothing_half_written(fake: FakeBuild, tmp_path: Path):
    fake.fail = True
    settings = settings_for(tmp_path)
    with pytest.raises(ModelUnavailable, match="boom"):
        ort_convert.ensure_ort_model(settings, "int4")
    target = ort_convert.ort_model_path(settings, "int4")
    assert not target.exists() and not list(target.parent.glob(f".{target.name}.*"))
    fake.fail = False
    assert ort_convert.read_ort_marker(ort_convert.ensure_ort_model(settings, "int4"))


def test_unknown_variant_and_missing_runtime_fail_with_one_line(fake: FakeBuild, tmp_path: Path, monkeypatch):
    with pytest.raises(ModelUnavailable, match="Unknown ONNX variant"):
        ort_convert.ensure_ort_model(settings_for(tmp_path), "int3")
    monkeypatch.setattr(ort_convert, "ort_available", lambda: False)
    with pytest.raises(ModelUnavailable, match="not installed"):
        ort_convert.ensure_ort_model(settings_for(tmp_path), "int4")


def test_thread_settings():
    assert ort_thread_count(3) == 3
    assert ort_thread_count(0) >= 1
    options = json.loads(session_options(2, spin=True))["model"]["decoder"]["session_options"]
    assert options["intra_op_num_threads"] == 2
    assert options["inter_op_num_threads"] == 1
    assert options["session.intra_op.allow_spinning"] == "1"
    sleeping = json.loads(session_options(0, spin=False))["model"]["decoder"]["session_options"]
    assert sleeping["session.intra_op.allow_spinning"] == "0"
    assert "intra_op_num_threads" not in sleeping  # 0: ONNX Runtime picks


@pytest.mark.parametrize("variant", ["int4", "q4_1"])
def test_only_the_q4_1_build_is_rewritten_with_the_gguf_blocks(variant, tmp_path: Path, monkeypatch):
    import subprocess

    from editorial.llm import ort_q41

    commands, rewritten = [], []

    def fake_builder(command, **kwargs):
        commands.append(command)
        destination = Path(command[command.index("-o") + 1])
        destination.mkdir(parents=True)
        (destination / "genai_config.json").write_text("{}")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(ort_convert.subprocess, "run", fake_builder)
    monkeypatch.setattr(ort_convert, "embedded_gguf_path", lambda: tmp_path / "model.gguf")
    monkeypatch.setattr(
        ort_q41, "rewrite_with_gguf_blocks", lambda folder, gguf: rewritten.append((folder, gguf)) or {"n": 1}
    )
    destination = tmp_path / "out"
    ort_convert._build(tmp_path / "ckpt", destination, variant)
    assert commands[0][commands[0].index("-p") + 1] == "int4"  # q4_1 starts from the builder's int4 graph
    marker = ort_convert.read_ort_marker(destination)
    if variant == "q4_1":
        assert rewritten == [(destination, tmp_path / "model.gguf")] and marker["gguf_blocks"] == {"n": 1}
    else:
        assert rewritten == [] and "gguf_blocks" not in marker
