import pytest

from editorial import doctor
from editorial.cli import main
from editorial.doctor import CheckResult, run_checks
from editorial.errors import ChromaUnavailable


@pytest.fixture
def without_embeddings(monkeypatch):
    """Keep these tests fast: the embedding check is covered by the integration tests."""
    monkeypatch.setattr(doctor, "CHECKS", [c for c in doctor.CHECKS if c is not doctor.check_embeddings])


def test_all_checks_pass_on_a_fresh_data_folder(settings, without_embeddings):
    results = run_checks(settings, repair=True, models=False)
    assert [r.name for r in results][:4] == ["versions", "data folder", "database", "chroma"]
    assert all(r.ok for r in results), results


def test_database_check_fails_before_migration_and_repair_fixes_it(settings, without_embeddings):
    result = doctor.check_database(settings, repair=False)
    assert not result.ok and "run init" in result.message
    assert doctor.check_database(settings, repair=True).ok


def test_unreachable_chroma_server_is_one_failed_line(monkeypatch, without_embeddings):
    from editorial.settings import get_settings

    monkeypatch.setenv("EDITORIAL_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("EDITORIAL_CHROMA_PORT", "9")
    get_settings.cache_clear()
    results = {r.name: r for r in run_checks(get_settings(), repair=True, models=False)}
    assert not results["chroma"].ok
    assert results["chroma"].message.startswith("Chroma at http://127.0.0.1:9 is not reachable")
    assert "\n" not in results["chroma"].message


def test_a_crashing_check_becomes_a_failed_line(settings, monkeypatch):
    def check_boom(settings, repair):
        raise RuntimeError("kaput\nsecond line")

    def check_user_error(settings, repair):
        raise ChromaUnavailable("Chroma says no.")

    monkeypatch.setattr(doctor, "CHECKS", [check_boom, check_user_error])
    assert run_checks(settings, models=False) == [
        CheckResult("boom", False, "RuntimeError: kaput"),
        CheckResult("user error", False, "Chroma says no."),
    ]


def test_doctor_command_prints_one_line_per_check_and_exit_code(settings, monkeypatch, capsys):
    monkeypatch.setattr(
        doctor, "CHECKS", [lambda s, r: CheckResult("a", True, "fine"), lambda s, r: CheckResult("b", False, "broken")]
    )
    assert main(["doctor", "--no-models"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["ok   a: fine", "FAIL b: broken", "1 ok, 1 failed"]


def test_init_prepares_data_folder_and_database(settings, capsys):
    from db.migrate import current_revision, head_revision
    from db.session import get_engine

    assert main(["init", "--skip-models"]) == 0
    assert (settings.resolved_data_dir / "chroma").is_dir()
    assert current_revision(get_engine(settings.resolved_database_url)) == head_revision()
    assert "database ready" in capsys.readouterr().out


def test_init_on_unwritable_folder_is_one_line_error(monkeypatch, tmp_path, capsys):
    from editorial.settings import get_settings

    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("EDITORIAL_DATA_DIR", str(tmp_path / "file" / "data"))
    get_settings.cache_clear()
    assert main(["init", "--skip-models"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The data folder") and "\n" not in err
