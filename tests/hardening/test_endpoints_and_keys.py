"""Item 1: only admins choose endpoints; a key goes only to its own endpoint; no redirects are followed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from db.models import Role, Run
from db.session import session_scope
from editorial.chain.models import preflight
from editorial.datastore import open_database
from editorial.endpoints import run_settings, save_endpoint
from editorial.errors import BackendUnreachable
from editorial.llm import build_chat_model, spec_for
from editorial.settings import get_settings
from editorial.workflow import PermissionDenied
from tests.hardening.listeners import Listener, redirect_to
from tests.pages.helpers import ensure_user, open_page

SECRET = "sk-operator-secret"


@pytest.fixture
def operator_endpoint(monkeypatch):
    """The operator's configured endpoint (EDITORIAL_LLM_BASE_URL + key), a real recording listener."""
    with Listener() as configured:
        monkeypatch.setenv("EDITORIAL_LLM_BASE_URL", configured.url + "/v1")
        monkeypatch.setenv("EDITORIAL_LLM_API_KEY", SECRET)
        monkeypatch.setenv("EDITORIAL_LLM_BACKEND", "openai")
        monkeypatch.setenv("EDITORIAL_LLM_MODEL", "m")
        get_settings.cache_clear()
        yield configured


def test_editor_cannot_send_the_key_to_a_url_of_their_choosing(operator_endpoint):
    engine = open_database(get_settings())
    editor, admin = ensure_user("ed", Role.EDITOR), ensure_user("boss", Role.ADMIN)
    with Listener() as chosen:
        raw = {"backend": "openai", "model": "m", "base_url": chosen.url}
        with pytest.raises(PermissionDenied, match="Only admins choose model backends"):
            run_settings(get_settings(), engine, actor=editor, choices={"writer": raw})
        assert chosen.requests == []
        # Even an admin's raw URL gets no key: the key belongs to the configured URL only.
        current = run_settings(get_settings(), engine, actor=admin, choices={"writer": raw})
        assert spec_for(current, "writer").api_key is None
        preflight(current)
        assert chosen.requests and chosen.authorizations() == [None] * len(chosen.requests)
    preflight(get_settings(), ("default",))
    assert operator_endpoint.authorizations()[-1] == f"Bearer {SECRET}"


def test_endpoint_key_is_sent_only_to_its_endpoint_and_editors_pick_it_by_name(operator_endpoint):
    settings = get_settings()
    engine = open_database(settings)
    admin, editor = ensure_user("boss", Role.ADMIN), ensure_user("ed", Role.EDITOR)
    with Listener() as team, Listener() as other:
        with pytest.raises(PermissionDenied):
            save_endpoint(settings, engine, actor=editor, name="x", backend="openai", model="m", base_url=other.url)
        save_endpoint(settings, engine, actor=admin, name="Team", backend="openai", model="m", base_url=team.url,
                      api_key="team-key")  # fmt: skip
        key_file = settings.resolved_data_dir / "secrets" / "endpoint_keys.json"
        assert key_file.stat().st_mode & 0o777 == 0o600 and key_file.parent.stat().st_mode & 0o777 == 0o700
        current = run_settings(settings, engine, actor=editor, choices={"writer": "Team"})
        preflight(current, ("writer",))
        assert team.authorizations() == ["Bearer team-key"]
        assert SECRET not in str(team.requests)
        assert other.requests == []


def test_no_redirect_is_followed_with_the_key(operator_endpoint, monkeypatch):
    with Listener() as elsewhere, Listener(redirect_to(elsewhere.url)) as bouncer:
        monkeypatch.setenv("EDITORIAL_LLM_BASE_URL", bouncer.url)
        get_settings.cache_clear()
        spec = spec_for(get_settings(), "default")
        assert spec.api_key is not None  # the configured URL keeps its key ...
        with pytest.raises(BackendUnreachable, match="redirects are not followed"):
            preflight(get_settings(), ("default",))
        assert elsewhere.requests == []  # ... and nothing reached another host
        # The chat client itself follows no redirect either (the preflight is skipped here on purpose).
        with Listener() as honest:
            monkeypatch.setenv("EDITORIAL_LLM_BASE_URL", honest.url)
            get_settings.cache_clear()
            model = build_chat_model(get_settings(), "default")
            model.openai_api_base = bouncer.url + "/v1"
            model.root_client.base_url = bouncer.url + "/v1"
            model.client = model.root_client.chat.completions
            with pytest.raises(Exception):  # noqa: B017 - the 307 is an error, whatever its class
                model.invoke("hello")
        assert elsewhere.requests == []


def test_plan_write_offers_editors_configured_endpoints_only(operator_endpoint, fake_chain):
    settings = get_settings()
    engine = open_database(settings)
    admin = ensure_user("boss", Role.ADMIN)
    save_endpoint(settings, engine, actor=admin, name="Dead server", backend="openai", model="m",
                  base_url="http://127.0.0.1:9")  # fmt: skip
    at = open_page("pages/plan_write.py", role=Role.EDITOR, username="ed")
    assert not at.exception
    assert not [t for t in at.text_input if "URL" in t.label]
    picker = at.selectbox(key="pw_writer_endpoint")
    assert picker.options == ["Saved setting", "Bundled SmolLM2 (embedded)", "Dead server"]
    at.text_input(key="pw_topic").input("retrieval").run()
    at.selectbox(key="pw_writer_endpoint").set_value("Dead server").run()
    at.button(key="pw_plan").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "not reachable or is not an OpenAI-compatible API" in errors[0]
    assert fake_chain["models"] == []
    with session_scope(engine) as session:
        assert session.exec(select(Run)).all() == []
