"""Hugging Face task models for the assists: configured per task, loaded once per process, run on the CPU.

Each task is optional. Blank means the assist uses the bundled models (the embedding model and the embedded
generator). A configured model is a Hugging Face id (found in the local cache when offline) or a local folder.

``token-classification``, ``text-classification`` and ``zero-shot-classification`` run through
``transformers.pipeline``. transformers 5 removed the ``question-answering`` and ``summarization`` pipelines, so
those two load the same model classes the old pipelines used (``AutoModelForQuestionAnswering``,
``AutoModelForSeq2SeqLM``) and do the span search / generation here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.crud.app_settings import get_app_setting, set_app_setting
from db.session import session_scope
from editorial.errors import ModelUnavailable
from editorial.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskInfo:
    """One configurable task: its Hugging Face task name, a label for people and its settings field."""

    hf_task: str
    label: str
    field: str


TASKS: dict[str, TaskInfo] = {
    "qa": TaskInfo("question-answering", "Question answering (Ask)", "assist_qa_model"),
    "summarization": TaskInfo(
        "summarization", "Summarization (description, source summary)", "assist_summarization_model"
    ),
    "ner": TaskInfo("token-classification", "Named entities (tags)", "assist_ner_model"),
    "sentiment": TaskInfo("text-classification", "Sentiment (tone check)", "assist_sentiment_model"),
    "zero_shot": TaskInfo(
        "zero-shot-classification", "Zero-shot classification (tone check)", "assist_zero_shot_model"
    ),
}
OVERRIDES_KEY = "assist.models"
MAX_INPUT_TOKENS = 512


class TaskModelUnavailable(ModelUnavailable):
    """A configured task model cannot be loaded (the message names it)."""


def load_task_overrides(engine: Engine) -> dict[str, str]:
    """Per-task model choices saved from the Settings page (task → id or folder; blank means bundled)."""
    with session_scope(engine) as session:
        value = get_app_setting(session=session, key=OVERRIDES_KEY)
    if not isinstance(value, dict):
        return {}
    return {task: str(name) for task, name in value.items() if task in TASKS and isinstance(name, str)}


def save_task_override(engine: Engine, task: str, name: str | None) -> None:
    """Save (or clear with a blank name) the model of one task; the environment default applies when cleared."""
    if task not in TASKS:
        raise ValueError(f"unknown assist task {task!r}")
    overrides = load_task_overrides(engine)
    if name and name.strip():
        overrides[task] = name.strip()[:500]
    else:
        overrides.pop(task, None)
    with session_scope(engine) as session:
        set_app_setting(session=session, key=OVERRIDES_KEY, value=overrides or None)


def apply_task_overrides(settings: Settings, overrides: dict[str, str]) -> Settings:
    """A copy of ``settings`` with the saved task models set."""
    update = {TASKS[task].field: name for task, name in overrides.items() if task in TASKS}
    return settings.model_copy(update=update) if update else settings


def configured_model(settings: Settings, task: str) -> str:
    """The model configured for ``task`` ("" when the bundled models do the task)."""
    return str(getattr(settings, TASKS[task].field, "") or "").strip()


@dataclass
class TaskModel:
    """A loaded task model: a ``pipeline`` (classification tasks) or model + tokenizer (QA, summarization)."""

    task: str
    name: str
    tokenizer: Any
    model: Any = None
    pipe: Any = None

    def count(self, text: str) -> int:
        """Tokens of ``text`` for this model (the ledger's count)."""
        if not text:
            return 0
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])


_cache: dict[tuple[str, str, bool], TaskModel] = {}
_lock = threading.Lock()


def _source(name: str) -> str:
    folder = Path(name).expanduser()
    return str(folder.resolve()) if folder.is_dir() else name


def _load(task: str, name: str, offline: bool) -> TaskModel:
    import transformers

    source = _source(name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=offline)
    if task == "qa":
        model = transformers.AutoModelForQuestionAnswering.from_pretrained(source, local_files_only=offline)
        return TaskModel(task, name, tokenizer, model=model.eval())
    if task == "summarization":
        model = transformers.AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=offline)
        return TaskModel(task, name, tokenizer, model=model.eval())
    model_class = (
        transformers.AutoModelForTokenClassification
        if task == "ner"
        else transformers.AutoModelForSequenceClassification
    )
    model = model_class.from_pretrained(source, local_files_only=offline).eval()
    extra = {"aggregation_strategy": "simple"} if task == "ner" else {}
    pipe = transformers.pipeline(TASKS[task].hf_task, model=model, tokenizer=tokenizer, device="cpu", **extra)
    return TaskModel(task, name, tokenizer, model=model, pipe=pipe)


def load_task_model(settings: Settings, task: str) -> TaskModel | None:
    """The configured model of ``task``, loaded once per process; None when the bundled models do the task.

    Raises:
        TaskModelUnavailable: the configured model cannot be loaded (one line naming it).
    """
    name = configured_model(settings, task)
    if not name:
        return None
    key = (task, name, settings.hf_hub_offline)
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            loaded = _load(task, name, settings.hf_hub_offline)
        except Exception as exc:  # transformers raises OSError, ValueError, KeyError... for a missing model
            log.warning("loading the %s model %r failed", task, name, exc_info=True)
            where = "offline (not a local folder or a cached model)" if settings.hf_hub_offline else "here"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise TaskModelUnavailable(
                f"The {TASKS[task].label.split(' (')[0].lower()} model '{name}' is not available {where}: {first}"
            ) from exc
        _cache[key] = loaded
        return loaded


def forget_task_models() -> None:
    """Drop every loaded task model (tests; a changed configuration loads the new one anyway)."""
    with _lock:
        _cache.clear()


# --------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class Span:
    """An extracted answer: its text, character offsets in the context and its score (0–1)."""

    text: str
    start: int
    end: int
    score: float


def answer_span(task_model: TaskModel, question: str, context: str, *, max_answer_tokens: int = 30) -> Span | None:
    """The best answer span of ``context`` for ``question`` (extractive QA); None when no span beats "no answer"."""
    import torch

    tokenizer = task_model.tokenizer
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=min(MAX_INPUT_TOKENS, getattr(tokenizer, "model_max_length", MAX_INPUT_TOKENS) or MAX_INPUT_TOKENS),
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = encoded.pop("offset_mapping")[0].tolist()
    sequence_ids = encoded.sequence_ids(0)
    if task_model.model.config.model_type in ("distilbert", "roberta"):
        encoded.pop("token_type_ids", None)
    with torch.no_grad():
        output = task_model.model(**encoded)
    start_p = torch.softmax(output.start_logits[0], dim=-1)
    end_p = torch.softmax(output.end_logits[0], dim=-1)
    in_context = [i for i, sid in enumerate(sequence_ids) if sid == 1]
    if not in_context:
        return None
    null_score = float(start_p[0] * end_p[0])
    best: tuple[float, int, int] | None = None
    for i in in_context:
        for j in in_context:
            if j < i or j - i >= max_answer_tokens:
                continue
            score = float(start_p[i] * end_p[j])
            if best is None or score > best[0]:
                best = (score, i, j)
    if best is None or best[0] <= null_score:
        return None
    score, i, j = best
    start, end = int(offsets[i][0]), int(offsets[j][1])
    return Span(context[start:end], start, end, score)


def summarize(task_model: TaskModel, text: str, *, max_new_tokens: int = 60) -> str:
    """A summary of ``text`` by a seq2seq model (input cut to the model's window)."""
    import torch

    prefix = "summarize: " if task_model.model.config.model_type in ("t5", "mt5") else ""
    tokenizer = task_model.tokenizer
    limit = min(MAX_INPUT_TOKENS, getattr(tokenizer, "model_max_length", MAX_INPUT_TOKENS) or MAX_INPUT_TOKENS)
    encoded = tokenizer(prefix + text, truncation=True, max_length=limit, return_tensors="pt")
    encoded.pop("token_type_ids", None)
    with torch.no_grad():
        ids = task_model.model.generate(**encoded, max_new_tokens=max_new_tokens, num_beams=1, do_sample=False)
    return tokenizer.decode(ids[0], skip_special_tokens=True).strip()


def classify(task_model: TaskModel, texts: list[str]) -> list[tuple[str, float]]:
    """Label and score of each text (text-classification, e.g. sentiment)."""
    if not texts:
        return []
    found = task_model.pipe(texts, truncation=True)
    return [(str(item["label"]), float(item["score"])) for item in found]


def entities(task_model: TaskModel, text: str) -> list[tuple[str, str, float]]:
    """Named entities of ``text``: (words, group, score), in order of appearance."""
    found = task_model.pipe(text) if text.strip() else []
    return [
        (str(item["word"]), str(item.get("entity_group", item.get("entity", ""))), float(item["score"]))
        for item in found
    ]


def zero_shot(task_model: TaskModel, text: str, labels: list[str], template: str) -> dict[str, float]:
    """Score of each label for ``text`` (zero-shot classification with an NLI model)."""
    found = task_model.pipe(text, candidate_labels=labels, hypothesis_template=template)
    return {str(label): float(score) for label, score in zip(found["labels"], found["scores"], strict=True)}
