"""Re-check on save: how long a person's save spends checking a post against its sources (goal ≤ 1 s, 2,000 words).

A post is built from the bench RAG corpus (``bench/corpus/rag``, five Markdown articles): passages of about
600 characters, paragraphs of source sentences citing the passage they came from, one in five sentences given
an invented name or number, headings and a References list. Measured side by side, interleaved, in one process:

- ``check``: the verifier alone (:func:`editorial.grounding.store.check_body`, no database), wall and CPU time
  (the CPU time is what the check costs on a quiet machine; the wall time includes waiting for a busy one);
- ``save``: :func:`editorial.drafts.save_revision` end to end (SQLite, new revision, re-check, report row);
- ``save without check``: the same save storing an empty report instead of checking, to show what the check adds.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from db.crud.drafts import get_revision  # noqa: E402
from db.models import Role, User  # noqa: E402
from db.session import session_scope  # noqa: E402
from editorial import drafts as drafts_module  # noqa: E402
from editorial import settings as settings_module  # noqa: E402
from editorial.datastore import open_database  # noqa: E402
from editorial.drafts import count_words, create_generated_draft, save_revision  # noqa: E402
from editorial.grounding import store  # noqa: E402
from editorial.grounding.schemas import GroundednessReport, Passage, SentenceStatus  # noqa: E402
from editorial.grounding.verify import verify_text  # noqa: E402

CORPUS = REPO / "bench" / "corpus" / "rag"
FRONT = {"title": "Retrieval, grounded", "tags": ["rag"]}
PASSAGE_CHARS = 600
INVENTIONS = ["founded by Dr. Alan Berkeley in 2017", "version 9.7 of HUGGFox", "used by 87% of teams at Zentrix"]


def passages() -> dict[int, Passage]:
    """Passages of about 600 characters from the corpus (evidence-sized), numbered from 1."""
    out: dict[int, Passage] = {}
    for path in sorted(CORPUS.glob("*.md")):
        text = " ".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) >= 6]
        chunks: list[list[str]] = [[]]
        for sentence in sentences:
            if sum(len(s) for s in chunks[-1]) >= PASSAGE_CHARS:
                chunks.append([])
            chunks[-1].append(sentence)
        for index, chunk in enumerate(c for c in chunks if c):
            n = len(out) + 1
            out[n] = Passage(n=n, text=" ".join(chunk), source_name=path.name, location=f"chunk {index + 1}")
    return out


def post(sources: dict[int, Passage], words: int, seed: int = 7) -> str:
    """A Markdown post of about ``words`` words: cited source sentences, some with an invented detail."""
    rng = random.Random(seed)
    pool = [(n, s) for n, p in sources.items() for s in re.split(r"(?<=[.!?])\s+", p.text) if len(s.split()) >= 6]
    paragraphs: list[str] = []
    count = 0
    while count < words:
        if len(paragraphs) % 5 == 0:
            paragraphs.append(f"## Part {len(paragraphs) // 5 + 1}")
        picked = []
        for n, sentence in rng.sample(pool, 3):
            if rng.random() < 0.2:
                sentence = sentence.rstrip(".!?") + f", {rng.choice(INVENTIONS)}."
            picked.append(f"{sentence} [{n}]")
        paragraph = " ".join(picked)
        paragraphs.append(paragraph)
        count += count_words(paragraph)
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", "\n".join(paragraphs))})
    references = "\n".join(f"{n}. {sources[n].label()}" for n in cited)
    return "\n\n".join(paragraphs) + "\n\n## References\n\n" + references + "\n"


def use_data_dir(path: Path):
    """Point the app at ``path`` and return its migrated engine."""
    os.environ["EDITORIAL_DATA_DIR"] = str(path)
    settings_module.get_settings.cache_clear()
    return open_database(settings_module.get_settings())


def new_draft(engine, body: str, sources: dict[int, Passage]) -> tuple[int, int]:
    """A generated draft with the writer's report; returns (draft id, author id)."""
    with session_scope(engine) as session:
        author = User(username=f"writer{random.random()}", role=Role.EDITOR, password_hash="x")
        session.add(author)
        session.flush()
        draft = create_generated_draft(
            session=session,
            title=FRONT["title"],
            front_matter=FRONT,
            body=body,
            author_id=author.id,
            collection_id=None,
            plan_id=None,
            report=verify_text(body, sources),
        )
        return draft.id, author.id


def timed_save(engine, draft_id: int, author_id: int, version: int, body: str) -> tuple[int, float]:
    start = time.perf_counter()
    with session_scope(engine) as session:
        number = save_revision(
            session=session, draft_id=draft_id, base_version=version, front_matter=FRONT, body=body, author_id=author_id
        ).number
    return number, time.perf_counter() - start


class _NoCheck:
    """Stands in for the re-check while timing the bare save (restored right after)."""

    def __enter__(self):
        self.saved = drafts_module._check
        drafts_module._check = lambda session, draft_id, body, report: store.Check(report=GroundednessReport())

    def __exit__(self, *exc):
        drafts_module._check = self.saved


def bench(words: int, runs: int) -> dict[str, float]:
    sources = passages()
    body = post(sources, words)
    report, _, problem = store.check_body(body, sources)
    assert not problem and report.count(SentenceStatus.UNSUPPORTED) > 0 and report.count(SentenceStatus.SUPPORTED) > 0
    engine = use_data_dir(Path(tempfile.mkdtemp(prefix="bench-recheck-")))
    checked = new_draft(engine, body, sources)
    bare = new_draft(engine, body, sources)
    versions = {"save": 1, "save without check": 1}
    times: dict[str, list[float]] = {"check": [], "check, CPU time": [], "save": [], "save without check": []}
    for run in range(runs):
        edited = body.replace("## References", f"An editor's sentence number {run} [1].\n\n## References")
        start, cpu = time.perf_counter(), time.thread_time()
        store.check_body(edited, sources)
        times["check"].append(time.perf_counter() - start)
        times["check, CPU time"].append(time.thread_time() - cpu)
        versions["save"], elapsed = timed_save(engine, *checked, versions["save"], edited)
        times["save"].append(elapsed)
        with _NoCheck():
            versions["save without check"], elapsed = timed_save(engine, *bare, versions["save without check"], edited)
        times["save without check"].append(elapsed)
    with session_scope(engine) as session:
        stored = store.load_report(session=session, revision_id=_revision_id(session, checked[0], versions["save"]))
    assert stored is not None and stored.checked_by == store.RECHECK and stored.report.passages == sources
    print(
        f"{count_words(body):,} words, {len(report.sentences)} sentences "
        f"({report.count(SentenceStatus.UNSUPPORTED)} unsupported), {len(sources)} passages, {runs} runs:"
    )
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, values in times.items():
        print(f"  {name:<20} median {medians[name]:7.1f} ms   max {max(values) * 1000:7.1f} ms")
    return medians


def _revision_id(session, draft_id: int, number: int) -> int:
    return get_revision(session=session, draft_id=draft_id, number=number).id


if __name__ == "__main__":
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {words: bench(words, runs) for words, runs in ((2_000, 9), (10_000, 5))}
    save_2k = results[2_000]["save"]
    print(
        f"re-check on save, 2,000-word post: median {save_2k:.0f} ms for the whole save (goal <= 1000 ms) "
        f"{'OK' if save_2k <= 1000 else 'OVER GOAL'}; the check adds "
        f"{results[2_000]['save'] - results[2_000]['save without check']:.0f} ms to the save"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
