"""One model call of the chain: ledger stage, token limit, streaming with cancel between tokens."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from editorial.errors import EditorialError
from editorial.usage import CallContext, LedgerHandler


class Cancelled(EditorialError):
    """The editor cancelled the run; finished sections are kept and the run can resume."""


class ModelCallFailed(EditorialError):
    """A model call failed (the message names the stage and the reason)."""


@dataclass
class ChatTarget:
    """A chat model with what the ledger and the stages need to know about it."""

    model: BaseChatModel
    backend: str = "embedded"
    name: str = "model"
    structured_output: bool = False
    """True when the backend has native structured output (OpenAI-compatible servers, HF endpoints)."""


@dataclass
class CallSite:
    """Where calls go: the ledger handler (if any) and the cancel event checked between tokens."""

    ledger: LedgerHandler | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise :class:`Cancelled` when the editor asked to stop."""
        if self.cancel.is_set():
            raise Cancelled("The run was cancelled; finished sections are kept and it can resume.")

    def config(self, target: ChatTarget, stage: str) -> dict[str, Any]:
        """The runnable config for one call: ledger callback with its stage, backend and model."""
        if self.ledger is None:
            return {"run_name": stage}
        context: CallContext = self.ledger.context
        context.stage = stage
        context.backend = target.backend
        context.model = target.name
        return {"callbacks": [self.ledger], "run_name": stage}


def messages_for(
    system: str | None, user: str, examples: list[tuple[str, str]] | None = None, opening: str = ""
) -> list[BaseMessage]:
    """A chat prompt: optional system line, few-shot example turns, then the request.

    ``opening`` begins the answer for the model to continue (a final assistant message; see
    :func:`continues_answers`).
    """
    from langchain_core.messages import AIMessage

    out: list[BaseMessage] = [SystemMessage(system)] if system else []
    for example_user, example_answer in examples or []:
        out += [HumanMessage(example_user), AIMessage(example_answer)]
    out.append(HumanMessage(user))
    if opening:
        out.append(AIMessage(opening))
    return out


def opening_of(messages: list[BaseMessage]) -> str:
    """The answer's beginning a prompt of :func:`messages_for` gives the model ("" when it gives none)."""
    return messages[-1].text if messages and messages[-1].type == "ai" else ""


def limit_kwargs(model: BaseChatModel, max_tokens: int, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Per-call keywords that cap new tokens (and pass the cancel event) for this kind of chat model."""
    kind = type(model).__name__
    if kind == "LocalChatModel":  # editorial.llm's local models: cancel within one token
        return {"max_new_tokens": max_tokens, **({"cancel": cancel} if cancel is not None else {})}
    if kind == "ChatHuggingFace":
        llm = getattr(model, "llm", None)
        if type(llm).__name__ == "HuggingFacePipeline":
            return {"max_new_tokens": max_tokens}
        return {"max_tokens": max_tokens}
    if kind in ("ChatOpenAI", "AzureChatOpenAI"):
        return {"max_tokens": max_tokens}
    return {}


FACT_EDIT_REPETITION_PENALTY = 1.0
"""A fact edit must reuse its fact's words. Local runtimes apply the repetition penalty to every token already in
the sequence, prompt included, so the default 1.1 pushed the model off the fact's own words into inventions:
on 40 sampled real facts the embedded model's first answer passed verification 2 times with 1.1 and 10 times
with 1.0. Loops are stopped by the loop guard and copies by copy blocking instead."""


def _is_local(model: BaseChatModel) -> bool:
    return type(model).__name__ == "LocalChatModel"  # editorial.llm's local models (embedded or transformers)


def continues_answers(model: BaseChatModel) -> bool:
    """True for models that continue an answer the prompt has begun (a final assistant message): local ones.

    OpenAI-compatible servers differ on a final assistant message (some continue it, most answer after it), so
    remote models are never given one.
    """
    return _is_local(model)


def fact_edit_kwargs(model: BaseChatModel, texts: list[str]) -> dict[str, Any]:
    """Per-call keywords for rewording a fact, for models that take them (local ones).

    Copy blocking (no 8-word run of ``texts``) and no repetition penalty. Remote servers take no per-token
    constraint of this kind; their copies are caught by the verifier instead.
    """
    if not _is_local(model):
        return {}
    return {"repetition_penalty": FACT_EDIT_REPETITION_PENALTY, **({"avoid_copying": texts} if texts else {})}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


@dataclass
class Reply:
    """A model's answer and whether it was cut by the token limit."""

    text: str
    truncated: bool = False


def invoke_reply(
    target: ChatTarget, messages: list[BaseMessage], *, stage: str, site: CallSite, max_tokens: int
) -> Reply:
    """Call the model once (no streaming); say whether the answer hit the token limit."""
    site.check()
    try:
        reply = target.model.invoke(
            messages, config=site.config(target, stage), **limit_kwargs(target.model, max_tokens, site.cancel)
        )
    except EditorialError:
        raise
    except Exception as exc:
        raise ModelCallFailed(f"The {stage} call to {target.name} failed: {_first_line(exc)}") from exc
    site.check()
    metadata = getattr(reply, "response_metadata", None) or {}
    reason = metadata.get("finish_reason") or metadata.get("stop_reason") or ""
    return Reply(_content(reply), truncated=reason in ("length", "max_tokens"))


def invoke_text(target: ChatTarget, messages: list[BaseMessage], *, stage: str, site: CallSite, max_tokens: int) -> str:
    """Call the model once and return its text (no streaming)."""
    return invoke_reply(target, messages, stage=stage, site=site, max_tokens=max_tokens).text


def stream_text(
    target: ChatTarget,
    messages: list[BaseMessage],
    *,
    stage: str,
    site: CallSite,
    max_tokens: int,
    on_token: Callable[[str], None],
    should_stop: Callable[[str], bool] | None = None,
    **generation: Any,
) -> str:
    """Stream the model's answer to ``on_token``; stop (raising :class:`Cancelled`) when cancel is set.

    ``should_stop`` sees each streamed piece and ends the generation early (no error) when it returns True, e.g. a
    loop guard. ``generation`` holds extra per-call keywords for the model (e.g. ``min_new_tokens`` in benchmarks).
    """
    site.check()
    parts: list[str] = []
    stream = None
    stopped = False
    try:
        stream = target.model.stream(
            messages,
            config=site.config(target, stage),
            **limit_kwargs(target.model, max_tokens, site.cancel),
            **generation,
        )
        for chunk in stream:
            text = _content(chunk)
            if text:
                parts.append(text)
                on_token(text)
                if should_stop is not None and should_stop(text):
                    stopped = True
                    break
            if site.cancel.is_set():
                break
    except EditorialError:
        raise
    except Exception as exc:
        raise ModelCallFailed(f"The {stage} call to {target.name} failed: {_first_line(exc)}") from exc
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            if stopped and site.ledger is not None:
                site.ledger.expect_early_close()  # our guard ended it: a finished call, not a cancelled one
            close()
    site.check()
    return "".join(parts)


def _content(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
    return str(content or "")
