import pytest

from db.models import LLMCall
from db.session import session_scope
from editorial.datastore import open_database
from editorial.settings import get_settings
from tests.pages.helpers import open_page

SETTINGS = "pages/settings.py"


def _settings_with(monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def test_settings_page_shows_models_data_and_status():
    at = open_page(SETTINGS)
    assert not at.exception
    assert at.title[0].value == "Settings"
    models = at.dataframe[0].value
    assert list(models["role"]) == ["default", "planner", "writer", "embeddings"]
    assert "SmolLM2-135M-Instruct" in models["model"].iloc[0]
    data = " ".join(block.value for block in at.markdown)
    assert "(latest)" in data and "collection(s)" in data
    assert not at.error


def test_unreachable_chroma_server_is_one_line_error_on_the_page(monkeypatch):
    _settings_with(monkeypatch, EDITORIAL_CHROMA_HOST="127.0.0.1", EDITORIAL_CHROMA_PORT="9")
    at = open_page(SETTINGS)
    assert not at.exception
    messages = [error.value for error in at.error]
    assert any(m.startswith("Chroma at http://127.0.0.1:9 is not reachable") and "\n" not in m for m in messages)


def test_misconfigured_model_name_is_one_line_error_when_trying_it(monkeypatch):
    _settings_with(monkeypatch, EDITORIAL_LLM_BACKEND="transformers", EDITORIAL_LLM_MODEL="nope/missing-model")
    at = open_page(SETTINGS)
    at.button(key="FormSubmitter:try-model-Generate").click().run()
    assert not at.exception
    messages = [error.value for error in at.error]
    assert any("nope/missing-model" in m and "\n" not in m for m in messages), messages


@pytest.mark.integration
def test_try_the_model_streams_an_answer_and_records_the_call():
    at = open_page(SETTINGS, timeout=300)
    at.text_area[0].set_value("Say hello in one short sentence.")
    at.button(key="FormSubmitter:try-model-Generate").click().run()
    assert not at.exception and not at.error
    answer = at.chat_message[0].markdown[0].value
    assert len(answer.strip()) > 0
    assert any("completion tokens" in caption.value for caption in at.caption)
    with session_scope(open_database(get_settings())) as session:
        calls = session.query(LLMCall).all()
    assert len(calls) == 1 and calls[0].stage == "try" and calls[0].completion_tokens > 0
