from pathlib import Path

import pytest

from editorial.settings import Settings, get_settings


def test_defaults_follow_the_data_dir(isolated_data_dir: Path):
    settings = get_settings()
    assert settings.resolved_data_dir == isolated_data_dir.resolve()
    assert settings.resolved_database_url == f"sqlite:///{isolated_data_dir.resolve() / 'editorial.db'}"
    assert settings.resolved_chroma_path == isolated_data_dir.resolve() / "chroma"
    assert settings.llm_backend == "embedded"
    assert settings.hf_hub_offline is True


def test_database_url_accepts_the_unprefixed_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/db")
    assert Settings().resolved_database_url == "postgresql://u:p@localhost/db"


def test_prefixed_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / ".env").write_text("EDITORIAL_CHUNK_SIZE=777\nEDITORIAL_LLM_BACKEND=openai\n")
    monkeypatch.setenv("EDITORIAL_MAX_UPLOAD_MB", "2")
    settings = Settings()
    assert settings.chunk_size == 777
    assert settings.llm_backend == "openai"
    assert settings.max_upload_bytes == 2 * 1024 * 1024


def test_invalid_backend_is_rejected(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITORIAL_LLM_BACKEND", "gpt-magic")
    with pytest.raises(ValueError, match="llm_backend"):
        Settings()
