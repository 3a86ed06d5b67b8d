"""Facts from evidence: the best source sentences for a section, diversified with MMR, each with its citation.

A section is written from facts chosen before anything is generated. Candidates are the prose sentences of the
section's retrieved passages (no code, tables, headings or link lists); relevance is the cosine similarity of
sentence embeddings to the section's query when an embedder is given (lexical overlap otherwise), and maximal
marginal relevance keeps the chosen facts from saying the same thing twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from editorial.grounding.guards import DuplicateFilter, signature, similar
from editorial.grounding.sentences import plain
from editorial.grounding.verify import content_words

Embed = Callable[[list[str]], Sequence[Sequence[float]]]


def remembering(embed: Embed) -> Embed:
    """``embed`` that computes each distinct text once: a section's fact rounds re-rank the same sentences.

    Measured on the benchmark's SQLAlchemy post: 1,294 sentence embeddings for 258 distinct sentences.
    """
    known: dict[str, Sequence[float]] = {}

    def embed_once(texts: list[str]) -> list[Sequence[float]]:
        new = list(dict.fromkeys(text for text in texts if text not in known))
        if new:
            known.update(zip(new, embed(new), strict=True))
        return [known[text] for text in texts]

    return embed_once


MIN_FACT_WORDS = 6
MAX_FACT_WORDS = 45
MIN_RELEVANCE = 0.2
"""Facts less similar than this to the section's query (cosine of sentence embeddings) are off-topic."""
MIN_TOPIC_RELEVANCE = 0.25
"""Facts less similar than this to the post's topic are off-topic however well they match a section's heading.
Chosen from 17 facts read in benchmark posts: every off-topic one ("The official docs is hosted on PyData.org." in
a Streamlit post 0.08, "A compiler that fully supports C++20." among fast tokenizers 0.22) scored under 0.23,
every on-topic one 0.31 or more. A widened retrieval (a section reading further down its passages) needs it."""
MMR_LAMBDA = 0.7
"""Weight of relevance against novelty when choosing facts (1.0 = relevance only)."""


_LABEL = re.compile(r"^(?:Note|Tip|Hint|Warning|Important|Caution)\s*:\s*(?=[A-Z`])")
"""An admonition label before a statement ("Note: If …"): the statement is the fact."""
_DANGLING = re.compile(
    r"^(?:It|Its|They|Their|Them|These|Those|This|That|He|She|Such|To|Hence|Thus|Therefore|Also|However|Moreover"
    r"|Further|Furthermore|Additionally|Otherwise|Instead|Then|Will|Would|Can|Could|Should|May|Must|Might"
    r"|Has|Have|Had|Is|Are|Was|Were)\b"
)
"""Openings that lean on the sentence before ("Hence, …", "It …"), or a subjectless fragment ("Will also set …",
"To train …", "Has support for streaming …"): out of their passage they say nothing, or something else."""
_DETERMINERS = frozenset(
    ("a", "an", "the", "this", "that", "these", "those", "any", "one", "all", "each", "every", "its", "their", "your")
)
_GLUED = re.compile(r":\s+[A-Z]|:\.$|^[A-Z]\w*(?: \w+)?:\s")
"""A list or code introduction run into the next sentence ("… and run: If this opens …"), ending in ":", or a
label before a fragment ("Examples: simple to understand code")."""


_GERUND_VERBS = frozenset(
    ("supports", "handles", "allows", "enables", "avoids", "requires", "prevents", "stops", "starts", "skips")
)
"""Verbs a subjectless summary opens with before a gerund ("Supports streaming, …", "Handles returning …")."""
_AUXILIARIES = frozenset(
    {
        *("is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "does", "do", "did"),
        *("can", "could", "will", "would", "may", "might", "must", "shall", "should"),
    }
)
LABEL_WORDS = 10
"""Up to this many words, a sentence with no verb form a rule can see is a label, not a statement."""


def _fragment(words: list[str]) -> bool:
    """True for a docstring's subjectless summary ("Inserts a container as a popover.", "Returns the value.")."""
    first = words[0]
    return (
        len(words) > 1
        and first[:1].isupper()
        and first.endswith("s")
        and not first.endswith(("ss", "us", "is"))
        and (
            words[1].lower() in _DETERMINERS
            or (first.lower() in _GERUND_VERBS and words[1].rstrip(",;:").endswith("ing"))
        )
    )


def _label(words: list[str]) -> bool:
    """True for a short line with no verb form: an auxiliary, a contraction, or a later word in "-s"/"-ed".

    Lists of examples and class summaries ("Speech to speech generation with Moshi.", "A Python dictionary for
    storage of additional state.") and imperative docstrings ("Send a single HTTP request and return a response.")
    read as debris in a post. Read on the benchmark corpora: 144 of 3,302 candidate sentences, a few of them
    usable advice ("Never render a literal value in a SQL statement.") lost with the labels.
    """
    if len(words) > LABEL_WORDS:
        return False
    for index, word in enumerate(words):
        bare = word.strip("`\"'(),;:.!?")
        lower = bare.lower()
        if lower in _AUXILIARIES or re.search(r"(?:n't|'s|'re|'ll|'ve)$", lower):
            return False
        if index and re.fullmatch(r"[a-z]+(?:s|ed)", bare) and not lower.endswith(("ss", "us", "is")):
            return False
    return True


_EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff\ufe0f]\\s*")
"""Emoji in a README line ("But at the same time, ✨ it is …"): decoration, not words of the fact."""
_JUNK = re.compile(r"\bby @\w|#\d{2,}|\]\[|\||-{3,}|\ba\.k\.a\.$|\s(?:of|the|a|an|and|to|[A-Z])\s*\.$")


@dataclass
class Fact:
    """One source sentence a section may say, with the evidence number ``n`` it is cited as."""

    text: str
    n: int
    passage: str
    """The whole passage the sentence comes from (what the verifier checks support against)."""
    relevance: float = 0.0


class _EvidenceLike:  # what facts need from editorial.chain.schemas.Evidence
    n: int
    text: str


def candidate_sentences(text: str) -> list[str]:
    """Prose sentences of a passage that can stand alone as facts (6–45 words, no code, tables or headings)."""
    kept: list[str] = []
    in_code = False
    lines: list[str] = []
    in_item = False  # a bullet item ends at the next item or a blank line, not at its first line's end

    def end_item() -> None:
        nonlocal in_item
        if in_item and lines:
            lines[-1] += " ."
        in_item = False

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            end_item()
            in_code = not in_code
            lines.append("")
            continue
        if (
            not stripped
            or in_code
            or stripped.startswith(("#", "|", ">>>", "$ ", "pip ", "import ", "from ", "!", "[!"))
            or re.match(r"^\s{4,}\S", line)  # indented code
        ):
            end_item()
            lines.append("")
            continue
        if re.match(r"^\s*[-*+]\s", line):
            end_item()
            in_item = True
        lines.append(re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", stripped))
    # an item still open where the passage ends may be cut by the chunking: it gets no full stop, so it is no fact
    flat = " ".join(_EMOJI.sub("", " ".join(lines)).split())
    for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z`\"“(])", flat):
        if not re.search(r"[.!?][\"'”’)\]]*$", piece):
            continue  # a passage cut mid-sentence ("With SQLAlchemy, there's no such thing as"): not a statement
        sentence = _LABEL.sub("", plain(piece).strip()).rstrip(" .") + "."
        sentence = re.sub(r"\s+\.$", ".", sentence)
        words = sentence.split()
        if not MIN_FACT_WORDS <= len(words) <= MAX_FACT_WORDS:
            continue
        letters = sum(c.isalpha() for c in sentence)
        if letters < 0.6 * len(sentence) or sentence.count("`") % 2 or re.search(r"https?://|www\.|[{}=<>]", sentence):
            continue
        if not sentence[0].isupper() and not sentence[0].isdigit() and sentence[0] != "`":
            continue
        if _JUNK.search(sentence) or sentence.count(": ") >= 2 or re.search(r"[a-z]{2}\. [a-z]", sentence):
            continue  # changelog lines (by @user in #123), table or link residue, list items run together
        if _DANGLING.match(sentence) or _GLUED.search(sentence) or _fragment(words) or _label(words):
            continue  # read alone in a post, these lean on text that is not there
        capitalised = sum(1 for word in words if word[:1].isupper())
        if capitalised > 0.6 * len(words):
            continue  # a heading or a link label in Title Case, not a statement
        if sentence not in kept:
            kept.append(sentence)
    return kept


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _lexical(query: set[str], sentence: str) -> float:
    words = set(content_words(sentence))
    return len(words & query) / math.sqrt(len(words) * max(1, len(query))) if words else 0.0


def select_facts(
    query: str,
    evidence: Iterable[_EvidenceLike],
    *,
    count: int,
    embed: Embed | None = None,
    used: DuplicateFilter | None = None,
    tried: set[str] | None = None,
    lambda_mult: float = MMR_LAMBDA,
    min_relevance: float = MIN_RELEVANCE,
    topic: str = "",
    min_topic: float = MIN_TOPIC_RELEVANCE,
) -> list[Fact]:
    """Up to ``count`` facts for ``query`` from ``evidence`` (MMR over sentence embeddings, or lexical overlap).

    Sentences near-duplicating one in ``used`` (facts already written elsewhere in the post) are skipped, and so
    are those in ``tried`` (facts an earlier section could not turn into a verified sentence: trying again in the
    next section costs the same tokens for the same result). With an embedder and a ``topic`` (the post's), facts
    less similar to it than ``min_topic`` are left out too.
    """
    candidates: list[Fact] = []
    for item in evidence:
        for sentence in candidate_sentences(item.text):
            if (used is not None and used.seen(sentence)) or (tried is not None and sentence in tried):
                continue
            if any(similar(signature(sentence), signature(f.text), 0.7) for f in candidates):
                continue
            candidates.append(Fact(sentence, item.n, item.text))
    if not candidates or count <= 0:
        return []
    if embed is not None:
        anchors = [query, topic] if topic else [query]
        vectors = list(embed([*anchors, *[f.text for f in candidates]]))
        query_vector, topic_vector, sentence_vectors = vectors[0], vectors[len(anchors) - 1], vectors[len(anchors) :]
        for fact, vector in zip(candidates, sentence_vectors, strict=True):
            fact.relevance = _cosine(query_vector, vector)
            if topic and _cosine(topic_vector, vector) < min_topic:
                fact.relevance = -1.0  # off the post's topic: under any floor

        def likeness(a: int, b: int) -> float:
            return _cosine(sentence_vectors[a], sentence_vectors[b])
    else:
        wanted = set(content_words(query))
        for fact in candidates:
            fact.relevance = _lexical(wanted, fact.text)
        sets = [set(content_words(f.text)) for f in candidates]

        def likeness(a: int, b: int) -> float:
            union = sets[a] | sets[b]
            return len(sets[a] & sets[b]) / len(union) if union else 0.0

    floor = min_relevance if embed is not None else 1e-9
    chosen: list[int] = []
    left = [i for i, fact in enumerate(candidates) if fact.relevance >= floor]
    while left and len(chosen) < count:

        def mmr(i: int) -> float:
            novelty = max((likeness(i, j) for j in chosen), default=0.0)
            return lambda_mult * candidates[i].relevance - (1 - lambda_mult) * novelty

        best = max(left, key=mmr)
        chosen.append(best)
        left.remove(best)
    return [candidates[i] for i in chosen]
