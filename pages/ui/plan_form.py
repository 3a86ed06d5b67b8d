"""Plan & Write's widget state for one plan: the working copy, reading the widgets back, moving sections."""

from __future__ import annotations

import uuid

import streamlit as st
from sqlalchemy import Engine

from db.crud import plans as plan_crud
from db.models import PlanStatus
from db.session import session_scope
from editorial.chain.plan import rescale_budgets
from editorial.chain.schemas import Blueprint, Section
from pages.ui.state import Keys

KINDS = ["intro", "body", "conclusion"]


def working_copy() -> dict | None:
    """The plan being edited in this session, if any."""
    return st.session_state.get(Keys.PLAN_EDIT)


def load_working_copy(engine: Engine, plan_id: int) -> dict | None:
    """Load a stored plan into the session's working copy (None when it does not exist)."""
    with session_scope(engine) as session:
        plan = plan_crud.get_plan(session=session, plan_id=plan_id)
        if plan is None:
            return None
        blueprint = dict(plan.blueprint)
        work = {
            "plan_id": plan.id,
            "collection_id": plan.collection_id,
            "topic": plan.topic,
            "audience": plan.audience,
            "tone": plan.tone,
            "questions": list(plan.questions),
            "evidence": list(plan.evidence),
            "is_fallback": plan.is_fallback,
            "status": plan.status,
            "blueprint": blueprint,
            "uids": [uuid.uuid4().hex[:8] for _ in blueprint.get("sections", [])],
        }
    st.session_state[Keys.PLAN_EDIT] = work
    return work


def section_values(work: dict) -> list[dict]:
    """The sections as currently typed into the widgets."""
    out = []
    for uid, section in zip(work["uids"], work["blueprint"]["sections"], strict=True):
        points = st.session_state.get(f"pw_points_{uid}", "\n".join(section.get("key_points", [])))
        evidence = st.session_state.get(f"pw_evidence_{uid}", section.get("evidence", []))
        out.append(
            {
                "heading": st.session_state.get(f"pw_heading_{uid}", section["heading"]),
                "key_points": [p.strip() for p in points.splitlines() if p.strip()],
                "evidence": list(evidence),
                "words": int(st.session_state.get(f"pw_words_{uid}", section["words"])),
                "kind": st.session_state.get(f"pw_kind_{uid}", section.get("kind", "body")),
            }
        )
    return out


def collect(work: dict) -> Blueprint:
    """A Blueprint from the widgets (raises ValueError with the reason when it is not valid)."""
    blueprint = dict(work["blueprint"])
    titles = st.session_state.get("pw_titles", "\n".join(blueprint["title_candidates"]))
    blueprint.update(
        title_candidates=[t for t in titles.splitlines() if t.strip()],
        description=st.session_state.get("pw_description", blueprint.get("description", "")),
        tags=st.session_state.get("pw_tags", ", ".join(blueprint.get("tags", []))),
        angle=st.session_state.get("pw_angle", blueprint.get("angle", "")),
        value=st.session_state.get("pw_value", blueprint.get("value", "")),
        conclusion=st.session_state.get("pw_conclusion", blueprint.get("conclusion", "")),
        takeaways=[
            t.strip()
            for t in st.session_state.get("pw_takeaways", "\n".join(blueprint.get("takeaways", []))).splitlines()
            if t.strip()
        ],
        target_words=int(st.session_state.get("pw_target", blueprint.get("target_words", 1500))),
        sections=section_values(work),
    )
    return Blueprint.model_validate(blueprint)


def sync(work: dict) -> None:
    """Copy the widgets into the working copy (before sections move)."""
    work["blueprint"]["sections"] = section_values(work)


def move(index: int, step: int) -> None:
    """Swap section ``index`` with its neighbour ``step`` away (a button callback)."""
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    sections, uids = work["blueprint"]["sections"], work["uids"]
    other = index + step
    if 0 <= other < len(sections):
        sections[index], sections[other] = sections[other], sections[index]
        uids[index], uids[other] = uids[other], uids[index]


def remove(index: int) -> None:
    """Drop section ``index`` (a button callback)."""
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    del work["blueprint"]["sections"][index]
    del work["uids"][index]


def add_section() -> None:
    """Insert a new body section before the conclusion (a button callback)."""
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    sections = work["blueprint"]["sections"]
    position = max(0, len(sections) - 1)
    sections.insert(
        position,
        {"heading": f"New section {len(sections) + 1}", "key_points": [], "words": 200, "evidence": [], "kind": "body"},
    )
    work["uids"].insert(position, uuid.uuid4().hex[:8])


def rescale() -> None:
    """Fit the section budgets to the target length (a button callback)."""
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    target = int(st.session_state.get("pw_target", work["blueprint"].get("target_words", 1500)))
    sections = [Section.model_validate(s) for s in work["blueprint"]["sections"]]
    rescaled = rescale_budgets(sections, target)
    work["blueprint"]["sections"] = [s.model_dump() for s in rescaled]
    for uid, section in zip(work["uids"], rescaled, strict=True):
        st.session_state[f"pw_words_{uid}"] = section.words


def save_plan(engine: Engine, work: dict, approve: bool = False) -> Blueprint | None:
    """Store the typed plan (approved when asked); None with a one-line error when it is not valid."""
    try:
        blueprint = collect(work)
    except ValueError as exc:
        first = str(exc).splitlines()
        st.error(f"The plan is not valid: {first[-1] if first else exc}", icon=":material/error:")
        return None
    with session_scope(engine) as session:
        plan_crud.update_plan(
            session=session,
            plan_id=work["plan_id"],
            blueprint=blueprint.model_dump(mode="json"),
            target_words=blueprint.target_words,
            status=PlanStatus.APPROVED if approve else None,
        )
    work["blueprint"] = blueprint.model_dump(mode="json")
    return blueprint
