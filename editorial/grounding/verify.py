"""The sentence verifier: is every sentence of a body backed by a passage it cites (no generation, fast)?

For each sentence (see :mod:`editorial.grounding.sentences`):

1. its names, numbers, versions and identifiers must occur in the sources (the :class:`SourceVocabulary`);
2. a sentence with a claim must cite (or inherit from its paragraph) a passage that supports it
   (:func:`passage_problem`): the share of its content words, names and numbers found in that passage
   (:func:`support_score`) must reach :data:`SUPPORT_THRESHOLD`; every name and number of the sentence must occur
   in the cited passages (a number or name moved from another document is not backed by this one); and the
   sentence may not negate what the passage says, or the other way round (:func:`polarity_differs`);
3. a sentence with no checkable claim (a question, a short transition) is ``no_claim``.

The verifier trusts no model: the same check runs whatever wrote the text (the embedded model, a remote server,
a person editing the draft).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from editorial.grounding.schemas import GroundednessReport, Passage, SentenceCheck, SentenceStatus
from editorial.grounding.sentences import plain, split_body
from editorial.grounding.vocabulary import SourceVocabulary, checkable_terms, normalize

SUPPORT_THRESHOLD = 0.5
"""Lowest support score of a supported sentence. Measured with ``bench/measure_support.py`` on two corpora of
package READMEs (``bench/corpus/build_real.py``): a real source sentence checked against a passage of another
document (a wrong citation) scores median 0.0, 95th percentile 0.31, and reaches 0.5 in 0-1.7% of cases (best of
three wrong passages: 95th percentile 0.36-0.46, 4-5% reach 0.5; at 0.4 it would be 4-10%). A sentence against its
own passage scores 1.0; the writer's paraphrases are measured by the grounding benchmark."""
CLAIM_MIN_WORDS = 4
"""A sentence with fewer content words than this, and no name or number, makes no checkable claim."""
TERM_WEIGHT = 2.0
"""Names and numbers weigh double in the support score: a sentence must not move them between passages."""

Embed = Callable[[list[str]], Sequence[Sequence[float]]]

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
    for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's will with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves also just may might must shall
    thus hence however therefore moreover furthermore yet still even many much every either neither whether
    one ones use used uses using make makes made making way ways thing things like get gets got well really
    lot lots able new often usually simply need needs let lets see""".split()  # noqa: SIM905 - a readable word list
)


def stem(word: str) -> str:
    """A crude stem so that ``models``/``model`` and ``trained``/``training`` meet."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, replace in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + replace
            break
    return w[:8]


def content_words(text: str) -> list[str]:
    """Stems of the content words of ``text`` (stop words and one-letter tokens left out)."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) > 2 or w.isdigit())]


@lru_cache(maxsize=4096)
def _passage_profile(text: str) -> tuple[frozenset[str], frozenset[str]]:
    words = frozenset(content_words(text))
    terms = frozenset(normalize(t) for t in re.findall(r"[A-Za-z0-9][\w.+#/-]*[A-Za-z0-9+#%]|\w", text))
    return words, terms


def support_score(sentence: str, passage: str) -> float:
    """How much of ``sentence`` a passage backs (0–1): its content words and names/numbers found in the passage.

    Names and numbers count :data:`TERM_WEIGHT` times; a sentence with no content word scores 0.
    """
    words, terms = _passage_profile(passage)
    own = set(content_words(sentence))
    names = {normalize(t) for t in checkable_terms(sentence)}
    total = len(own) + TERM_WEIGHT * len(names)
    if total == 0:
        return 0.0
    found = len(own & words) + TERM_WEIGHT * sum(1 for t in names if t in terms or _in_words(t, words))
    return round(found / total, 3)


def _in_words(term: str, words: frozenset[str]) -> bool:
    parts = content_words(term)
    return bool(parts) and all(p in words for p in parts)


NEGATIONS = frozenset(
    "not no never none nothing neither nor cannot without can't don't doesn't didn't isn't aren't wasn't weren't "  # noqa: SIM905
    "won't wouldn't shouldn't couldn't hasn't haven't hadn't mustn't".split()
)
"""Words that turn a statement round: a sentence and the passage sentence it restates must agree on them."""
_NEGATION = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(NEGATIONS)) + r")\b|n['’]t\b", re.IGNORECASE)


def is_negated(text: str) -> bool:
    """True when ``text`` contains a negation (``not``, ``never``, ``without``, ``-n't`` …)."""
    return bool(_NEGATION.search(text))


@lru_cache(maxsize=4096)
def _passage_sentences(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    pieces = [
        piece
        for paragraph in re.split(r"\n\s*\n", text)
        for piece in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split()))
        if piece
    ]
    return tuple((p, frozenset(content_words(p))) for p in pieces)


def closest_passage_sentence(sentence: str, passage: str) -> str:
    """The sentence of ``passage`` that shares the most content words with ``sentence``."""
    own = set(content_words(sentence))
    best, overlap = "", -1
    for piece, words in _passage_sentences(passage):
        value = len(own & words)
        if value > overlap:
            best, overlap = piece, value
    return best


def polarity_differs(sentence: str, passage: str) -> bool:
    """True when exactly one of ``sentence`` and its closest passage sentence is negated."""
    return is_negated(sentence) != is_negated(closest_passage_sentence(sentence, passage))


@lru_cache(maxsize=4096)
def passage_vocabulary(text: str) -> SourceVocabulary:
    """The names and numbers of one passage (cached: passages repeat across the sentences of a post)."""
    return SourceVocabulary.from_texts([text])


def missing_terms(terms: Sequence[str], passages: Sequence[str]) -> list[str]:
    """The ``terms`` that none of ``passages`` mentions."""
    vocabularies = [passage_vocabulary(p) for p in passages]
    return [t for t in terms if not any(v.contains(t) for v in vocabularies)]


def passage_problem(
    sentence: str, passage: str, *, terms: Sequence[str] | None = None, threshold: float = SUPPORT_THRESHOLD
) -> tuple[str, float]:
    """Why ``passage`` does not back ``sentence`` (``""`` when it does), and the support score.

    The passage must share enough of the sentence's words (:func:`support_score` ≥ ``threshold``), mention every
    name and number of the sentence, and agree with it on negation.
    """
    terms = checkable_terms(sentence) if terms is None else terms
    score = support_score(sentence, passage)
    if score < threshold:
        return f"does not say this (support {score:.2f} < {threshold:.2f})", score
    missing = missing_terms(terms, [passage])
    if missing:
        return f"does not mention {', '.join(missing[:3])}", score
    if polarity_differs(sentence, passage):
        return "says the opposite (one of them is negated)", score
    return "", score


def has_claim(sentence: str, terms: list[str] | None = None) -> bool:
    """True when the sentence states something checkable (a name/number, or enough content words)."""
    text = sentence.strip()
    terms = checkable_terms(text) if terms is None else terms
    if terms:
        return True
    if text.endswith("?"):
        return False
    return len(set(content_words(text))) >= CLAIM_MIN_WORDS


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb) if na and nb else 0.0


def verify_text(
    body: str,
    passages: dict[int, Passage],
    *,
    vocabulary: SourceVocabulary | None = None,
    threshold: float = SUPPORT_THRESHOLD,
    embed: Embed | None = None,
) -> GroundednessReport:
    """Check every sentence of ``body`` against the passages behind its citation numbers.

    Args:
        body: Markdown with ``[n]`` citations (a References list at the end is ignored).
        passages: the passage behind each citation number of ``body``.
        vocabulary: the names/numbers of all the sources (default: those of ``passages``).
        threshold: lowest support score of a supported sentence.
        embed: optional sentence embedder; when given, a sentence's score is the larger of its lexical support
            and its cosine similarity to the passage sentence closest to it, scaled by 0.9.

    Returns:
        The report: one :class:`SentenceCheck` per sentence, the passages, and the unknown terms.
    """
    vocabulary = vocabulary or SourceVocabulary.from_texts(p.text for p in passages.values())
    checks: list[SentenceCheck] = []
    unknown_all: list[str] = []
    for index, span in enumerate(split_body(body)):
        text = plain(span.text)
        terms = checkable_terms(text)
        unknown = vocabulary.unknown(terms)
        for term in unknown:
            if term not in unknown_all:
                unknown_all.append(term)
        cited = [n for n in span.citations if n in passages]
        best, score, problem = _best_cited(text, terms, cited, passages, threshold, embed)
        claim = has_claim(text, terms)
        status, reason = SentenceStatus.SUPPORTED, ""
        if unknown:
            status, reason = SentenceStatus.UNSUPPORTED, f"Not in the sources: {', '.join(unknown[:5])}"
        elif not claim:
            status = SentenceStatus.NO_CLAIM
        elif not span.citations:
            status, reason = SentenceStatus.UNSUPPORTED, "A claim without a citation"
            best, score = _closest(text, passages)
        elif not cited:
            missing = ", ".join(f"[{n}]" for n in span.citations)
            status, reason = SentenceStatus.UNSUPPORTED, f"Cites {missing}, which is not in the References"
        elif problem:
            status, reason = SentenceStatus.UNSUPPORTED, f"The cited passage [{best}] {problem}"
        checks.append(
            SentenceCheck(
                index=index,
                text=span.text,
                start=span.start,
                end=span.end,
                status=status,
                cited=list(span.citations),
                passage_n=best if best is not None and score > 0 else None,
                score=float(score),
                unknown_terms=unknown,
                reason=reason,
            )
        )
    return GroundednessReport(sentences=checks, passages=dict(passages), unknown_terms=unknown_all)


def _best_cited(
    text: str, terms: list[str], cited: list[int], passages: dict[int, Passage], threshold: float, embed: Embed | None
) -> tuple[int | None, float, str]:
    """The cited passage that backs ``text`` best: its number, score and problem (``""`` when it backs it).

    A sentence citing several passages may draw its names and numbers from any of them.
    """
    if not cited:
        return None, 0.0, ""
    verdicts = {n: passage_problem(text, passages[n].text, terms=terms, threshold=threshold) for n in cited}
    if embed is not None:
        boosted = _with_embeddings(text, {n: v[1] for n, v in verdicts.items()}, passages, embed)
        for n, score in boosted.items():
            problem = verdicts[n][0]
            if problem.startswith("does not say this") and score >= threshold:
                problem = passage_problem(text, passages[n].text, terms=terms, threshold=0.0)[0]
            verdicts[n] = (problem, score)
    clean = [n for n in cited if not verdicts[n][0]]
    best = max(clean or cited, key=lambda n: verdicts[n][1])
    problem, score = verdicts[best]
    if problem.startswith("does not mention") and len(cited) > 1:
        others = [passages[n].text for n in cited]
        if not missing_terms(terms, others) and not polarity_differs(text, passages[best].text):
            problem = ""
    return best, score, problem


def _closest(text: str, passages: dict[int, Passage]) -> tuple[int | None, float]:
    """The passage that would support an uncited sentence best (shown to the editor as a suggestion)."""
    best, score = None, 0.0
    for n, passage in passages.items():
        value = support_score(text, passage.text)
        if value > score:
            best, score = n, value
    return best, score


def _with_embeddings(text: str, scores: dict[int, float], passages: dict[int, Passage], embed: Embed) -> dict:
    out = dict(scores)
    for n in scores:
        pieces = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(passages[n].text.split())) if s][:40]
        if not pieces:
            continue
        vectors = embed([text, *pieces])
        similarity = max(_cosine(vectors[0], v) for v in vectors[1:])
        out[n] = max(out[n], round(0.9 * similarity, 3))
    return out
