"""How often the writer's copy-edit of one fact passes verification, on facts sampled from the real corpora.

Takes ``--n`` facts (fixed seed) from the benchmark's corpora (``bench/corpus/build_real.py --guides``), asks the
configured writer model for the first copy-edit exactly as :func:`editorial.chain.compose.compose_section` does
(same prompt, copy blocking, no repetition penalty), and checks the answer with
:func:`editorial.chain.compose.check_sentence`. Prints the pass count and the reasons for refusal; ``--show``
prints every fact with the model's sentence, so the verdicts can be read, not only counted.

Usage: ``python bench/measure_copyedit.py [--n 40] [--seed 7] [--show]`` (about a minute with the embedded model).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    """Sample facts, ask for each one's copy-edit, print how many pass and why the others do not."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="measure-copyedit-"))
    os.environ["EDITORIAL_DATA_DIR"] = str(root / "data")
    os.environ.setdefault("EDITORIAL_MODEL_CACHE_DIR", str(REPO / "data" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench.corpus.build_real import build
    from editorial.chain import compose
    from editorial.chain.calls import CallSite
    from editorial.chain.models import chat_target
    from editorial.grounding.facts import Fact, candidate_sentences
    from editorial.settings import get_settings

    texts = [p.read_text(encoding="utf-8") for files in build(root / "corpora", guides=True).values() for p in files]
    facts = [
        Fact(sentence, 1, paragraph)
        for text in texts
        for paragraph in text.split("\n\n")
        for sentence in candidate_sentences(paragraph)
    ]
    sample = random.Random(args.seed).sample(facts, min(args.n, len(facts)))
    target = chat_target(get_settings(), "writer")
    context = compose.WritingContext.build(texts)
    reasons: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    for fact in sample:
        messages = compose.fact_messages([fact], "Section 2 of 5: Overview", target.model)
        reply = compose._generate(
            target,
            messages,
            stage="measure",
            site=CallSite(),
            max_tokens=56,
            topic="Overview",
            facts=[fact],
        )
        sentence = compose._first_sentence(compose._numbered(reply, 1).get(0, ""))
        problem = compose.check_edit(sentence, fact, context) if sentence else "no sentence"
        verdict = problem.split(":")[0] if problem else "passed"
        reasons[verdict] += 1
        if args.show:
            print(f"[{verdict}] {fact.text}\n    -> {sentence}")
    print(
        f"passed {reasons['passed']} of {len(sample)} in {time.perf_counter() - started:.0f} s; "
        + ", ".join(f"{k} {v}" for k, v in reasons.most_common() if k != "passed")
    )


if __name__ == "__main__":
    main()
