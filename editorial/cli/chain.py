"""``plan``, ``write`` and ``usage``: the writing chain and the token ledger from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from db.crud import plans as plan_crud
from db.crud import sources as source_crud
from db.models import RunKind, RunStatus
from db.session import session_scope
from editorial.chain.runner import ChainCallbacks, RunOutcome, RunRequest, run_chain
from editorial.chain.schemas import Blueprint, WrittenSection
from editorial.errors import EditorialError
from editorial.settings import get_settings
from editorial.text import read_time_minutes

BACKENDS = ("embedded", "transformers", "hf_endpoint", "openai")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plan``, ``write`` and ``usage`` commands."""
    plan = subparsers.add_parser("plan", help="research a topic in a collection and make a blueprint")
    _common(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON (a file for write --plan)")
    plan.set_defaults(handler=plan_command)

    write = subparsers.add_parser("write", help="plan (or take a plan) and write a draft")
    _common(write)
    write.add_argument("--plan", help="a JSON file from 'plan --json' (edited or not), or a plan id")
    write.add_argument("--stream", action="store_true", help="print the text as it is generated (to stderr)")
    write.add_argument("--json", action="store_true", help="print the outcome as JSON")
    write.set_defaults(handler=write_command)

    usage = subparsers.add_parser("usage", help="token usage from the ledger (all, a draft or a run)")
    usage.add_argument("--draft", type=int, help="only this draft's calls")
    usage.add_argument("--run", type=int, help="only this run's calls")
    usage.add_argument("--json", action="store_true", help="print JSON with every call")
    usage.set_defaults(handler=usage_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", required=True, help="collection name or id")
    parser.add_argument("--topic", help="what the post is about (taken from --plan when omitted)")
    parser.add_argument("--words", type=int, default=1500, help="target length in words (default 1500)")
    parser.add_argument("--audience", default="developers")
    parser.add_argument("--tone", default="practical")
    parser.add_argument("--question", action="append", default=[], help="a research question (repeatable)")
    parser.add_argument("--backend", choices=BACKENDS, help="model backend for both stages")
    parser.add_argument("--model", help="model id, folder or served name for --backend")
    parser.add_argument("--base-url", help="endpoint URL for hf_endpoint / openai")
    parser.add_argument("--planner-backend", choices=BACKENDS, help="backend for the plan stage only")
    parser.add_argument("--planner-model", help="model for --planner-backend")
    parser.add_argument("--planner-base-url", help="endpoint for --planner-backend")


class _Printer(ChainCallbacks):
    """Progress lines on stderr (and the streamed text with --stream)."""

    def __init__(self, stream: bool = False):
        self.stream = stream

    def on_stage_start(self, stage: str, detail: str = "") -> None:
        print(f"[{stage}] {detail}", file=sys.stderr, flush=True)

    def on_section_start(self, index: int, total: int, heading: str) -> None:
        print(f"  section {index + 1} of {total}: {heading}", file=sys.stderr, flush=True)

    def on_token(self, text: str) -> None:
        if self.stream:
            print(text, end="", file=sys.stderr, flush=True)

    def on_section_done(self, index: int, total: int, section: WrittenSection) -> None:
        suffix = "\n" if self.stream else ""
        print(f"{suffix}  done: {section.words} words (budget {section.budget})", file=sys.stderr, flush=True)


def _settings_for(args: argparse.Namespace):
    from editorial.chain.models import apply_overrides, load_overrides
    from editorial.datastore import open_database

    settings = get_settings()
    engine = open_database(settings)
    settings = apply_overrides(settings, load_overrides(engine))
    overrides: dict[str, dict[str, Any]] = {}
    if args.backend:
        choice = {"backend": args.backend, "model": args.model, "base_url": args.base_url}
        overrides = {"planner": choice, "writer": choice}
    if args.planner_backend:
        overrides["planner"] = {
            "backend": args.planner_backend,
            "model": args.planner_model,
            "base_url": args.planner_base_url,
        }
    return apply_overrides(settings, overrides), engine


def _collection(engine, value: str):
    with session_scope(engine) as session:
        found = None
        if value.isdigit():
            found = source_crud.get_collection(session=session, collection_id=int(value))
        found = found or source_crud.get_collection_by_name(session=session, name=value)
        if found is None:
            names = ", ".join(c.name for c in source_crud.list_collections(session=session)) or "none yet"
            raise EditorialError(f"No collection '{value}' (collections: {names}).")
        return found


def _services(settings, engine, collection):
    from editorial.chain.models import build_services, preflight
    from editorial.embeddings import build_embeddings

    preflight(settings)
    return build_services(settings, engine, chroma_name=collection.chroma_name, embeddings=build_embeddings(settings))


def _request(args: argparse.Namespace, kind: RunKind, collection_id: int, **extra: Any) -> RunRequest:
    if not (args.topic or extra.get("topic")):
        raise EditorialError("Give a --topic (or a --plan that has one).")
    fields = {
        "kind": kind,
        "topic": args.topic or "",
        "collection_id": collection_id,
        "audience": args.audience,
        "tone": args.tone,
        "target_words": args.words,
        "questions": list(args.question),
        **extra,
    }
    return RunRequest(**fields)


def _plan_json(engine, outcome: RunOutcome) -> dict[str, Any]:
    with session_scope(engine) as session:
        plan = plan_crud.get_plan(session=session, plan_id=outcome.plan_id) if outcome.plan_id else None
        if plan is None:
            return {"run_id": outcome.run_id, "status": outcome.status.value, "error": outcome.error}
        return {
            "plan_id": plan.id,
            "run_id": outcome.run_id,
            "topic": plan.topic,
            "audience": plan.audience,
            "tone": plan.tone,
            "target_words": plan.target_words,
            "is_fallback": plan.is_fallback,
            "questions": plan.questions,
            "evidence": plan.evidence,
            "blueprint": plan.blueprint,
            "notes": outcome.notes,
            "usage": outcome.usage.model_dump(),
        }


def plan_command(args: argparse.Namespace) -> int:
    """Research and plan; print the blueprint (or JSON)."""
    settings, engine = _settings_for(args)
    collection = _collection(engine, args.collection)
    services = _services(settings, engine, collection)
    outcome = run_chain(_request(args, RunKind.PLAN, collection.id), services, _Printer())
    if outcome.status != RunStatus.SUCCEEDED:
        raise EditorialError(outcome.error or f"The plan run ended {outcome.status.value}.")
    data = _plan_json(engine, outcome)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    blueprint = Blueprint.model_validate(data["blueprint"])
    label = " (FALLBACK outline from the research questions)" if data["is_fallback"] else ""
    print(f"plan {data['plan_id']}{label}: {blueprint.title}")
    print(f"  {blueprint.description}")
    minutes = read_time_minutes(blueprint.target_words)
    print(f"  tags: {', '.join(blueprint.tags)} · {blueprint.target_words} words, {minutes} min read")
    for number, section in enumerate(blueprint.sections, 1):
        cites = ", ".join(f"[{n}]" for n in section.evidence)
        print(f"  {number}. {section.heading} ({section.words} words) {cites}")
        for point in section.key_points:
            print(f"       - {point}")
    for note in data["notes"]:
        print(f"  note: {note}")
    print(f"usage: {outcome.usage.summary()}")
    return 0


def _plan_from_argument(engine, value: str, collection_id: int) -> tuple[int, str]:
    """A plan id from ``--plan`` (an id, or a JSON file whose blueprint replaces or creates the plan)."""
    if value.isdigit():
        with session_scope(engine) as session:
            plan = plan_crud.get_plan(session=session, plan_id=int(value))
            if plan is None:
                raise EditorialError(f"Plan {value} does not exist.")
            return plan.id, plan.topic
    path = Path(value)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        blueprint = Blueprint.model_validate(data["blueprint"])
    except OSError as exc:
        raise EditorialError(f"Cannot read the plan file {path}: {exc.strerror or exc}.") from exc
    except (ValueError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0][:160]
        raise EditorialError(f"The plan file {path} is not a plan from 'plan --json': {first}") from exc
    with session_scope(engine) as session:
        existing = plan_crud.get_plan(session=session, plan_id=data["plan_id"]) if data.get("plan_id") else None
        if existing is not None:
            plan_crud.update_plan(
                session=session,
                plan_id=existing.id,
                blueprint=blueprint.model_dump(mode="json"),
                target_words=blueprint.target_words,
            )
            return existing.id, existing.topic
        plan = plan_crud.create_plan(
            session=session,
            topic=data.get("topic", ""),
            collection_id=collection_id,
            audience=data.get("audience", ""),
            tone=data.get("tone", ""),
            target_words=blueprint.target_words,
            questions=data.get("questions", []),
            evidence=data.get("evidence", []),
            blueprint=blueprint.model_dump(mode="json"),
            is_fallback=bool(data.get("is_fallback", False)),
        )
        return plan.id, plan.topic


def write_command(args: argparse.Namespace) -> int:
    """Plan and write (or write a given plan); print the draft id and the usage summary."""
    settings, engine = _settings_for(args)
    collection = _collection(engine, args.collection)
    services = _services(settings, engine, collection)
    if args.plan:
        plan_id, topic = _plan_from_argument(engine, args.plan, collection.id)
        request = _request(args, RunKind.WRITE, collection.id, plan_id=plan_id, topic=args.topic or topic)
    else:
        request = _request(args, RunKind.PLAN_AND_WRITE, collection.id)
    outcome = run_chain(request, services, _Printer(stream=args.stream))
    if args.json:
        print(json.dumps(outcome.model_dump(mode="json"), indent=2))
        return 0 if outcome.status == RunStatus.SUCCEEDED else 1
    if outcome.status != RunStatus.SUCCEEDED:
        print(f"run {outcome.run_id} {outcome.status.value}: {outcome.error}", file=sys.stderr)
        print(f"usage: {outcome.usage.summary()}")
        return 1
    print(f"draft {outcome.draft_id} (run {outcome.run_id}, plan {outcome.plan_id})")
    print(f"usage: {outcome.usage.summary()}")
    return 0


def usage_command(args: argparse.Namespace) -> int:
    """Print totals (UsageMetrics shape), per stage and model, and tokens per published word."""
    from editorial.datastore import open_database
    from editorial.usage import metrics_of, tokens_per_word, usage_rows

    engine = open_database(get_settings())
    rows = usage_rows(engine, draft_id=args.draft, run_id=args.run)
    metrics = metrics_of(rows)
    per_word = tokens_per_word(engine, rows)
    if args.json:
        calls = [{**row, "created_at": row["created_at"].isoformat()} for row in rows]
        out = {"usage": metrics.model_dump(), "drafts": per_word, "calls": calls}
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"usage: {metrics.summary()}")
    groups: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        item = groups.setdefault((row["stage_group"], row["model"]), [0, 0])
        item[0] += 1
        item[1] += row["total_tokens"]
    for (stage, model), (count, tokens) in sorted(groups.items()):
        print(f"  {stage:<10} {model:<40} {count:>4} calls {tokens:>9,} tokens")
    for draft_id, figures in sorted(per_word.items()):
        ratio = figures["tokens_per_word"]
        print(
            f"  draft {draft_id}: {figures['tokens']:,} tokens, {figures['words']:,} words"
            + (f", {ratio} tokens per published word" if ratio is not None else "")
        )
    return 0
