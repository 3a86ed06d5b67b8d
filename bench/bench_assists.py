"""Benchmark of Ask and the tag assist on real documents nobody on the project wrote (package READMEs).

Ask: 25 questions over the ``apps`` corpus of ``bench/corpus/build_real.py`` (the long descriptions of 11 installed
packages); 20 have their answer in one README, 5 are not answered by any. A question counts as answered correctly
when the answer contains the expected fact and cites a passage of the README that holds it; an unanswerable one
counts when it is declined. Grounded share: answers whose every claim the verifier finds supported. Latency: wall
time per answer (retrieval, evidence ranking, generation, verification), in the app's threading (LangChain streams
from a worker thread).

Tags: suggestions for each ``ml`` README that has PyPI keywords, compared with those keywords.

Usage: ``python bench/bench_assists.py [--limit N] [--no-phrase] [--json]`` (the bundled models; a fresh temp data
folder). ``--no-phrase`` answers with the best evidence sentence only (no generator).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus.build_real import build

QUESTIONS: list[tuple[str, str | None, str | None]] = [
    ("Which HTTP versions does HTTPX support?", "http/2", "httpx.md"),
    ("Does HTTPX include a command line client?", "command line client", "httpx.md"),
    ("Which operating systems does Rich work with?", "windows", "rich.md"),
    ("Which Python version does Rich require?", "3.8", "rich.md"),
    ("How many colors does the classic Windows terminal support with Rich?", "16 colors", "rich.md"),
    ("Who wrote Alembic?", "author", "alembic.md"),
    ("Can Alembic emit ALTER statements?", "alter", "alembic.md"),
    ("What kind of framework is Starlette?", "asgi", "starlette.md"),
    ("Does Starlette support WebSockets?", "websocket", "starlette.md"),
    ("How do I install Pydantic?", "pip install", "pydantic.md"),
    ("What is Pydantic V2?", "rewrite", "pydantic.md"),
    ("What is SQLModel designed to be compatible with?", "fastapi", "sqlmodel.md"),
    ("Which file formats can pandas load data from?", "excel", "pandas.md"),
    ("What does Streamlit help you build and share?", "data apps", "streamlit.md"),
    ("What library does Rich use for syntax highlighting?", "pygments", "rich.md"),
    ("What are Typer applications based on?", "type hints", "typer.md"),
    ("What kind of library is Requests?", "http library", "requests.md"),
    ("Under which license is Alembic distributed?", "mit license", "alembic.md"),
    ("What is SQLAlchemy?", "object relational mapper", "sqlalchemy.md"),
    ("How is HTTPX licensed?", "bsd", "httpx.md"),
    ("What is the boiling point of ethanol at sea level?", None, None),
    ("Who won the football world cup in 1998?", None, None),
    ("How many moons does Jupiter have?", None, None),
    ("What is the recommended dose of ibuprofen for adults?", None, None),
    ("What is the capital of Australia?", None, None),
]
TAG_PACKAGES = ["transformers", "sentence-transformers", "huggingface_hub", "tokenizers", "accelerate", "torch"]


def _judge(answer, fact: str | None, source: str | None) -> dict:
    if fact is None:
        return {"kind": "unanswerable", "ok": answer.declined, "grounded": None}
    cited = [answer.passages[n] for n in answer.cited]
    holds = any(p.source_name == source and fact in p.text.lower() for p in cited)
    contains = fact in answer.text.lower()
    grounded = answer.report is not None and not answer.report.unsupported
    return {"kind": "answerable", "ok": (not answer.declined) and contains and holds, "grounded": grounded}


def bench_ask(settings, engine, embeddings, corpus: Path, limit: int, phrase: bool = True) -> tuple[list[dict], dict]:
    """Ingest the corpus, ask every question (each in a fresh conversation), judge the answers."""
    from editorial.assists.ask import ask
    from editorial.assists.services import ask_services
    from editorial.collections import create_collection
    from editorial.ingest import IngestItem, ingest_items

    collection = create_collection(engine, name="package readmes")
    items = [IngestItem(path.name, path.read_bytes()) for path in sorted(corpus.glob("*.md"))]
    ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    services = ask_services(
        settings, engine, embeddings, chroma_name=collection.chroma_name, collection_id=collection.id
    )
    services.phrase = phrase
    rows = []
    for question, fact, source in QUESTIONS[:limit]:
        started = time.perf_counter()
        answer = ask(services, question)
        seconds = time.perf_counter() - started
        verdict = _judge(answer, fact, source)
        rows.append(
            {
                "question": question,
                **verdict,
                "declined": answer.declined,
                "method": answer.method,
                "answer": answer.text[:160],
                "seconds": round(seconds, 1),
                "tokens": answer.prompt_tokens + answer.completion_tokens,
            }
        )
        print(
            f"{'ok ' if verdict['ok'] else 'BAD'} {seconds:5.1f}s {answer.method:9} {question} → {answer.text[:90]}",
            flush=True,
        )
    answerable = [r for r in rows if r["kind"] == "answerable"]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
    answered = [r for r in answerable if not r["declined"]]
    summary = {
        "questions": len(rows),
        "accuracy": sum(r["ok"] for r in answerable) / len(answerable) if answerable else None,
        "declined_correctly": sum(r["ok"] for r in unanswerable) / len(unanswerable) if unanswerable else None,
        "grounded_share": sum(bool(r["grounded"]) for r in answered) / len(answered) if answered else None,
        "median_seconds_per_answer": statistics.median(r["seconds"] for r in rows) if rows else None,
        "p90_seconds_per_answer": statistics.quantiles([r["seconds"] for r in rows], n=10)[-1]
        if len(rows) > 1
        else None,
        "max_seconds_per_answer": max(r["seconds"] for r in rows) if rows else None,
        "methods": {m: sum(r["method"] == m for r in rows) for m in sorted({r["method"] for r in rows})},
    }
    return rows, summary


def bench_tags(settings, engine, embeddings, corpus: Path) -> tuple[list[dict], dict]:
    """Suggested tags of each README with PyPI keywords vs those keywords (normalised to dev.to tags)."""
    from editorial.assists.suggest import EditorServices, suggest_tags, to_tag

    services = EditorServices(settings=settings, engine=engine, embeddings=embeddings)
    rows = []
    for package in TAG_PACKAGES:
        path = corpus / f"{package}.md"
        keywords = (metadata.metadata(package).get("Keywords") or "").replace(",", " ")
        reference = {to_tag(word) for word in keywords.split()} - {""}
        if not path.exists() or not reference:
            continue
        started = time.perf_counter()
        found = suggest_tags(services, title="", body=path.read_text(encoding="utf-8"), current=[]).suggested
        hits = [tag for tag in found if tag in reference or any(tag in ref or ref in tag for ref in reference)]
        rows.append(
            {
                "package": package,
                "suggested": found,
                "reference": sorted(reference),
                "hits": hits,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        print(f"tags {package}: {found} (hits {hits})", flush=True)
    summary = {
        "packages": len(rows),
        "precision": sum(len(r["hits"]) for r in rows) / max(1, sum(len(r["suggested"]) for r in rows)),
        "packages_with_a_hit": sum(bool(r["hits"]) for r in rows) / max(1, len(rows)),
    }
    return rows, summary


def main() -> None:
    """Run both benchmarks in a fresh data folder and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=len(QUESTIONS), help="ask only the first N questions")
    parser.add_argument("--no-phrase", action="store_true", help="quote the best evidence sentence, no generator")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-assists-"))
    os.environ["EDITORIAL_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from editorial.datastore import open_database
    from editorial.embeddings import build_embeddings
    from editorial.settings import get_settings

    built = build(work / "corpora")
    settings = get_settings()
    engine = open_database(settings)
    embeddings = build_embeddings(settings)
    ask_rows, ask_summary = [], {}
    if args.limit > 0:  # --limit 0: the tag benchmark only
        ask_rows, ask_summary = bench_ask(
            settings, engine, embeddings, built["apps"][0].parent, args.limit, phrase=not args.no_phrase
        )
    tag_rows, tag_summary = bench_tags(settings, engine, embeddings, built["ml"][0].parent)
    if args.json:
        print(json.dumps({"ask": ask_summary, "tags": tag_summary, "rows": ask_rows + tag_rows}, indent=2))
        return
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("\n| Ask (bundled models) | value |\n|---|---|")
    for key, value in ask_summary.items():
        print(f"| {key} | {value if not isinstance(value, float) else round(value, 2)} |")
    print("\n| Tags vs PyPI keywords | value |\n|---|---|")
    for key, value in tag_summary.items():
        print(f"| {key} | {value if not isinstance(value, float) else round(value, 2)} |")


if __name__ == "__main__":
    main()
