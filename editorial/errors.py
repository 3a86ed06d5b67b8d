"""Errors whose message is meant for the user: one line, no stack trace."""


class EditorialError(Exception):
    """Base class: ``str(error)`` is a complete, human-readable sentence."""


class ModelUnavailable(EditorialError):
    """A configured model cannot be found or loaded (offline, wrong name, bad folder)."""


class BackendUnreachable(EditorialError):
    """A remote model endpoint does not answer or refuses the key."""


class ChromaUnavailable(EditorialError):
    """The Chroma folder or server cannot be used."""


class DataFolderError(EditorialError):
    """The data folder cannot be created or written."""


class DatabaseError(EditorialError):
    """The database cannot be opened or migrated."""
