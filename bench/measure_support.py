"""Measure the verifier's support score on real documents, to choose ``SUPPORT_THRESHOLD`` from data.

For sentences of each document of a corpus (``bench/corpus/build_real.py``), the score against one passage of
another document (a wrong citation), and the best of three such passages. Prints percentiles and the share of
wrong citations that would pass each threshold.

Usage: ``python bench/measure_support.py [CORPORA_DIR]``.
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
from editorial.grounding.verify import has_claim, support_score  # noqa: E402


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


def main() -> None:
    """Print the distribution of wrong-citation scores per corpus."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="support-"))
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


if __name__ == "__main__":
    main()
