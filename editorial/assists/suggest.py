"""Editor assists that propose a front matter value: the description and the tags of a post.

Each returns a :class:`Suggestion` beside the current value; nothing is applied here — the editor accepts it or not.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from editorial.assists import pipelines
from editorial.assists.common import bounded, embed, embedding_counter, embedding_name, ledger_call, sentences
from editorial.assists.summaries import central_recorded, generate_checked, passages_of, summarize_recorded
from editorial.chain.calls import CallSite, ChatTarget, invoke_text, messages_for
from editorial.frontmatter import MAX_TAG_CHARS, MAX_TAGS, parse_tags
from editorial.grounding.verify import STOPWORDS as VERIFIER_STOPWORDS
from editorial.settings import Settings
from editorial.usage import CallContext, LedgerHandler, token_counter_for

DESCRIPTION_MAX_CHARS = 150
"""dev.to shows the description in feeds and as the meta description; longer text is cut there."""
DESCRIPTION_STAGE = "assist description"
TAGS_STAGE = "assist tags"
POST_CHARS = 1500
CANDIDATES = 80
_STOPWORDS_TEXT = """
    a an and are as at be been but by can could do does for from has have how i if in into is it its just
    may more most not of on once one only or our out over same should so some such than that the their them then
    there these they this those through to too two up use used uses using very was we were what when where which
    while who why will with without would you your also each other all any both few many much new first last like
    make makes get gets via per let lets yes no here see way ways thing things well even still every
    """
STOPWORDS = frozenset(_STOPWORDS_TEXT.split()) | VERIFIER_STOPWORDS
DESCRIPTION_SYSTEM = "You write one-sentence descriptions of technical blog posts. Answer with the sentence only."


@dataclass
class Suggestion:
    """A proposed value for one field, beside the current one."""

    field: str
    current: Any
    suggested: Any
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """True when accepting would change the field."""
        return self.suggested != self.current


@dataclass
class EditorServices:
    """Models an editor assist may use; task models come from :mod:`editorial.assists.pipelines` when configured."""

    settings: Settings
    engine: Any
    embeddings: Any
    target: ChatTarget | None = None
    vocabulary: Any = None


def fit_description(text: str, limit: int = DESCRIPTION_MAX_CHARS) -> str:
    """One line of at most ``limit`` characters, cut at a word boundary, without citations or Markdown marks."""
    line = re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", " ".join(text.split())).replace("**", "").replace("`", "")
    line = line.strip(" \"'")
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _plain(body: str) -> str:
    return " ".join(sentences(bounded(body)))


def suggest_description(
    services: EditorServices, *, title: str, body: str, current: str, draft_id: int | None = None
) -> Suggestion:
    """A description of the post from its body: a summary the verifier finds in the post, within dev.to's limit.

    The summarization model when one is configured, else the bundled generator; when neither gives a sentence
    the post supports, the post's most central sentence.
    """
    plain = _plain(body)
    if not plain:
        return Suggestion("description", current, current, "none", ["The post has no prose to describe yet."])
    passages = passages_of([p for p in re.split(r"\n\s*\n", bounded(body)) if p.strip()])
    owner = {"draft_id": draft_id}
    generate, method = None, ""
    model = pipelines.load_task_model(services.settings, "summarization")
    if model is not None:
        generate, method = (
            lambda: summarize_recorded(
                services.engine, model, plain, stage=DESCRIPTION_STAGE, max_new_tokens=48, **owner
            ),
            model.name,
        )
    elif services.target is not None:
        generate, method = lambda: _generate_description(services, title, plain, draft_id), services.target.name
    checked = generate_checked(
        generate,
        method,
        passages,
        lambda: central_recorded(
            services.settings,
            services.engine,
            services.embeddings,
            plain,
            stage=DESCRIPTION_STAGE,
            count=1,
            max_words=30,
            **owner,
        ),
        "extractive (the post's most central sentence)",
        services.vocabulary,
    )
    notes = [f"Not used (the post does not support it): {sentence}" for sentence in checked.refused[:2]]
    suggested = fit_description(checked.sentences[0]) if checked.sentences else current
    return Suggestion("description", current, suggested, checked.method, notes)


def _generate_description(services: EditorServices, title: str, plain: str, draft_id: int | None) -> str:
    ledger = LedgerHandler(
        services.engine,
        CallContext(draft_id=draft_id, stage=DESCRIPTION_STAGE),
        counter=token_counter_for(services.target.model),
    )
    user = f"Title: {title}\nPost: {plain[:POST_CHARS]}\n\nDescribe this post in one sentence of under 25 words."
    return invoke_text(
        services.target,
        messages_for(DESCRIPTION_SYSTEM, user),
        stage=DESCRIPTION_STAGE,
        site=CallSite(ledger=ledger),
        max_tokens=48,
    )


# --------------------------------------------------------------------------- tags
def to_tag(phrase: str) -> str:
    """A phrase as a dev.to tag: lowercase ASCII letters and digits only, at most 30 characters ("" if none)."""
    tag = re.sub(r"[^a-z0-9]", "", phrase.lower().replace("+", "plus").replace("#", "sharp"))
    return "" if tag.isdigit() else tag[:MAX_TAG_CHARS]


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|io|net|dev|ai|co)\b\S*", re.I)


def prose(text: str) -> str:
    """``text`` without URLs, link targets and images (link words kept): the words a reader sees."""
    return _URL.sub(" ", _LINK.sub(r"\1", text))


def candidate_phrases(text: str, limit: int = CANDIDATES) -> list[tuple[str, int]]:
    """One- and two-word phrases without stopwords, with their counts, most frequent first."""
    counts: Counter[str] = Counter()
    for sentence in sentences(prose(text)):
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9+#.-]*[A-Za-z0-9+#]|[A-Za-z]", sentence)]
        words = [w.lower().strip(".-") for w in words]
        for i, word in enumerate(words):
            if word in STOPWORDS or len(word) < 3:
                continue
            counts[word] += 1
            if i + 1 < len(words) and words[i + 1] not in STOPWORDS and len(words[i + 1]) >= 3:
                counts[f"{word} {words[i + 1]}"] += 1
    ranked = [(p, c) for p, c in counts.most_common() if " " not in p or c >= 2]
    return ranked[:limit]


def key_phrases(embeddings: Any, text: str, *, top: int = 8) -> list[str]:
    """Key phrases of ``text`` with the embedding model (closest to the whole text, diversified by MMR)."""
    candidates = candidate_phrases(text)
    if not candidates:
        return []
    phrases = [p for p, _ in candidates]
    vectors = embed(embeddings, [bounded(text, 4000), *phrases])
    document, rows = vectors[0], vectors[1:]
    counts = np.asarray([c for _, c in candidates], dtype=np.float32)
    boost = 0.05 * np.log1p(counts) / max(float(np.log1p(counts.max())), 1.0)
    scores = rows @ document + boost
    order = np.argsort(-scores)[: top * 3]
    picked = maximal_marginal_relevance(document, [rows[i] for i in order], k=min(top, len(order)), lambda_mult=0.7)
    return [phrases[order[i]] for i in picked]


def suggest_tags(services: EditorServices, *, title: str, body: str, current: list[str], draft_id: int | None = None):
    """Up to four dev.to tags from the post: named entities (when an NER model is configured), then key phrases."""
    text = f"{title}.\n\n{bounded(body, 60_000)}"
    plain = _plain(text)
    found: list[str] = []
    method = "key phrases (embedding model)"
    model = pipelines.load_task_model(services.settings, "ner")
    if model is not None:
        with ledger_call(
            services.engine, stage=TAGS_STAGE, backend="transformers", model=model.name, draft_id=draft_id
        ) as record:
            record.prompt_tokens = min(model.count(plain[:4000]), pipelines.MAX_INPUT_TOKENS)
            named = pipelines.entities(model, plain[:4000])
        counted = Counter(word.strip() for word, _, score in named if score >= 0.5 and len(word.strip()) >= 2)
        found += [word for word, _ in counted.most_common(8)]
        method = f"named entities ({model.name}) and key phrases"
    counter = embedding_counter(services.embeddings)
    with ledger_call(
        services.engine,
        stage=TAGS_STAGE,
        backend="embedded",
        model=embedding_name(services.settings),
        draft_id=draft_id,
    ) as record:
        record.prompt_tokens = counter.count_text(plain[:4000])
        found += key_phrases(services.embeddings, plain)
    return Suggestion("tags", parse_tags(current), distinct_tags(found), method)


def distinct_tags(phrases: list[str]) -> list[str]:
    """Up to four dev.to tags from ranked phrases, none a prefix of another.

    Of a two-word phrase and its own first word, the word wins, in the phrase's place ("httpx" over "httpxcli":
    dev.to tags are mostly single words); otherwise the higher-ranked tag stays.
    """
    tags: list[tuple[str, bool]] = []  # (tag, made of two words)
    for phrase in phrases:
        tag, joined = to_tag(phrase), " " in phrase.strip()
        if not tag or len(tag) < 2:
            continue
        clash = next((i for i, (t, _) in enumerate(tags) if tag.startswith(t) or t.startswith(tag)), None)
        if clash is None:
            tags.append((tag, joined))
        elif tags[clash][1] and not joined and tags[clash][0].startswith(tag):
            tags[clash] = (tag, joined)
    return list(dict.fromkeys(t for t, _ in tags))[:MAX_TAGS]
