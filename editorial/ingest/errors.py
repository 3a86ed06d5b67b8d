"""Errors of ingestion; each message is one sentence a user can act on."""

from __future__ import annotations

from editorial.errors import EditorialError


class SourceRejected(EditorialError):
    """A file cannot be ingested (empty, unsupported, unreadable ...); nothing was written for it."""


class SourceBusy(EditorialError):
    """A source (or its collection) is being ingested right now."""


class SourceNotFound(EditorialError):
    """No source with that id or name exists."""
