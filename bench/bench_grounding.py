"""Grounding benchmark: posts written by the embedded model over real documents nobody on the project wrote.

Two corpora of package READMEs (``bench/corpus/build_real.py``: ``ml`` and ``apps``), ten topics. For every post,
measured by an independent checker that reads the corpus text directly (not the writer's own verifier):

- invented: share of the post's names, numbers and identifiers (and the title's) found nowhere in the corpus;
- repeated: share of sentences that repeat an earlier one (same words, or 80% of the same content words);
- supported: share of claim sentences whose cited source backs them — by the app's verifier, and independently by
  embedding similarity (all-MiniLM-L6-v2 cosine ≥ 0.6 to a sentence of the cited document);
- debris: lines with a chat role label or a special token;
- verbatim: share of words in runs of 8+ words copied from the corpus;
- words vs target, tokens per published word, wall time.

Goals: invented ≤ 2%, repeated 0, supported ≥ 90%, debris 0, verbatim ≤ 25%, length within ±20% where the sources
suffice, ≤ 10 tokens per published word.

Usage: ``python bench/bench_grounding.py [--words 150] [--topics 10] [--json out.json]``. The machine is slow:
the default size finishes in about 20 minutes on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus.build_real import build  # noqa: E402

TOPICS = [
    ("ml", "pretrained models with Hugging Face Transformers"),
    ("apps", "building data apps with Streamlit"),
    ("ml", "sentence embeddings with Sentence Transformers"),
    ("apps", "data validation with Pydantic"),
    ("ml", "fast tokenizers for NLP"),
    ("apps", "command-line apps with Typer"),
    ("ml", "distributed training with Accelerate"),
    ("apps", "database access with SQLAlchemy"),
    ("ml", "tensors and autograd in PyTorch"),
    ("apps", "HTTP requests in Python with HTTPX"),
]
ROLE = re.compile(
    r"^\s*[-*>]?\s*\**(user|assistant|system|human|reply|response|answer|question|premise|hypothesis|sender|"
    r"recipient|input|output|instruction)\**\s*:",
    re.IGNORECASE,
)
SPECIAL = re.compile(r"<\|[^|>]+\|>|</?s>|\[/?INST\]")
TERM = re.compile(r"\b(?:\d[\d,.]*%?|[A-Za-z]+[_.][\w.]+|[A-Za-z]*[A-Z][a-z]+[A-Z]\w*|[A-Z][\w'-]+)")


STRUCTURE = frozenset({"Introduction", "Conclusion", "References"})
"""Headings the app itself adds to every post: not claims about the sources."""


def independent_terms(text: str, *, title: bool = False) -> list[str]:
    """Numbers, identifiers and capitalised words not starting a sentence (a deliberately plain rule).

    Headings and the title (``title=True``) are Title Case: there a capitalised ordinary English word ("Guide",
    "Started") is not a name.
    """
    from editorial.grounding.vocabulary import common_words  # a word list (the embedding model's vocabulary)

    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        heading = title or sentence.lstrip().startswith("#")
        sentence = re.sub(r"\[\d+\]|^[\s>*\-“\"#]+", "", sentence).strip()
        if sentence in STRUCTURE:
            continue
        for i, match in enumerate(TERM.finditer(sentence)):
            term = re.sub(r"['’]s$", "", match.group(0).rstrip(".,"))  # Beginner's → Beginner
            if heading and term[:1].isupper() and term[1:].islower() and term.lower() in common_words():
                continue
            if not term or (i == 0 and match.start() == 0 and term[0].isupper() and term[1:].islower()):
                continue
            if term.isdigit() and len(term) == 1:
                continue
            found.append(term)
    return found


def unknown_terms(body: str, title: str, corpus_text: str, topic: str) -> tuple[list[str], list[str]]:
    """The post's (prose and title) independent terms, and those found neither in the corpus nor in the topic."""
    terms = independent_terms(body.split("\n## References")[0]) + independent_terms(title, title=True)
    lowered = corpus_text.lower()
    return terms, [t for t in terms if t.lower() not in lowered and t.lower() not in topic.lower()]


def sentences_of(body: str) -> list[str]:
    """Prose sentences of a post body (headings and References left out)."""
    text = body.split("\n## References")[0]
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text) if len(s.split()) >= 3]


def words_of(text: str) -> list[str]:
    """Lower-case words without citations."""
    return re.findall(r"[a-z0-9]+", re.sub(r"\[\d+\]", " ", text.lower()))


def repeated_share(sentences: list[str]) -> float:
    """Share of sentences repeating an earlier one."""
    seen: list[set[str]] = []
    repeats = 0
    for sentence in sentences:
        words = {w for w in words_of(sentence) if len(w) > 3}
        if words and any(len(words & s) / len(words | s) >= 0.8 for s in seen):
            repeats += 1
        seen.append(words)
    return repeats / len(sentences) if sentences else 0.0


def verbatim_share(body: str, corpus_words: set[tuple[str, ...]]) -> float:
    """Share of words in runs of 8+ words found in the corpus."""
    words = words_of(body.split("\n## References")[0])
    mask = [False] * len(words)
    for i in range(len(words) - 7):
        if tuple(words[i : i + 8]) in corpus_words:
            mask[i : i + 8] = [True] * 8
    return sum(mask) / len(words) if words else 0.0


def setup(root: Path, words_dir: Path, *, guides: bool = True):
    """A data folder, the corpora ingested as two collections, the services; returns what the runs need.

    ``guides``: each package's API guide joins its README (:func:`bench.corpus.build_real.build`).
    """
    os.environ["EDITORIAL_DATA_DIR"] = str(root)
    os.environ.setdefault("EDITORIAL_MODEL_CACHE_DIR", str(REPO / "data" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from editorial.collections import create_collection
    from editorial.datastore import open_database
    from editorial.embeddings import build_embeddings
    from editorial.ingest import IngestItem, ingest_items
    from editorial.settings import get_settings

    settings = get_settings()
    engine = open_database(settings)
    embeddings = build_embeddings(settings)
    built = build(words_dir, guides=guides)
    corpora = {}
    for name, files in built.items():
        collection = create_collection(engine, name=f"bench-{name}")
        items = [IngestItem(p.name, p.read_bytes()) for p in files]
        ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
        text = "\n".join(p.read_text(encoding="utf-8") for p in files)
        words = words_of(text)
        corpora[name] = {
            "collection": collection,
            "text": text.lower(),
            "grams": {tuple(words[i : i + 8]) for i in range(len(words) - 7)},
            "files": {p.name: p.read_text(encoding="utf-8") for p in files},
        }
        print(f"corpus {name}: {len(files)} documents, {len(words):,} words")
    return settings, engine, embeddings, corpora


def embed_supported(report, embeddings) -> float:
    """Share of claim sentences with cosine ≥ 0.6 to some sentence of their cited passage (independent)."""
    import numpy as np

    claims = [s for s in report.sentences if s.status != "no_claim" and s.cited]
    if not claims:
        return 1.0
    ok = 0
    for sentence in claims:
        pieces = []
        for n in sentence.cited:
            passage = report.passages.get(n)
            if passage:
                pieces += [p for p in re.split(r"(?<=[.!?])\s+", " ".join(passage.text.split())) if len(p) > 20]
        if not pieces:
            continue
        vectors = np.array(embeddings.embed_documents([re.sub(r"\[\d+\]", "", sentence.text), *pieces[:60]]))
        ok += float((vectors[1:] @ vectors[0]).max()) >= 0.6
    return ok / len(claims)


def main() -> None:
    """Write a post per topic and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=150, help="target words per post")
    parser.add_argument("--topics", type=int, default=len(TOPICS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-grounding-"))
    settings, engine, embeddings, corpora = setup(root, root / "corpora")
    from db.crud import drafts as draft_crud
    from db.models import RunKind, RunStatus
    from db.session import session_scope
    from editorial.chain.models import build_services
    from editorial.chain.runner import RunRequest, run_chain
    from editorial.chain.text import count_words

    rows = []
    header = (
        f"{'topic':48} {'words':>9} {'invent':>7} {'repeat':>7} {'supp':>6} {'supp-emb':>8} {'debris':>6} "
        f"{'verb':>6} {'tok/w':>6} {'secs':>6}"
    )
    print(header)
    for corpus_name, topic in TOPICS[: args.topics]:
        corpus = corpora[corpus_name]
        services = build_services(settings, engine, chroma_name=corpus["collection"].chroma_name, embeddings=embeddings)
        started = time.perf_counter()
        outcome = run_chain(
            RunRequest(
                kind=RunKind.PLAN_AND_WRITE,
                topic=topic,
                collection_id=corpus["collection"].id,
                target_words=args.words,
            ),
            services,
        )
        seconds = time.perf_counter() - started
        if outcome.status != RunStatus.SUCCEEDED or outcome.draft_id is None:
            print(f"{topic[:48]:48} FAILED: {outcome.error}")
            rows.append({"topic": topic, "corpus": corpus_name, "failed": outcome.error, "seconds": seconds})
            continue
        with session_scope(engine) as session:
            draft = draft_crud.get_draft(session=session, draft_id=outcome.draft_id)
            revision = draft_crud.current_revision(session=session, draft=draft)
            body, title = revision.body, draft.title
        prose = body.split("\n## References")[0]
        terms, unknown = unknown_terms(body, title, corpus["text"], topic)
        sentences = sentences_of(body)
        words = count_words(prose)
        row = {
            "topic": topic,
            "corpus": corpus_name,
            "title": title,
            "words": words,
            "target": args.words,
            "terms": len(terms),
            "unknown": unknown,
            "invented": len(unknown) / len(terms) if terms else 0.0,
            "repeated": repeated_share(sentences),
            "supported": outcome.report.supported_share if outcome.report else 0.0,
            "supported_embedding": embed_supported(outcome.report, embeddings) if outcome.report else 0.0,
            "debris": sum(1 for line in body.splitlines() if ROLE.match(line) or SPECIAL.search(line)),
            "verbatim": verbatim_share(body, corpus["grams"]),
            "tokens": outcome.usage.total_tokens,
            "tokens_per_word": outcome.usage.total_tokens / max(1, words),
            "seconds": seconds,
            "notes": outcome.notes,
            "body": body,
        }
        rows.append(row)
        print(
            f"{topic[:48]:48} {words:>4}/{args.words:<4} {row['invented']:>7.1%} {row['repeated']:>7.1%} "
            f"{row['supported']:>6.0%} {row['supported_embedding']:>8.0%} {row['debris']:>6} {row['verbatim']:>6.1%} "
            f"{row['tokens_per_word']:>6.1f} {seconds:>6.0f}",
            flush=True,
        )
    done = [r for r in rows if "failed" not in r]
    if done:
        terms = sum(r["terms"] for r in done)
        words = sum(r["words"] for r in done)
        sentences = sum(len(sentences_of(r["body"])) for r in done)
        print(
            f"{'TOTAL (' + str(len(done)) + ' posts, ' + str(len(rows) - len(done)) + ' failed)':48} "
            f"{words:>4}/{args.words * len(done):<4} "
            f"{sum(len(r['unknown']) for r in done) / max(1, terms):>7.1%} "
            f"{sum(r['repeated'] * len(sentences_of(r['body'])) for r in done) / max(1, sentences):>7.1%} "
            f"{sum(r['supported'] for r in done) / len(done):>6.0%} "
            f"{sum(r['supported_embedding'] for r in done) / len(done):>8.0%} {sum(r['debris'] for r in done):>6} "
            f"{sum(r['verbatim'] * r['words'] for r in done) / max(1, words):>6.1%} "
            f"{sum(r['tokens'] for r in done) / max(1, words):>6.1f} {sum(r['seconds'] for r in rows):>6.0f}"
        )
        within = sum(1 for r in done if abs(r["words"] - r["target"]) <= 0.2 * r["target"])
        print(
            f"posts within ±20% of the target: {within}/{len(done)}; unknown terms: "
            + "; ".join(f"{r['topic'][:20]}: {', '.join(r['unknown'][:4])}" for r in done if r["unknown"])
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
