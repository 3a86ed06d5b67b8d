"""Measure the verifier's support score on real documents, to choose ``SUPPORT_THRESHOLD`` from data.

For sentences of each document of a corpus (``bench/corpus/build_real.py``), the score against one passage of
another document (a wrong citation), and the best of three such passages. Prints percentiles and the share of
wrong citations that would pass each threshold.

Then the distortions a fluent model makes, built from real sentences checked against their own passage: the
sentence negated, one of its numbers replaced by a number from another document, one of its names replaced by a
name from another document. For each, the share the verifier rejects: by support score alone, by the full passage
check (:func:`passage_problem`: score, names/numbers in the cited passage, negation), and by embedding similarity
(all-MiniLM-L6-v2 cosine to the closest passage sentence) at several thresholds — which is why the verifier checks
terms and negation rather than trusting similarity.

Usage: ``python bench/measure_support.py [CORPORA_DIR] [--no-embed]``.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus.build_real import build  # noqa: E402
from editorial.grounding.sentences import plain  # noqa: E402
from editorial.grounding.verify import (  # noqa: E402
    SUPPORT_THRESHOLD,
    closest_passage_sentence,
    has_claim,
    passage_problem,
    support_score,
)
from editorial.grounding.vocabulary import checkable_terms  # noqa: E402

_AUXILIARY = re.compile(r"\b(is|are|was|were|can|will|should|does|do|has|have)\b")


def chunks(text: str, size: int = 1000) -> list[str]:
    """Paragraph-aligned chunks of about ``size`` characters (like the app's splitter)."""
    out, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) > size:
            out.append(current)
            current = ""
        current += paragraph + "\n\n"
    return out + ([current] if current.strip() else [])


def sentences(text: str) -> list[str]:
    """Prose sentences of 8-35 words."""
    found = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return [s for s in found if 8 <= len(s.split()) <= 35 and not s.startswith(("#", "|", "`", "-", "*"))]


def negate(sentence: str) -> str | None:
    """``sentence`` with ``not`` after its first auxiliary verb (None when it has none)."""
    if _AUXILIARY.search(sentence) is None:
        return None
    return _AUXILIARY.sub(lambda m: f"{m.group(1)} not", sentence, count=1)


def swap_term(sentence: str, kind: str, pool: list[str], rng: random.Random) -> str | None:
    """``sentence`` with one of its numbers (``kind="number"``) or names replaced by one from ``pool``."""
    terms = [t for t in checkable_terms(sentence) if (t[0].isdigit()) == (kind == "number")]
    if not terms or not pool:
        return None
    term = rng.choice(terms)
    choices = [p for p in pool if p.lower() != term.lower()]
    return re.sub(rf"(?<![\w.]){re.escape(term)}(?![\w])", rng.choice(choices), sentence, count=1) if choices else None


def distortions(built: dict, rng: random.Random, embed) -> None:
    """Print how often each check rejects true sentences and their distortions."""
    for corpus, files in built.items():
        docs = {p: p.read_text(encoding="utf-8") for p in files}
        cases: dict[str, list[tuple[str, str]]] = {"true": [], "negated": [], "number": [], "name": []}
        terms_by_doc = {p: [t for s in sentences(t) for t in checkable_terms(s)] for p, t in docs.items()}
        for path, text in docs.items():
            others = [t for q, ts in terms_by_doc.items() if q != path for t in ts]
            numbers = [t for t in others if t[0].isdigit() and len(t) > 1]
            names = [t for t in others if t[0].isalpha()]
            for chunk in chunks(text):
                for sentence in sentences(chunk)[:3]:
                    sentence = plain(sentence)
                    if not has_claim(sentence):
                        continue
                    cases["true"].append((sentence, chunk))
                    for kind, changed in (
                        ("negated", negate(sentence) if not _negated(sentence) else None),
                        ("number", swap_term(sentence, "number", numbers, rng)),
                        ("name", swap_term(sentence, "name", names, rng)),
                    ):
                        if changed and changed != sentence:
                            cases[kind].append((changed, chunk))
        print(f"\n{corpus}: share rejected (true sentences should be 0%, distortions 100%)")
        header = f"{'case':8} {'n':>4} {'score<0.5':>10} {'full check':>11}"
        thresholds = (0.6, 0.7, 0.8, 0.9)
        if embed:
            header += "".join(f" {'cos<' + str(t):>8}" for t in thresholds)
        print(header)
        for kind, pairs in cases.items():
            pairs = rng.sample(pairs, min(150, len(pairs)))
            if not pairs:
                continue
            lexical = sum(support_score(s, c) < SUPPORT_THRESHOLD for s, c in pairs) / len(pairs)
            full = sum(bool(passage_problem(s, c)[0]) for s, c in pairs) / len(pairs)
            row = f"{kind:8} {len(pairs):4} {lexical:10.1%} {full:11.1%}"
            if embed:
                sims = [_cosine_to_closest(s, c, embed) for s, c in pairs]
                row += "".join(f" {sum(x < t for x in sims) / len(sims):8.1%}" for t in thresholds)
            print(row)


def _negated(sentence: str) -> bool:
    return bool(re.search(r"\bnot\b|n't\b|\bnever\b|\bno\b", sentence))


def _cosine_to_closest(sentence: str, chunk: str, embed) -> float:
    closest = closest_passage_sentence(sentence, chunk)
    a, b = embed([sentence, closest])
    return sum(x * y for x, y in zip(a, b, strict=True)) / ((sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5)


def main() -> None:
    """Print the distribution of wrong-citation scores per corpus, then the distortion table."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="support-"))
    built = build(root)
    rng = random.Random(1)
    for corpus, files in built.items():
        docs = {p: p.read_text(encoding="utf-8") for p in files}
        parts = {p: chunks(t) for p, t in docs.items()}
        one, three = [], []
        for path, text in docs.items():
            others = [c for q, cs in parts.items() if q != path for c in cs]
            for sentence in rng.sample(sentences(text), min(15, len(sentences(text)))):
                sentence = plain(sentence)
                if has_claim(sentence):
                    one.append(support_score(sentence, rng.choice(others)))
                    three.append(max(support_score(sentence, c) for c in rng.sample(others, 3)))
        for name, values in (("one wrong passage", one), ("best of three", three)):
            values.sort()
            at = lambda f, v=values: v[int(f * (len(v) - 1))]  # noqa: E731
            passing = {t: sum(x >= t for x in values) / len(values) for t in (0.4, 0.5, 0.6)}
            print(
                f"{corpus:5} {name:18} n={len(values):3} median {at(0.5):.2f} p90 {at(0.9):.2f} p95 {at(0.95):.2f} "
                + " ".join(f"≥{t}: {share:.1%}" for t, share in passing.items())
            )
    embed = None
    if "--no-embed" not in sys.argv:
        from editorial.embeddings import build_embeddings
        from editorial.settings import get_settings

        embed = build_embeddings(get_settings()).embed_documents
    distortions(built, random.Random(2), embed)


if __name__ == "__main__":
    main()
