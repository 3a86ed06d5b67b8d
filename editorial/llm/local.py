"""A LangChain chat model for local transformers models: the embedded SmolLM2 and any transformers id or folder.

Why not ``ChatHuggingFace(llm=HuggingFacePipeline(...))`` from langchain-huggingface? It works for invoke and
stream, but its ``_stream`` starts a fresh ``threading.Thread`` for every call (the thread trap in FACTS.md;
Streamlit adds its own script thread on top), maps ``stop`` strings with ``convert_tokens_to_ids`` (so a stop
sequence longer than one token never matches), cannot be cancelled, loses exceptions raised in that thread (the
consumer waits for its 60 s streamer timeout) and reports no token usage. :class:`LocalChatModel` is a small
``BaseChatModel`` instead: every generation runs on the one long-lived torch worker thread
(:mod:`editorial.llm.worker`), token ids come back through a queue and are decoded by the caller, stop strings
are matched on decoded text, a :class:`threading.Event` or callback cancels a run within one token, and usage is
counted with the model's own tokenizer.

Loaded models are cached per process, keyed by (checkpoint folder or id, dtype), so the planner and the writer
share one copy when they use the same model.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from editorial.errors import ModelUnavailable
from editorial.llm.worker import get_worker

CancelSignal = threading.Event | Callable[[], bool]
"""What ``cancel=`` accepts per call: an Event (set it to stop) or a callable returning True to stop."""

GENERATION_KWARGS = (
    "max_new_tokens",
    "min_new_tokens",
    "temperature",
    "top_p",
    "repetition_penalty",
    "avoid_copying",
)
"""Per-call keyword arguments that override the model's generation settings."""

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}
_DONE = object()


@dataclass
class LoadedModel:
    """A model and its tokenizer, loaded once per process."""

    model: Any
    tokenizer: Any
    source: str
    dtype: str
    load_seconds: float
    engine: Any = None
    """An :class:`~editorial.llm.ort_engine.OrtEngine` when an ONNX runtime generates (``model`` is then None)."""
    end_ids: frozenset[int] = frozenset()
    """End-of-text token ids when ``model`` is None."""
    _word_starts: Any = field(default=None, init=False, repr=False)

    def word_starts(self) -> Any:
        """The :class:`~editorial.llm.copy_guard.WordStarts` of this model's vocabulary (built on first use)."""
        from editorial.llm.copy_guard import WordStarts

        if self._word_starts is None:
            tokenizer = self.tokenizer
            self._word_starts = WordStarts(tokenizer.batch_decode([[i] for i in range(len(tokenizer))]))
        return self._word_starts


_models: dict[tuple[str, str], LoadedModel] = {}
_models_lock = threading.Lock()


def load_local_model(source: str, dtype: str, *, offline: bool = True, label: str | None = None) -> LoadedModel:
    """Load a causal LM and its tokenizer from a folder or hub id, once per process per ``(source, dtype)``.

    Args:
        source: A checkpoint folder or a Hugging Face model id.
        dtype: ``float32`` or ``bfloat16``.
        offline: Load with ``local_files_only`` (no hub requests).
        label: The name to show in error messages (defaults to ``source``).

    Raises:
        ModelUnavailable: the model or tokenizer cannot be loaded.
    """
    key = (source, dtype)
    with _models_lock:
        if key in _models:
            return _models[key]
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), local_files_only=offline)
        except Exception as exc:  # OSError, ValueError, HF errors ...: all mean "cannot load"
            raise ModelUnavailable(_load_error(label or source, exc, offline)) from exc
        model.eval()
        loaded = LoadedModel(model, tokenizer, source, dtype, time.perf_counter() - started)
        _models[key] = loaded
        return loaded


def forget_loaded_models() -> None:
    """Drop the per-process model cache (tests; frees memory when settings change)."""
    with _models_lock:
        _models.clear()


def _load_error(name: str, exc: BaseException, offline: bool) -> str:
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    hint = " (offline mode: only local folders and cached models load)" if offline else ""
    return f"Model '{name}' could not be loaded{hint}: {type(exc).__name__}{': ' + detail if detail else ''}"


def locate_transformers_model(name: str, *, offline: bool) -> str:
    """Check cheaply (no torch import) that ``name`` is a loadable folder or, offline, a cached hub id.

    Returns:
        The absolute folder path, or the hub id unchanged.

    Raises:
        ModelUnavailable: a one-line reason naming the model.
    """
    if not name.strip():
        raise ModelUnavailable("No model is configured for the transformers backend: set EDITORIAL_LLM_MODEL.")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"Model folder '{name}' has no config.json: it is not a transformers checkpoint.")
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise ModelUnavailable(f"Model folder '{name}' does not exist.")
    if offline:
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(name, "config.json")
        except Exception as exc:  # HFValidationError for ids like "a b"
            raise ModelUnavailable(f"Model '{name}' is neither a folder nor a valid Hugging Face id.") from exc
        if not isinstance(found, str):
            raise ModelUnavailable(
                f"Model '{name}' is not a local folder nor in the Hugging Face cache, and offline mode is on."
            )
    return name


class LocalChatModel(BaseChatModel):
    """Chat with a local transformers model; generation runs on the shared torch worker thread.

    Per-call keyword arguments: ``max_new_tokens``, ``min_new_tokens``, ``temperature`` (0 is greedy),
    ``top_p``, ``repetition_penalty`` and ``cancel`` (a :class:`threading.Event` or a callable returning True).
    A cancelled run returns the text produced so far with ``response_metadata["finish_reason"] == "cancelled"``.
    Closing a stream early (``break``, a Streamlit rerun) cancels its generation too.
    """

    model_name: str
    backend: str = "transformers"
    source: str
    dtype: str = "bfloat16"
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    torch_threads: int = 0

    _loaded: LoadedModel | None = PrivateAttr(default=None)

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, **fields: Any) -> LocalChatModel:
        """A chat model over an already loaded model (``fields`` are the pydantic fields above)."""
        chat = cls(source=loaded.source, dtype=loaded.dtype, **fields)
        chat._loaded = loaded
        return chat

    @property
    def loaded(self) -> LoadedModel:
        """The underlying model and tokenizer (loaded from ``source`` if needed)."""
        if self._loaded is None:
            self._loaded = load_local_model(self.source, self.dtype, label=self.model_name)
        return self._loaded

    @property
    def _llm_type(self) -> str:
        return f"editorial-{self.backend}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "backend": self.backend, "source": self.source, "dtype": self.dtype}

    # -- token counting -------------------------------------------------------------------------------------------
    def encode_messages(self, messages: Sequence[BaseMessage]) -> tuple[Any, Any]:
        """The prompt as ``(input_ids, attention_mask)`` tensors, through the tokenizer's chat template."""
        tokenizer = self.loaded.tokenizer
        conversation = [{"role": _role(m), "content": m.text} for m in messages]
        opened = bool(conversation) and conversation[-1]["role"] == "assistant"  # continue the begun answer
        if getattr(tokenizer, "chat_template", None):
            encoded = tokenizer.apply_chat_template(
                conversation,
                add_generation_prompt=not opened,
                continue_final_message=opened,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
            )
        else:  # base models without a template: a plain transcript
            turns = conversation[:-1] if opened else conversation
            text = "".join(f"{turn['role']}: {turn['content']}\n" for turn in turns) + "assistant:"
            text += f" {conversation[-1]['content']}" if opened else ""
            encoded = tokenizer(text, return_tensors="pt")
        return encoded["input_ids"], encoded["attention_mask"]

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Sequence | None = None) -> int:
        """Prompt tokens after the chat template, counted with the model's tokenizer."""
        return int(self.encode_messages(messages)[0].shape[-1])

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text`` for the model's tokenizer (no special tokens)."""
        return len(self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

    # -- LangChain entry points ----------------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        run = _Run(self, messages, stop, kwargs, stream=False)
        try:
            ids = run.trim_to_stop(run.future.result())
        finally:
            run.cancel()
        text, reason = run.finish(ids)
        message = AIMessage(content=text, usage_metadata=run.usage(ids), response_metadata=run.metadata(reason))
        return ChatResult(
            generations=[ChatGeneration(message=message, generation_info={"finish_reason": reason})],
            llm_output={"model_name": self.model_name, "token_usage": dict(message.usage_metadata or {})},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        run = _Run(self, messages, stop, kwargs, stream=True)
        emitted, ids = 0, []
        try:
            while (item := run.events.get()) is not _DONE:
                ids.extend(item)
                text, stopped = run.visible_text(ids, final=False)
                if len(text) > emitted:
                    yield self._chunk(text[emitted:], run_manager)
                    emitted = len(text)
                if stopped:
                    run.cancel()  # the worker stops on its own at this token; this only makes sure
            ids = run.trim_to_stop(run.future.result())
            text, reason = run.finish(ids)
            if len(text) > emitted:
                yield self._chunk(text[emitted:], run_manager)
            last = AIMessageChunk(
                content="", usage_metadata=run.usage(ids), response_metadata=run.metadata(reason), chunk_position="last"
            )
            yield ChatGenerationChunk(message=last, generation_info={"finish_reason": reason})
        finally:
            run.cancel()  # the consumer went away (break, rerun, error): stop generating for nobody

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk


def _role(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return message.role
    return _ROLES.get(message.type, "user")


class _Run:
    """One generation: builds the job, submits it to the torch worker and turns token ids into text."""

    def __init__(
        self, chat: LocalChatModel, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: dict, stream: bool
    ) -> None:
        self.chat = chat
        self.loaded = chat.loaded
        self.stops = [s for s in (stop or []) if s]
        self.was_cancelled = False
        self._closed = threading.Event()
        user_cancel = kwargs.get("cancel")
        self._user_cancel: Callable[[], bool] = (
            user_cancel.is_set if isinstance(user_cancel, threading.Event) else user_cancel or (lambda: False)
        )
        self.input_ids, attention_mask = chat.encode_messages(messages)
        self.prompt_tokens = int(self.input_ids.shape[-1])
        self.max_new_tokens = int(kwargs.get("max_new_tokens") or chat.max_new_tokens)
        self.avoid_copying = [str(text) for text in kwargs.get("avoid_copying") or []]
        # the answer's beginning given in the prompt: copy blocking counts its words as already written
        self.opening = messages[-1].text if messages and _role(messages[-1]) == "assistant" else ""
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.engine_job: Any = None
        if self.loaded.engine is not None and self.cancelled():  # cancelled before it started: no tokens
            self.was_cancelled = True
            self.future = Future()
            self.future.set_result([])
        elif self.loaded.engine is not None:  # an ONNX runtime in its own process: it streams every run
            self.engine_job = self.loaded.engine.submit(
                self.input_ids[0].tolist(), self._engine_options(kwargs), self.events, self.cancelled
            )
            self.future = self.engine_job.future
        else:
            config = self._generation_config(kwargs)
            job = self._job(config, attention_mask, stream)
            self.future = get_worker().submit(job, threads=chat.torch_threads)
        self.future.add_done_callback(lambda _: self.events.put(_DONE))

    def cancelled(self) -> bool:
        """True once the caller cancelled, the consumer went away or the runtime process produced a stop string."""
        return self._closed.is_set() or bool(self._user_cancel()) or self._engine_stop_reached()

    def _engine_stop_reached(self) -> bool:
        """True once the ids streamed back by the runtime process end in a stop string (it cannot decode text)."""
        job = self.engine_job
        if job is None or not self.stops or not job.ids:
            return False
        window = max(len(s) for s in self.stops) + 2
        tail = self.loaded.tokenizer.decode(job.ids[-window:], skip_special_tokens=True)
        return any(s in tail for s in self.stops)

    def trim_to_stop(self, ids: list[int]) -> list[int]:
        """The runtime process's ids up to the token that completes a stop string (it may have run a few past it).

        The transformers path stops at that token itself; this gives the ONNX path the same text and token count.
        """
        if self.engine_job is None or not self.stops:
            return ids

        def has_stop(n: int) -> bool:
            text = self.loaded.tokenizer.decode(ids[:n], skip_special_tokens=True)
            return any(s in text for s in self.stops)

        if not has_stop(len(ids)):
            return ids
        low, high = 1, len(ids)  # the shortest prefix holding a stop string (a longer prefix keeps holding it)
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if has_stop(middle) else (middle + 1, high)
        return ids[:low]

    def cancel(self) -> None:
        """Stop the generation at the next token (no-op once it has finished)."""
        self._closed.set()

    def _engine_options(self, kwargs: dict) -> dict[str, Any]:
        chat = self.chat
        temperature = float(kwargs.get("temperature", chat.temperature) or 0.0)
        return {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": int(kwargs.get("min_new_tokens") or 0),
            "temperature": temperature,
            "top_p": float(kwargs.get("top_p", chat.top_p)),
            "repetition_penalty": float(kwargs.get("repetition_penalty", chat.repetition_penalty)),
            "avoid_copying": self.avoid_copying,
            "opening": self.opening,
        }

    def _generation_config(self, kwargs: dict) -> Any:
        model, tokenizer, chat = self.loaded.model, self.loaded.tokenizer, self.chat
        config = copy.deepcopy(model.generation_config)
        temperature = float(kwargs.get("temperature", chat.temperature) or 0.0)
        sample = temperature > 0
        config.update(
            max_new_tokens=self.max_new_tokens,
            min_new_tokens=kwargs.get("min_new_tokens"),
            do_sample=sample,
            temperature=temperature if sample else None,
            top_p=float(kwargs.get("top_p", chat.top_p)) if sample else None,
            top_k=None,
            repetition_penalty=float(kwargs.get("repetition_penalty", chat.repetition_penalty)),
        )
        if config.pad_token_id is None:
            config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.eos_token_id
        return config

    def _job(self, config: Any, attention_mask: Any, stream: bool) -> Callable[[], list[int]]:
        model, input_ids = self.loaded.model, self.input_ids
        criteria = self._stopping_criteria()
        streamer = _QueueStreamer(self.events) if stream else None

        def job() -> list[int]:
            import torch

            if self.cancelled():
                self.was_cancelled = True
                return []
            with torch.inference_mode():
                output = model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    generation_config=config,
                    stopping_criteria=criteria,
                    streamer=streamer,
                    logits_processor=self._copy_blocking(),
                )
            return output[0, input_ids.shape[-1] :].tolist()

        return job

    def _copy_blocking(self) -> Any:
        """A logits processor banning 8-word copies of ``avoid_copying`` (None when there is nothing to avoid)."""
        from transformers import LogitsProcessor, LogitsProcessorList

        from editorial.llm.copy_guard import CopyGuard

        guard = CopyGuard(self.avoid_copying, self.loaded.word_starts()) if self.avoid_copying else None
        if not guard:
            return None
        tokenizer, prompt_tokens, opening = self.loaded.tokenizer, self.prompt_tokens, self.opening

        class _Guard(LogitsProcessor):
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                produced = tokenizer.decode(input_ids[0, prompt_tokens:], skip_special_tokens=True)
                banned = guard.banned(opening + produced)
                if banned:
                    scores[:, banned] = -float("inf")
                return scores

        return LogitsProcessorList([_Guard()])

    def _stopping_criteria(self) -> Any:
        from transformers import StoppingCriteria, StoppingCriteriaList

        run, tokenizer, prompt_tokens = self, self.loaded.tokenizer, self.prompt_tokens
        window = max((len(s) for s in self.stops), default=0) + 2

        class _Criteria(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                done = run.was_cancelled = run.cancelled()
                if not done and run.stops:
                    tail = tokenizer.decode(input_ids[0, prompt_tokens:][-window:], skip_special_tokens=True)
                    done = any(s in tail for s in run.stops)
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

        return StoppingCriteriaList([_Criteria()])

    # -- turning ids into text -------------------------------------------------------------------------------------
    def visible_text(self, ids: list[int], *, final: bool) -> tuple[str, bool]:
        """Decoded text up to the first stop string; while streaming, hold back a possible stop-string prefix."""
        text = self.loaded.tokenizer.decode(ids, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            return text[:cut], True
        if final:
            return text, False
        if text.endswith("\ufffd"):  # an incomplete UTF-8 character: wait for the next token
            text = text.rstrip("\ufffd")
        return text[: len(text) - _partial_stop_length(text, self.stops)], False

    def finish(self, ids: list[int]) -> tuple[str, str]:
        """The final text and finish reason: ``stop``, ``length`` or ``cancelled``."""
        text, stopped = self.visible_text(ids, final=True)
        end_ids = _end_token_ids(self.loaded)
        if stopped or (ids and ids[-1] in end_ids):
            reason = "stop"
        elif len(ids) >= self.max_new_tokens:
            reason = "length"
        elif self.was_cancelled or getattr(self.engine_job, "was_cancelled", False):
            reason = "cancelled"
        else:
            reason = "stop"  # a custom stopping criterion of the model
        return text, reason

    def usage(self, ids: list[int]) -> UsageMetadata:
        """Prompt and completion tokens counted with the model's tokenizer (a trailing end token not counted)."""
        end_ids = _end_token_ids(self.loaded)
        output = len(ids) - (1 if ids and ids[-1] in end_ids else 0)
        usage = UsageMetadata(
            input_tokens=self.prompt_tokens, output_tokens=output, total_tokens=self.prompt_tokens + output
        )
        cached = getattr(self.engine_job, "cached", 0)
        if cached:  # prompt tokens served from the runtime's KV cache (a shared prefix with the previous call)
            usage["input_token_details"] = {"cache_read": cached}
        return usage

    def metadata(self, reason: str) -> dict[str, Any]:
        """``response_metadata`` of the answer."""
        return {"model_name": self.chat.model_name, "backend": self.chat.backend, "finish_reason": reason}


class _QueueStreamer:
    """A transformers streamer that forwards new token ids (not the prompt) to a queue, from the worker thread."""

    def __init__(self, events: queue.SimpleQueue) -> None:
        self.events = events
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.events.put(value.reshape(-1).tolist())

    def end(self) -> None:
        """Nothing to do: the job's future signals the end."""


def _partial_stop_length(text: str, stops: list[str]) -> int:
    """Length of the longest end of ``text`` that could be the start of a stop string."""
    best = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:size]):
                best = size
                break
    return best


def _end_token_ids(loaded: LoadedModel) -> set[int]:
    if loaded.model is None:
        return set(loaded.end_ids)
    ids = loaded.model.generation_config.eos_token_id
    ends = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ends.add(loaded.tokenizer.eos_token_id)
    return ends
