from db.models import Draft
from db.session import session_scope
from editorial.datastore import open_database
from editorial.settings import get_settings
from pages.ui.navigation import PAGES
from tests.pages.helpers import open_page


def test_home_page_shows_counts_and_links():
    with session_scope(open_database(get_settings())) as session:
        session.add(Draft(title="One"))
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Editorial Desk"
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Drafts"] == "1"
    assert metrics["Sources"] == "0"


def test_every_registered_page_file_exists():
    from tests.pages.helpers import REPO_ROOT

    for spec in PAGES:
        assert (REPO_ROOT / spec.path).is_file(), spec.path
    assert sum(spec.default for spec in PAGES) == 1


def test_unwritable_data_folder_is_one_line_error(monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("EDITORIAL_DATA_DIR", str(blocker / "data"))
    get_settings.cache_clear()
    at = open_page(role=None)
    assert not at.exception
    assert "is not writable" in at.error[0].value
