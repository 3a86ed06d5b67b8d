"""A close paraphrase of a source sentence, made by rules, not by a model: grounded by construction.

When the model's sentence for a fact fails verification twice, the writer falls back to the fact itself. A marked
quotation is honest but a post of quotations reads as a collage, and the verbatim budget caps them. In between
sits this rung: the source sentence with asides dropped (parentheses, "e.g." lists, filler adverbs) and common
wordings swapped for equivalents ("allows you to" → "lets you", "does not" → "doesn't", "such as" → "like"), just
enough that no run of :data:`~editorial.grounding.copying.RUN_WORDS` words is copied. Names, numbers, code and
every content word the sentence does not drop stay exactly as the source has them, so the result says the same
thing, or less; it is verified like any other sentence before it is kept.
"""

from __future__ import annotations

import re

from editorial.grounding.copying import SourceShingles
from editorial.grounding.verify import content_words

# (pattern, replacement). Lower-case phrases matched on word boundaries, first letter's case kept. Each swap keeps
# the grammar of any sentence it matches (same part of speech, same agreement) and the meaning.
SWAPS: tuple[tuple[str, str], ...] = (
    ("in order to", "to"),
    ("allows you to", "lets you"),
    ("allow you to", "let you"),
    ("allows users to", "lets users"),
    ("enables you to", "lets you"),
    ("lets you", "allows you to"),
    ("makes it easy to", "makes it simple to"),
    ("makes it easier to", "makes it simpler to"),
    ("it is easy to", "it is simple to"),
    ("is able to", "can"),
    ("are able to", "can"),
    ("you can", "you are able to"),
    ("we can", "we are able to"),
    ("it can", "it is able to"),
    ("a lot of", "many"),
    ("a number of", "several"),
    ("a variety of", "many kinds of"),
    ("a wide range of", "many kinds of"),
    ("such as", "like"),
    ("as well as", "and"),
    ("for example", "for instance"),
    ("for instance", "for example"),
    ("out of the box", "by default"),
    ("make sure", "ensure"),
    ("designed to", "built to"),
    ("designed for", "built for"),
    ("based on", "built on"),
    ("written in", "implemented in"),
    ("need to", "have to"),
    ("needs to", "has to"),
    ("want to", "wish to"),
    ("because of", "due to"),
    ("in addition to", "besides"),
    ("is intended to", "is meant to"),
    ("are intended to", "are meant to"),
    ("it is", "it's"),
    ("that is", "that's"),
    ("there is", "there's"),
    ("you are", "you're"),
    ("we are", "we're"),
    ("they are", "they're"),
    ("you will", "you'll"),
    ("does not", "doesn't"),
    ("do not", "don't"),
    ("is not", "isn't"),
    ("are not", "aren't"),
    ("cannot", "can't"),
    ("can not", "can't"),
    ("will not", "won't"),
    ("doesn't", "does not"),
    ("don't", "do not"),
    ("isn't", "is not"),
    ("aren't", "are not"),
    ("can't", "cannot"),
    ("won't", "will not"),
    ("it's", "it is"),
    ("you're", "you are"),
    ("provides", "offers"),
    ("provide", "offer"),
    ("providing", "offering"),
    ("enables", "allows"),
    ("enable", "allow"),
    ("utilizes", "uses"),
    ("utilize", "use"),
    ("supports", "has support for"),
    ("includes", "comes with"),
    ("contains", "includes"),
    ("creates", "makes"),
    ("creating", "making"),
    ("easily", "with ease"),
    ("quickly", "rapidly"),
    ("simple", "straightforward"),
    ("easy", "simple"),
    ("multiple", "several"),
    ("various", "different"),
    ("entire", "whole"),
    ("whole", "entire"),
    ("powerful", "capable"),
    ("popular", "widely used"),
    ("additionally", "also"),
    ("furthermore", "also"),
    ("moreover", "also"),
    ("therefore", "so"),
    ("thus", "so"),
    ("however", "but"),
    ("helps", "assists"),
    ("useful", "handy"),
    ("important", "key"),
)
# Verb and adjective families: each form maps to the same form of an equivalent (one row per form).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("provided by", "offered by"),
    ("creates", "makes"),
    ("created", "made"),
    ("create", "make"),
    ("allows", "permits"),
    ("allowing", "permitting"),
    ("allow", "permit"),
    ("requires", "needs"),
    ("requiring", "needing"),
    ("required", "needed"),
    ("require", "need"),
    ("helping", "assisting"),
    ("helped", "assisted"),
    ("shows", "displays"),
    ("showing", "displaying"),
    ("shown", "displayed"),
    ("show", "display"),
    ("improves", "enhances"),
    ("improving", "enhancing"),
    ("improved", "enhanced"),
    ("improve", "enhance"),
    ("reduces", "lowers"),
    ("reducing", "lowering"),
    ("reduced", "lowered"),
    ("reduce", "lower"),
    ("defines", "specifies"),
    ("defining", "specifying"),
    ("defined", "specified"),
    ("define", "specify"),
    ("describes", "explains"),
    ("describing", "explaining"),
    ("described", "explained"),
    ("manages", "handles"),
    ("managing", "handling"),
    ("manage", "handle"),
    ("simplifies", "streamlines"),
    ("simplify", "streamline"),
    ("offers", "provides"),
    ("offering", "providing"),
    ("offer", "provide"),
    ("uses", "employs"),
    ("using", "employing"),
    ("to build", "to create"),
    ("for building", "for creating"),
    ("for creating", "for building"),
    ("fast", "quick"),
    ("quick", "fast"),
    ("large", "big"),
    ("big", "large"),
    ("flexible", "adaptable"),
    ("robust", "solid"),
    ("latest", "newest"),
    ("numerous", "many"),
    ("complex", "complicated"),
    ("complicated", "complex"),
    ("specific", "particular"),
    ("particular", "specific"),
    ("additional", "extra"),
    ("extra", "additional"),
    ("main", "primary"),
    ("primary", "main"),
    ("often", "frequently"),
    ("frequently", "often"),
    ("usually", "typically"),
    ("typically", "usually"),
    ("currently", "at present"),
    ("instead of", "rather than"),
    ("rather than", "instead of"),
    ("in minutes", "within minutes"),
    ("in seconds", "within seconds"),
    ("with just", "with only"),
    ("most widely used", "most popular"),
    ("widely used", "popular"),
    ("state-of-the-art", "cutting-edge"),
    ("applications", "apps"),
    ("application", "app"),
    ("apps", "applications"),
    ("app", "application"),
    ("documentation", "docs"),
    ("docs", "documentation"),
    ("features", "capabilities"),
    ("feature", "capability"),
    ("examples", "samples"),
    ("example", "sample"),
    ("information", "details"),
    # not "options" -> "choices": "execution options" and "engine options" are terms of art (read in a post)
    # session 5: common verbs in the forms that are only verbs (no "-s"/"-ed" form that is also a noun or a simple
    # past), adjectives and adverbs of the API guides; each swap keeps grammar and meaning in technical prose
    ("contains", "holds"),
    ("containing", "holding"),
    ("generates", "produces"),
    ("generating", "producing"),
    ("generated", "produced"),
    ("generate", "produce"),
    ("modifies", "changes"),
    ("modifying", "changing"),
    ("modified", "changed"),
    ("modify", "change"),
    ("invokes", "calls"),
    ("invoking", "calling"),
    ("invoked", "called"),
    ("invoke", "call"),
    ("retrieves", "fetches"),
    ("retrieving", "fetching"),
    ("retrieved", "fetched"),
    ("retrieve", "fetch"),
    ("stores", "keeps"),
    ("storing", "keeping"),
    ("ignores", "disregards"),
    ("ignoring", "disregarding"),
    ("ignored", "disregarded"),
    ("ignore", "disregard"),
    ("indicates", "shows"),
    ("indicating", "showing"),
    ("obtains", "gets"),
    ("obtain", "get"),
    ("executes", "runs"),
    ("executing", "running"),
    ("ensures", "makes sure"),
    ("ensure", "make sure"),
    ("attempts to", "tries to"),
    ("attempt to", "try to"),
    ("is used to", "serves to"),
    ("are used to", "serve to"),
    ("as soon as", "once"),
    ("each", "every"),
    ("every", "each"),
    ("multiple", "several"),
    ("several", "multiple"),
    ("entire", "whole"),
    ("whole", "entire"),
    ("previous", "earlier"),
    ("necessary", "needed"),
    ("easy", "simple"),
    ("easily", "with ease"),
    ("quickly", "fast"),
    ("approximately", "about"),
    ("roughly", "about"),
    ("initially", "at first"),
    ("therefore", "so"),
    ("whereas", "while"),
    ("commonly", "often"),
    ("typical", "usual"),
    ("immediately", "right away"),
    ("potentially", "possibly"),
    ("significantly", "greatly"),
    ("entirely", "fully"),
    ("whether", "if"),
    ("a bunch of", "many"),
    ("lots of", "many"),
)
DROPPABLE = (
    "very",
    "really",
    "simply",
    "just",
    "actually",
    "basically",
    "highly",
    "extremely",
    "also",
    "totally",
    "completely",
    "truly",
    "incredibly",
    "indeed",
)
"""Filler words that can go without changing what a sentence claims."""

FILLER_STEMS = frozenset(stem for word in DROPPABLE for stem in content_words(word))
"""Content-word stems of filler words: a sentence may gain or lose them without claiming anything new."""


def _equivalents() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for old, new in (*SWAPS, *FAMILIES):
        for stem in content_words(new):
            table[stem] = table.get(stem, frozenset()) | frozenset(content_words(old))
    return table


EQUIVALENTS = _equivalents()
"""For a content-word stem a rule can bring in, the stems of the wording it replaces ("offer" ← "provid")."""


def equivalent_in(stem: str, stems: set[str]) -> bool:
    """True when ``stem`` is a filler, or a rules' equivalent of a word among ``stems``."""
    return stem in FILLER_STEMS or bool(EQUIVALENTS.get(stem, frozenset()) & stems)


_OPEN, _CLOSE = "\ue000", "\ue001"
"""Marks around replaced words while rewording: no later rule touches them (removed at the end)."""
_PARENTHESIS = re.compile(r"\s*\([^()]{0,200}\)")
_EXAMPLES = re.compile(r",?\s*\b(?:e\.g\.|i\.e\.|etc\.)(?:,)?(?:\s[^,.;]{0,80})?", re.IGNORECASE)
_CODE = re.compile(r"`[^`]*`")
_WHICH = re.compile(r",\s+which\s+(\w+)")
_TRAILING = re.compile(
    r",\s+(?:instead of|rather than|without|with|using|including|making|such as|like|especially|even|while|whether)"
    r"\b[^,;:]*(?=[.!?]$)",
    re.IGNORECASE,
)
_ARTICLE = re.compile(rf"\b([Aa]n?)(\s+{_OPEN})([A-Za-z])")
_WORD_CHARS = r"A-Za-z0-9_'’\-"


NOT_AFTER = {"need to": "no ", "needs to": "no "}
"""A swap that breaks an idiom after a word: "No need to …" is not "No have to …"."""


NOT_BEFORE = {"each": " of"}
"""A swap that breaks before a word: "each of the models" is not "every of the models"."""


def _compile(phrase: str) -> re.Pattern:
    guard = f"(?<!{re.escape(NOT_AFTER[phrase])})" if phrase in NOT_AFTER else ""
    ahead = f"(?!{re.escape(NOT_BEFORE[phrase])}\\b)" if phrase in NOT_BEFORE else ""
    return re.compile(rf"(?<![{_WORD_CHARS}.]){guard}{re.escape(phrase)}(?![{_WORD_CHARS}]){ahead}", re.IGNORECASE)


_RULES = tuple((_compile(old), new) for old, new in (*SWAPS, *FAMILIES)) + tuple(
    (_compile(word), "") for word in DROPPABLE
)


def _with_case(found: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if found[:1].isupper() and replacement else replacement


def _blocked(text: str) -> list[tuple[int, int]]:
    """Spans no rule may touch: code spans and words already replaced."""
    spans = [m.span() for m in _CODE.finditer(text)]
    spans += [m.span() for m in re.finditer(f"{_OPEN}[^{_CLOSE}]*{_CLOSE}", text)]
    return spans


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))
    text = re.sub(r",\s*,", ",", text)
    text = re.sub(rf"^[,;:\s{_OPEN}{_CLOSE}]*[,;:]\s*", "", text)
    return text


def _capitalised(text: str) -> str:
    index = next((i for i, c in enumerate(text) if c not in _OPEN + _CLOSE + " "), 0)
    return text[:index] + text[index : index + 1].upper() + text[index + 1 :]


def _shorten(sentence: str) -> str:
    """The sentence without parenthetical asides and "e.g."/"i.e." lists (a claim of less, never of more)."""
    if _CODE.search(sentence):  # parentheses inside code are calls, not asides
        return sentence
    shorter = _tidy(_EXAMPLES.sub("", _PARENTHESIS.sub("", sentence)))
    return shorter if len(shorter.split()) >= 5 and shorter[-1:] in ".!?" else sentence


def _split_which(text: str) -> str:
    """Turn ", which provides …" into ". It provides …" (a relative clause as a sentence of its own)."""

    def repl(match: re.Match) -> str:
        verb = match.group(1)
        plural = verb.lower() in {"are", "were", "have", "do"} or (
            not verb.lower().endswith("s") and verb.lower() not in {"can", "will", "may", "might", "could", "would"}
        )
        return f". {_OPEN}{'They' if plural else 'It'}{_CLOSE} {verb}"

    return _WHICH.sub(repl, text, count=1)


def _fix_articles(text: str) -> str:
    """Make "a"/"an" agree with the word after it (a swap may have changed that word)."""

    def repl(match: re.Match) -> str:
        article, gap, letter = match.groups()
        wanted = "an" if letter.lower() in "aeiou" else "a"
        return (wanted.capitalize() if article[0].isupper() else wanted) + gap + letter

    return _ARTICLE.sub(repl, text)


def close_paraphrase(sentence: str, shingles: SourceShingles) -> str | None:
    """``sentence`` reworded by rules until no run of 8+ of its words is copied from a source, else None.

    Asides are dropped first; then, while a copied run remains, the one rule (swap, drop or clause split) that
    leaves the shortest run is applied inside it. A replaced word is never changed again, names (capitalised
    words not starting the sentence) and code are never touched, so the result stays close to the source.
    """
    text = _shorten(sentence)
    for _ in range(16):
        if shingles.longest_run(text) == 0:
            result = _capitalised(_fix_articles(text).replace(_OPEN, "").replace(_CLOSE, ""))
            return " ".join(result.split()) if result != sentence else None
        changed = _one_change(text, shingles)
        if changed is None:
            return None
        text = changed
    return None


def _one_change(text: str, shingles: SourceShingles) -> str | None:
    """``text`` with one rule applied inside a copied run (the one leaving the shortest run), or None."""
    blocked = _blocked(text)
    inside_run = _copied_chars(text, shingles)
    options: list[str] = []
    split = _split_which(text)
    if split != text:
        options.append(split)
    trimmed = _tidy(_TRAILING.sub("", text, count=1))
    if trimmed != text and len(_plain_words(trimmed)) >= 6:
        options.append(trimmed)
    for pattern, new in _RULES:
        for match in pattern.finditer(text):
            start, end = match.span()
            found = match.group(0)
            if any(start < b and end > a for a, b in blocked) or not inside_run((start, end)):
                continue
            if found[:1].isupper() and not _sentence_start(text, start):
                continue  # a capitalised word mid-sentence may be a name
            replacement = f"{_OPEN}{_with_case(found, new)}{_CLOSE}" if new else _OPEN + _CLOSE
            candidate = _tidy(text[:start] + replacement + text[end:])
            if len(_plain_words(candidate)) >= 5:
                options.append(candidate)
            break  # the first occurrence of each rule is enough
    if not options:
        return None
    return min(options, key=lambda option: (shingles.longest_run(option), shingles.copied_words(option)))


def _sentence_start(text: str, index: int) -> bool:
    return not re.search(r"[A-Za-z0-9]", text[:index].replace(_OPEN, "").replace(_CLOSE, "")) or bool(
        re.search(rf"[.!?]\s*[{_OPEN}{_CLOSE}]*\s*$", text[:index])
    )


def _plain_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


def _copied_chars(text: str, shingles: SourceShingles):
    """A test: does a character span overlap a word that sits in a copied run?"""
    mask = shingles.copied_mask(text)
    lowered = re.sub(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]", lambda m: " " * len(m.group(0)), text.lower())
    spans = [m.span() for m in re.finditer(r"[a-z0-9]+", lowered)]
    copied = [span for span, flag in zip(spans, mask, strict=False) if flag]

    def inside(span: tuple[int, int]) -> bool:
        return any(span[0] < b and span[1] > a for a, b in copied)

    return inside
