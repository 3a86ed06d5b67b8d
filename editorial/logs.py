"""Standard-library logging for the app and the CLI: a rotating file under the data folder, plus stderr.

People get one clear line on the page or the terminal; the log file keeps the traceback. Background
work (ingest jobs, writing runs, heartbeats) logs its failures with :func:`logging.Logger.exception`.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path

from editorial.settings import Settings

LOG_NAME = Path("logs") / "editorial.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

_lock = threading.Lock()
_file_handler: logging.handlers.RotatingFileHandler | None = None
_stderr_handler: logging.Handler | None = None

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def log_path(settings: Settings) -> Path:
    """Where the log file is written: ``<data folder>/logs/editorial.log``."""
    return settings.resolved_data_dir / LOG_NAME


def safe_text(text: object, limit: int = 300) -> str:
    """``text`` fit for one terminal or log line: control and bidi characters shown as escapes."""
    shown = _UNSAFE.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), str(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def configure_logging(settings: Settings, *, stderr: bool = True) -> Path | None:
    """Send the ``editorial`` and ``db`` loggers to the rotating log file (and stderr); idempotent.

    The log folder is created 0700 and the file 0600. Returns the log file's path, or None when the data
    folder cannot be written (logging then goes to stderr only).
    """
    global _file_handler, _stderr_handler
    path = log_path(settings)
    with _lock:
        loggers = [logging.getLogger("editorial"), logging.getLogger("db")]
        for logger in loggers:
            logger.setLevel(logging.INFO)
        if stderr and _stderr_handler is None:
            _stderr_handler = logging.StreamHandler(sys.stderr)
            _stderr_handler.setLevel(logging.WARNING)
            _stderr_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            for logger in loggers:
                logger.addHandler(_stderr_handler)
        if _file_handler is not None and Path(_file_handler.baseFilename) == path:
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(path.parent, 0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(descriptor)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
        except OSError:
            return None
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.setLevel(logging.INFO)
        for logger in loggers:
            if _file_handler is not None:
                logger.removeHandler(_file_handler)
            logger.addHandler(handler)
        if _file_handler is not None:
            _file_handler.close()
        _file_handler = handler
        return path
