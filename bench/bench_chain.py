"""Benchmarks of the writing chain with the embedded SmolLM2-135M over a small real corpus (bench/corpus/rag).

1. Tokens per published word for a 1,500-word post with the default settings (reference CrewAI run: 79).
2. Generation throughput: the app's chain streaming in a background thread while another thread polls (as the
   Streamlit page does), vs raw ``model.generate`` on the main thread; same prompt, same number of new tokens.
3. Quality over 10 topics (300-word posts, to keep the run short on 2 cores): blueprints valid from the model
   itself (not the fallback), written sections under the plan's headings, citation validity, sections within
   ±20% of budget.

Usage: ``python bench/bench_chain.py [--topics N] [--words N] [--skip-long] [--skip-throughput]``.
Run it alone: other processes on the two cores change every figure.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO / "bench" / "corpus" / "rag"
REFERENCE_TOKENS_PER_WORD = 118_011 / 1_500  # the CrewAI run: 118,011 tokens for a 1,500-word post

TOPICS = [
    "retrieval-augmented generation",
    "chunking documents for retrieval",
    "choosing an embedding model",
    "vector databases",
    "evaluating a RAG system",
    "citations in generated answers",
    "hybrid search with BM25 and embeddings",
    "RAG for internal documentation",
    "maximal marginal relevance",
    "the cost of long prompts",
]


def setup():
    data = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    os.environ["EDITORIAL_DATA_DIR"] = str(data)
    cache = REPO / "data" / "models"
    os.environ.setdefault("EDITORIAL_MODEL_CACHE_DIR", str(cache))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from editorial.collections import create_collection
    from editorial.datastore import open_database
    from editorial.embeddings import build_embeddings
    from editorial.ingest import IngestItem, ingest_items
    from editorial.settings import get_settings

    settings = get_settings()
    engine = open_database(settings)
    embeddings = build_embeddings(settings)
    collection = create_collection(engine, name="RAG notes")
    items = [IngestItem(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.md"))]
    report = ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    chunks = sum(o.chunks_added for o in report.outcomes)
    words = sum(len(p.read_text().split()) for p in CORPUS.glob("*.md"))
    print(f"corpus: {len(items)} documents, {words:,} words, {chunks} chunks (data folder {data})")
    return settings, engine, embeddings, collection


def services_for(settings, engine, embeddings, collection):
    from editorial.chain.models import build_services

    return build_services(settings, engine, chroma_name=collection.chroma_name, embeddings=embeddings)


def post_figures(engine, outcome):
    from db.crud import drafts as draft_crud
    from db.models import Plan
    from db.session import session_scope
    from editorial.chain.citations import cited_numbers, split_references, verify
    from editorial.chain.schemas import Blueprint, WrittenSection
    from editorial.chain.text import count_words, within_budget

    with session_scope(engine) as session:
        draft = draft_crud.get_draft(session=session, draft_id=outcome.draft_id)
        revision = draft_crud.current_revision(session=session, draft=draft)
        plan = session.get(Plan, outcome.plan_id)
        from db.models import Run

        run = session.get(Run, outcome.run_id)
    blueprint = Blueprint.model_validate(plan.blueprint)
    written = [WrittenSection.model_validate(s) for s in run.state.get("sections", [])]
    text, references = split_references(revision.body)
    blocks = {m.group(1).strip(): m.group(2) for m in re.finditer(r"(?ms)^## (.+?)$(.*?)(?=^## |\Z)", text)}
    planned = [s.heading for s in blueprint.sections]
    on_topic = 0
    for heading in planned:
        words = {w for w in re.findall(r"[a-z]{4,}", heading.lower())}
        body = blocks.get(heading, "").lower()
        on_topic += bool(words) and any(w in body for w in words)
    return {
        "words": draft.word_count,
        "tokens": outcome.usage.total_tokens,
        "prompt": outcome.usage.prompt_tokens,
        "completion": outcome.usage.completion_tokens,
        "requests": outcome.usage.successful_requests,
        "fallback": plan.is_fallback,
        "sections": len(planned),
        "headings_match": sum(1 for h in planned if h in blocks),
        "on_topic": on_topic,
        "citations_valid": verify(text, references) == [],
        "cited_sections": sum(1 for h in planned if cited_numbers(blocks.get(h, ""))),
        "within_budget": sum(1 for w in written if within_budget(count_words(w.text), w.budget)),
        "quoted": sum(1 for w in written if w.quoted),
        "references": len(references),
    }


def bench_long_post(settings, engine, embeddings, collection, words: int) -> None:
    from db.models import RunKind, RunStatus
    from editorial.chain.runner import RunRequest, run_chain

    print(f"\n== 1. tokens per published word: one {words:,}-word post, default settings")
    started = time.perf_counter()
    outcome = run_chain(
        RunRequest(kind=RunKind.PLAN_AND_WRITE, topic=TOPICS[0], collection_id=collection.id, target_words=words),
        services_for(settings, engine, embeddings, collection),
    )
    seconds = time.perf_counter() - started
    if outcome.status != RunStatus.SUCCEEDED:
        print(f"run failed: {outcome.error}")
        return
    figures = post_figures(engine, outcome)
    ratio = figures["tokens"] / max(1, figures["words"])
    print(f"usage: {outcome.usage.summary()}")
    print(
        f"published words {figures['words']:,}; tokens per published word {ratio:.2f} "
        f"(reference 79 → {REFERENCE_TOKENS_PER_WORD / ratio:.1f}x leaner; goal ≤ 10); "
        f"plan {'FALLBACK' if figures['fallback'] else 'from the model'}; "
        f"citations valid: {figures['citations_valid']} ({figures['references']} sources, {figures['cited_sections']} "
        f"sections cited, {figures['quoted']} by a source quote); "
        f"{figures['within_budget']}/{figures['sections']} sections within budget; {seconds:.0f} s"
    )


def bench_throughput(settings, rounds: int = 3, new_tokens: int = 160) -> None:
    import torch

    from editorial.chain.calls import CallSite, messages_for
    from editorial.chain.models import chat_target
    from editorial.usage import CallContext, LedgerHandler, token_counter_for

    print(f"\n== 2. generation throughput: {new_tokens} new tokens, greedy, {rounds} rounds each, interleaved")
    target = chat_target(settings, "writer")
    model = target.model
    loaded = model.loaded
    messages = messages_for(
        "You write clear technical blog sections.",
        "Write about chunk size, overlap and splitting on structure for retrieval-augmented generation.",
    )
    conversation = [
        {"role": "system", "content": messages[0].content},
        {"role": "user", "content": messages[1].content},
    ]
    encoded = loaded.tokenizer.apply_chat_template(
        conversation, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )

    def raw() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            out = loaded.model.generate(
                **encoded,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                repetition_penalty=settings.repetition_penalty,
            )
        produced = out.shape[-1] - encoded["input_ids"].shape[-1]
        return produced / (time.perf_counter() - started)

    def chain() -> float:
        from editorial.chain.calls import stream_text

        ledger = LedgerHandler(None, CallContext(stage="bench"), token_counter_for(model))
        site = CallSite(ledger)
        result: dict = {}
        shown: list[str] = []

        def work() -> None:  # the run thread of RunRegistry
            started = time.perf_counter()
            stream_text(
                target,
                messages,
                stage="bench",
                site=site,
                max_tokens=new_tokens,
                on_token=shown.append,
                min_new_tokens=new_tokens,
            )
            result["seconds"] = time.perf_counter() - started

        def page() -> None:  # the Streamlit script thread: starts the run, then polls like the fragment
            thread = threading.Thread(target=work)
            thread.start()
            while thread.is_alive():
                time.sleep(0.5)
                _ = "".join(shown)

        poller = threading.Thread(target=page)
        poller.start()
        poller.join()
        return ledger.recorded[-1]["completion_tokens"] / result["seconds"]

    chain()  # warm-up of the worker thread
    raw_rates, chain_rates = [], []
    for _ in range(rounds):
        raw_rates.append(raw())
        chain_rates.append(chain())
    raw_rate, chain_rate = statistics.median(raw_rates), statistics.median(chain_rates)
    print(
        f"raw model.generate, main thread: {raw_rate:.1f} tokens/s (runs: {', '.join(f'{r:.1f}' for r in raw_rates)})"
    )
    runs = ", ".join(f"{r:.1f}" for r in chain_rates)
    print(f"chain, streaming in a run thread: {chain_rate:.1f} tokens/s (runs: {runs})")
    print(f"ratio chain / raw: {chain_rate / raw_rate:.2f}x (goal ≥ 0.9x)")


def bench_topics(settings, engine, embeddings, collection, count: int, words: int) -> None:
    from db.models import RunKind, RunStatus
    from editorial.chain.runner import RunRequest, run_chain

    print(f"\n== 3. quality over {count} topics ({words}-word posts)")
    services = services_for(settings, engine, embeddings, collection)
    rows, failures = [], 0
    for topic in TOPICS[:count]:
        started = time.perf_counter()
        outcome = run_chain(
            RunRequest(kind=RunKind.PLAN_AND_WRITE, topic=topic, collection_id=collection.id, target_words=words),
            services,
        )
        if outcome.status != RunStatus.SUCCEEDED:
            failures += 1
            print(f"  {topic}: {outcome.status.value}: {outcome.error}")
            continue
        figures = post_figures(engine, outcome)
        rows.append(figures)
        print(
            f"  {topic}: plan {'fallback' if figures['fallback'] else 'model'}, {figures['words']} words, "
            f"{figures['tokens'] / max(1, figures['words']):.1f} tok/word, citations valid "
            f"{figures['citations_valid']}, {figures['within_budget']}/{figures['sections']} in budget, "
            f"{time.perf_counter() - started:.0f} s"
        )
    if not rows:
        return
    sections = sum(r["sections"] for r in rows)
    print(f"valid blueprints from the model itself: {sum(not r['fallback'] for r in rows)}/{len(rows)}")
    print(
        f"written sections under the plan's headings: {sum(r['headings_match'] for r in rows)}/{sections} "
        f"(headings come from the plan; text mentioning its heading's words: {sum(r['on_topic'] for r in rows)}/"
        f"{sections})"
    )
    print(
        f"citation validity (every [n] resolves, every reference cited): "
        f"{sum(r['citations_valid'] for r in rows)}/{len(rows)} posts; sections with a citation: "
        f"{sum(r['cited_sections'] for r in rows)}/{sections}, of which {sum(r['quoted'] for r in rows)} only by the "
        "source quote added to sections whose text cited nothing"
    )
    print(f"sections within ±20% of budget: {sum(r['within_budget'] for r in rows)}/{sections}")
    tokens, published = sum(r["tokens"] for r in rows), sum(r["words"] for r in rows)
    print(f"tokens per published word over the topics: {tokens / max(1, published):.2f}; failed runs: {failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--words", type=int, default=1500, help="length of the long post")
    parser.add_argument("--topic-words", type=int, default=300, help="length of each topic's post")
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    settings, engine, embeddings, collection = setup()
    if not args.skip_throughput:
        bench_throughput(settings)
    if not args.skip_long:
        bench_long_post(settings, engine, embeddings, collection, args.words)
    if args.topics:
        bench_topics(settings, engine, embeddings, collection, args.topics, args.topic_words)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
