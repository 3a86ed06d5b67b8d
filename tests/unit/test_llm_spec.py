"""Model specs, backend dispatch and one-line errors for bad model names: fast, no model is loaded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from editorial import llm
from editorial.errors import ModelUnavailable
from editorial.llm import (
    BACKENDS,
    Backend,
    ModelSpec,
    build_chat_model,
    check_model,
    describe_model_source,
    model_display_name,
    spec_for,
)
from editorial.settings import Settings


def make(**fields) -> Settings:
    return Settings(_env_file=None, **fields)


def test_default_spec_is_the_embedded_model():
    spec = spec_for(make(), "default")
    assert spec == ModelSpec(backend="embedded", model="embedded")
    assert spec.is_local
    assert model_display_name(spec) == "SmolLM2-135M-Instruct (embedded)"


def test_roles_fall_back_to_the_llm_settings():
    settings = make(
        llm_backend="openai",
        llm_model="qwen",
        llm_base_url="http://h:1/v1",
        llm_api_key=SecretStr("sk-secret-42"),
        planner_model="big",
    )
    planner, writer = spec_for(settings, "planner"), spec_for(settings, "writer")
    assert (planner.backend, planner.model, planner.base_url) == ("openai", "big", "http://h:1/v1")
    assert (writer.backend, writer.model, writer.base_url) == ("openai", "qwen", "http://h:1/v1")
    assert writer.api_key.get_secret_value() == "sk-secret-42"
    assert "sk-secret-42" not in repr(writer)
    assert not writer.is_local


def test_role_overrides_and_blank_values():
    settings = make(
        llm_backend="transformers",
        llm_model="org/model",
        writer_backend="openai",
        writer_model="",
        writer_base_url="http://w:2",
        planner_backend="embedded",
        planner_model="ignored",
    )
    assert spec_for(settings, "planner") == ModelSpec("embedded", "embedded")
    writer = spec_for(settings, "writer")
    assert (writer.backend, writer.model, writer.base_url) == ("openai", "org/model", "http://w:2")
    default = spec_for(settings)
    assert (default.backend, default.model, default.base_url) == ("transformers", "org/model", None)


def test_transformers_with_the_embedded_name_is_the_embedded_model_on_the_transformers_path():
    assert spec_for(make(llm_backend="transformers"), "writer") == ModelSpec("transformers", "embedded")
    assert spec_for(make(llm_backend="embedded", llm_model="anything"), "writer") == ModelSpec("embedded", "embedded")


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError, match="editor"):
        spec_for(make(), "editor")


def test_missing_hub_model_fails_fast_with_one_line_naming_it():
    settings = make(llm_backend="transformers", llm_model="nope/missing", hf_hub_offline=True)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="nope/missing") as caught:
        build_chat_model(settings)
    assert time.perf_counter() - started < 5
    assert "\n" not in str(caught.value)
    ok, message = check_model(settings)
    assert not ok and "nope/missing" in message and "\n" not in message
    assert "nope/missing" in describe_model_source(settings)


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/folder", "a/b/c", "   "])
def test_bad_folders_and_names_raise_model_unavailable(name: str):
    with pytest.raises(ModelUnavailable) as caught:
        build_chat_model(make(llm_backend="transformers", llm_model=name))
    assert "\n" not in str(caught.value)


def test_a_folder_without_config_is_not_a_checkpoint(tmp_path: Path):
    with pytest.raises(ModelUnavailable, match=r"config\.json"):
        build_chat_model(make(llm_backend="transformers", llm_model=str(tmp_path)))


def test_unknown_backend_names_the_backend():
    with pytest.raises(ModelUnavailable, match="carrier-pigeon"):
        build_chat_model(make(), spec=ModelSpec("carrier-pigeon", "m"))
    assert model_display_name(ModelSpec("carrier-pigeon", "m")) == "m"


def test_a_backend_module_that_cannot_be_imported_is_model_unavailable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(BACKENDS, "ghost", "editorial.llm.no_such_module:GHOST")
    with pytest.raises(ModelUnavailable, match="ghost"):
        build_chat_model(make(), spec=ModelSpec("ghost", "m"))


def test_registered_backends_are_dispatched(monkeypatch: pytest.MonkeyPatch):
    built = []
    fake = Backend(
        build=lambda settings, spec: built.append(spec) or "a chat model",
        describe=lambda settings, spec: f"served at {spec.base_url}",
        check=lambda settings, spec: (True, "pong"),
        display_name=lambda spec: f"{spec.model}!",
    )
    monkeypatch.setitem(BACKENDS, "fake", fake)
    monkeypatch.setattr(llm, "spec_for", lambda settings, role="default": ModelSpec("fake", "m", "http://x"))
    assert build_chat_model(make(), spec=ModelSpec("fake", "m")) == "a chat model"
    assert built == [ModelSpec("fake", "m")]
    assert describe_model_source(make()) == "served at http://x"
    assert check_model(make()) == (True, "pong")
    assert model_display_name(ModelSpec("fake", "m")) == "m!"


def test_string_entries_are_resolved_once(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(BACKENDS, "embedded-again", "editorial.llm.local_backends:EMBEDDED_BACKEND")
    backend = llm.get_backend("embedded-again")
    assert isinstance(backend, Backend)
    assert BACKENDS["embedded-again"] is backend


def test_embedded_source_before_and_after_conversion(tmp_path: Path):
    settings = make(model_cache_dir=tmp_path)
    assert describe_model_source(settings).startswith("package GGUF ")
    folder = tmp_path / "smollm2-135m-instruct"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "editorial-checkpoint.json").write_text('{"dtype": "bfloat16"}')
    assert describe_model_source(settings) == f"converted checkpoint {folder} (bfloat16)"


def test_check_model_reports_unexpected_errors_as_one_line(monkeypatch: pytest.MonkeyPatch):
    def explode(settings, spec):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setitem(BACKENDS, "embedded", Backend(build=explode, describe=explode, check=explode))
    assert check_model(make()) == (False, "RuntimeError: boom")
