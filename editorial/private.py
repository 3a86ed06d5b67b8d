"""Files only the app's own account can read: folders 0700, files 0600 (database, originals, secrets, logs)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing, and make it 0600 (its folder 0700).

    An existing file is never opened: closing any descriptor of a file drops every POSIX lock the process holds
    on it, and for an open SQLite database that lets another process delete the WAL under live connections.
    """
    private_dir(path.parent)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process: leave it alone
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically (temp file, then rename) as a 0600 file in a 0700 folder."""
    private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
