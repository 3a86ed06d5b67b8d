"""Session-state keys in one place."""

from __future__ import annotations


class Keys:
    """Names of ``st.session_state`` entries shared between pages."""

    USER_ID = "user_id"
    SESSION_ID = "login_session_id"
    """The login session this tab belongs to (its cookie holds the same id, signed)."""
    SESSION_NOTICE = "login_session_notice"
    CLAIM_TICKET = "login_claim_ticket"
    FORGET_COOKIE = "login_forget_cookie"
    USERNAME = "username"
    ROLE = "role"
    COLLECTION_ID = "collection_id"
    DRAFT_ID = "draft_id"
    PLAN_ID = "plan_id"
    RUN_ID = "run_id"
    INGEST_JOB = "ingest_job"
    INGEST_REPORT = "ingest_report"
    PLAN_EDIT = "plan_edit"
    """The Plan & Write page's working copy of the blueprint being edited."""
