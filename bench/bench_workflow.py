"""Editorial workflow benchmark.

1. Drafts page render time (AppTest run, warm) with 10,000 drafts vs. with 10 drafts — goal ≤ 2×.
2. Saving a revision of a 10,000-word post — goal ≤ 100 ms.

Both databases are measured side by side in one process, alternating runs, so shared-machine noise
hits them alike.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import insert  # noqa: E402

from db.models import Draft, DraftStatus, Revision, RevisionOrigin, Role, User, utcnow  # noqa: E402
from db.session import session_scope  # noqa: E402
from editorial import settings as settings_module  # noqa: E402
from editorial.datastore import open_database  # noqa: E402

STATUSES = list(DraftStatus)


def use_data_dir(path: Path):
    """Point the app at ``path`` and return its migrated engine."""
    os.environ["EDITORIAL_DATA_DIR"] = str(path)
    settings_module.get_settings.cache_clear()
    return open_database(settings_module.get_settings())


def seed(engine, count: int) -> None:
    """``count`` drafts by 5 authors, each with one revision, in bulk."""
    with session_scope(engine) as session:
        users = [User(username=f"user{i}", role=Role.EDITOR, password_hash="x") for i in range(5)]
        session.add_all(users)
        session.flush()
        now = utcnow()
        session.execute(
            insert(Draft),
            [
                {
                    "title": f"Post number {i}",
                    "status": STATUSES[i % len(STATUSES)],
                    "author_id": users[i % 5].id,
                    "version": 1,
                    "word_count": 200 + i % 900,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        session.execute(
            insert(Revision),
            [
                {
                    "draft_id": i + 1,
                    "number": 1,
                    "front_matter": {"title": f"Post number {i}"},
                    "body": f"Body of post {i}. " * 40,
                    "origin": RevisionOrigin.GENERATED,
                    "note": "",
                    "word_count": 200,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )


def drafts_page(data_dir: Path):
    """An AppTest of the Drafts page, logged in, after a first (cold) run."""
    from tests.pages.helpers import open_page

    use_data_dir(data_dir)
    return open_page("pages/drafts.py", role="admin")


def time_run(at) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    assert not at.exception, at.exception
    return elapsed


def bench_page(runs: int = 7) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    small, large = root / "small", root / "large"
    seed(use_data_dir(small), 10)
    start = time.perf_counter()
    seed(use_data_dir(large), 10_000)
    print(f"seeded 10,000 drafts with revisions in {time.perf_counter() - start:.1f} s")
    apps = {"10 drafts": drafts_page(small), "10,000 drafts": drafts_page(large)}
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(runs):
        for name, at in apps.items():
            use_data_dir(small if name == "10 drafts" else large)
            times[name].append(time_run(at))
    for name, at in apps.items():
        expected = "10 draft(s)" if name == "10 drafts" else "10000 draft(s)"
        assert any(caption.value.startswith(expected) for caption in at.caption), name
        assert len(at.dataframe[0].value) == (10 if name == "10 drafts" else 25)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"drafts page render, {name:>13}: median {value * 1000:7.1f} ms over {runs} runs")
    ratio = medians["10,000 drafts"] / medians["10 drafts"]
    print(f"ratio 10,000 / 10 drafts: {ratio:.2f}x (goal <= 2x) {'OK' if ratio <= 2 else 'OVER GOAL'}")

    from db.crud.drafts import count_drafts, list_drafts

    engine = use_data_dir(large)
    with session_scope(engine) as session:
        start = time.perf_counter()
        list_drafts(session=session, text="post 9999", limit=25)
        count_drafts(session=session, text="post 9999")
        print(f"text search (title and body) over 10,000 drafts: {(time.perf_counter() - start) * 1000:.1f} ms")


def bench_save(runs: int = 20) -> None:
    from editorial.drafts import create_generated_draft, save_revision
    from editorial.text import count_words

    engine = use_data_dir(Path(tempfile.mkdtemp(prefix="bench-save-")))
    words = [f"word{i % 500}" for i in range(10_000)]
    body = "\n\n".join(" ".join(words[i : i + 100]) for i in range(0, len(words), 100))
    assert count_words(body) == 10_000
    with session_scope(engine) as session:
        author = User(username="writer", role=Role.EDITOR, password_hash="x")
        session.add(author)
        session.flush()
        draft = create_generated_draft(
            session=session,
            title="Long post",
            front_matter={"tags": ["python"]},
            body=body,
            author_id=author.id,
            collection_id=None,
            plan_id=None,
        )
    version, timings = 1, []
    for run in range(runs):
        edited = body + f"\n\nEdit number {run}."
        start = time.perf_counter()
        with session_scope(engine) as session:
            version = save_revision(
                session=session,
                draft_id=draft.id,
                base_version=version,
                front_matter={"title": "Long post", "tags": ["python"]},
                body=edited,
                author_id=author.id,
            ).number
        timings.append(time.perf_counter() - start)
    median = statistics.median(timings) * 1000
    print(
        f"save a revision of a 10,000-word post ({len(body) / 1000:.0f} KB): median {median:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms over {runs} saves (goal <= 100 ms) {'OK' if median <= 100 else 'OVER GOAL'}"
    )


if __name__ == "__main__":
    bench_save()
    bench_page()
