"""Is a sentence a light edit of its fact? Checks of what an edit added, moved, dropped or changed.

The writer asks a model to copy-edit one source sentence (a fact). Lexical and embedding support by the passage
let fluent distortions through, so an edit is also compared with its fact word by word: no new content word
(:func:`added_words`), the content words in their order (:func:`moved_word`), every qualifier and code span kept,
every content word kept (:func:`dropped_meaning`), and the prepositions between kept words unchanged
(:func:`changed_link`). The rules' own equivalents (:mod:`editorial.grounding.paraphrase`) are allowed everywhere.
"""

from __future__ import annotations

import re
from collections import Counter

from editorial.grounding.paraphrase import EQUIVALENTS, FILLER_STEMS, equivalent_in
from editorial.grounding.verify import content_words


def added_words(sentence: str, fact: str) -> list[str]:
    """Content words of ``sentence`` that its fact lacks (fillers, and the rules' equivalents of its words, excepted).

    The writer asks for a light copy-edit of one fact; a new content word is where a small model's fluent
    distortions live ("three minor releases" becoming "three major releases", a contributor promoted to "a valuable
    contributor"), and lexical support by the whole passage lets them through, so none is allowed.
    """
    stems = set(content_words(fact))
    own = {word.rstrip("e") for word in stems}  # "releas(es)" meets "release"
    replaced = stems - set(content_words(sentence))  # an equivalent stands for a word the sentence no longer has
    added: list[str] = []
    for word in re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", sentence.lower()):
        found = content_words(word)  # empty for stop words
        if not found or found[0].rstrip("e") in own or equivalent_in(found[0], replaced) or word in added:
            continue
        added.append(word)
    return added


_KEPT_CLASSES: dict[str, str] = {
    **{w: "not" for w in ("not", "no", "never", "none", "nor", "neither", "without", "unless", "except")},
    **{w: w for w in ("only", "if", "all", "any", "some", "more", "most", "less", "least", "fewer", "few", "longer")},
    **{w: w for w in ("always", "sometimes", "rarely", "may", "might", "must", "should", "could", "would", "will")},
    **{w: "every" for w in ("each", "every")},
    **{w: "can" for w in ("can", "able")},
    **{w: "many" for w in ("many", "several", "multiple", "numerous", "lots")},
    **{w: "often" for w in ("often", "frequently", "commonly")},
    **{w: "usually" for w in ("usually", "typically")},
    **{w: "about" for w in ("approximately", "roughly", "about", "almost", "nearly")},
    **{w: "be" for w in ("is", "are", "was", "were", "be", "been")},
}
"""Words that limit or qualify a claim, by class of equivalents: a light edit may not drop one ("one or more
identifiers" is not "one identifier"; a fragment the session "no longer holds" is not any fragment). Forms of "be"
too: "recency is approximate under load" lost its predicate as "recency under load"."""
_MAY_ADD = frozenset({"be"})
"""Qualifier classes an edit may add: a fragment's fact ("Fast and simple.") becomes a sentence with "is". Any
other added qualifier makes another claim: "supports Windows" is not "only supports Windows", nor "always"."""
MIN_KEPT_CONTENT = 1.0
"""Share of its fact's content words a model's sentence keeps (rule equivalents and fillers count). All of them:
with 0.75, "Surrogate integer primary keys are of course still the norm, but …" passed as "… are of course again,
but …", and "a single column or a single row" as "a single column or a row"; a light edit changes small words."""


def _qualifiers(text: str) -> Counter[str]:
    """The qualifier classes in ``text``, counted."""
    text = re.sub(r"\bcan(?:'|’)?t\b|\bcannot\b", "can not", text.lower())
    text = re.sub(r"n(?:'|’)t\b", " not", text)
    text = re.sub(r"(?:'|’)ll\b", " will", text)
    return Counter(_KEPT_CLASSES[w] for w in re.findall(r"[a-z]+", text) if w in _KEPT_CLASSES)


def dropped_meaning(sentence: str, fact: str) -> str:
    """What of its fact's meaning a model's ``sentence`` dropped or changed ("" when nothing that matters).

    Read on the 135M model's edits that passed every other check: "`[tool.alembic]`" became "`[alembic]`", "one or
    more identifiers" became "one identifier", "If the attribute has been accessed, …" lost its "If". So a sentence
    keeps every qualifier of its fact (negations, quantifiers, modals, conditions) and adds none but a form of
    "be", writes code only as the fact does, and keeps its content words (:data:`MIN_KEPT_CONTENT`).
    """
    codes = set(re.findall(r"`[^`]+`", fact))
    for code in re.findall(r"`[^`]+`", sentence):
        if code not in codes:
            return f"changes code: {code}"
    in_fact, in_sentence = _qualifiers(fact), _qualifiers(sentence)
    missing = in_fact - in_sentence
    if missing:
        return "drops " + ", ".join(sorted(missing))
    added = [q for q in in_sentence - in_fact if q not in _MAY_ADD]
    if added:
        return "adds " + ", ".join(sorted(added))
    changed = changed_link(sentence, fact)
    if changed:
        return f"changes {changed}"
    stems = set(content_words(fact))
    own = set(content_words(sentence))
    kept = sum(1 for word in stems if _kept_word(word, own))
    if stems and kept < MIN_KEPT_CONTENT * len(stems):
        return f"keeps {kept} of its fact's {len(stems)} content words"
    return ""


_LINKS = frozenset(
    {
        *("of", "in", "on", "at", "to", "from", "by", "with", "for", "into", "onto", "over", "under", "about"),
        *("between", "through", "within", "after", "before", "during", "against", "as", "than", "via", "per"),
        *("and", "or", "but", "that", "which", "who"),
    }
)
"""Prepositions, conjunctions and relative pronouns: what ties two content words together ("files cached from the
Hub"; "a mutated tokenizer is still rejected" is another claim than "a mutated tokenizer that is still rejected")."""


def _anchored_links(text: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """For each pair of neighbouring content words of ``text``, the linking words between them."""
    links: dict[tuple[str, str], tuple[str, ...]] = {}
    previous, between = "", []
    for word in re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", text.lower()):
        found = content_words(word)
        if not found:
            if word in _LINKS:
                between.append(word)
            continue
        if previous:
            links.setdefault((previous, found[0]), tuple(between))
        previous, between = found[0], []
    return links


def changed_link(sentence: str, fact: str) -> str:
    """The first preposition or conjunction ``sentence`` changed between two content words its fact has side by side.

    A small model's edit that passed every other check turned "files cached from the Hub" into "files cached in
    the Hub", and "identical data to the current collection" into "identical data, including the current
    collection": same words, another claim. Returns "" when every shared link is kept.
    """
    theirs = _anchored_links(fact)
    for pair, words in _anchored_links(sentence).items():
        if pair in theirs and theirs[pair] != words:
            old = " ".join(theirs[pair]) or "nothing"
            return f"'{old}' to '{' '.join(words) or 'nothing'}' between {pair[0]} and {pair[1]}"
    return ""


def _kept_word(stem: str, own: set[str]) -> bool:
    """True when ``stem`` of a fact is in a sentence's stems ``own``, as itself or as a rules' equivalent."""
    return stem in own or stem in FILLER_STEMS or any(stem in EQUIVALENTS.get(word, ()) for word in own)


def moved_word(sentence: str, fact: str) -> str:
    """The first content word of ``sentence`` that breaks the order its fact has them in ("" when none does).

    A light edit keeps the fact's content words in their order (it drops, swaps or adds small words around them).
    The 135M model's distortions recombine the fact's own words — "the training API is optimized to work with
    PyTorch models" became "the PyTorch model is optimized to work with Transformers" — which no lexical support
    measure sees; every one of them read on the benchmark's facts moved a word. A word said more often than the
    fact says it counts as moved too.
    """
    order = content_words(fact)
    known = set(order)
    position = 0
    for word in content_words(sentence):
        if word not in known:
            continue  # fillers and rule equivalents (added_words has judged them)
        try:
            position = order.index(word, position) + 1
        except ValueError:
            return word
    return ""
