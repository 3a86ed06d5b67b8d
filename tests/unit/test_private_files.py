"""Private files: creating them never disturbs a SQLite database this process has open."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from editorial.private import FILE_MODE, private_file


def test_a_new_private_file_is_0600(tmp_path: Path):
    path = private_file(tmp_path / "folder" / "editorial.db")
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == FILE_MODE


def test_private_file_on_an_open_wal_database_keeps_its_locks(tmp_path: Path):
    """Closing any descriptor of a file drops every POSIX lock this process holds on it (SQLite's "how to corrupt",
    2.2). Then another process closing its connection thinks it is the last one, checkpoints and deletes the WAL
    under our open connection: our next writes go to a deleted file and readers get "disk I/O error"."""
    database = private_file(tmp_path / "editorial.db")
    mine = sqlite3.connect(database, isolation_level=None)
    mine.execute("PRAGMA journal_mode=WAL")
    mine.execute("CREATE TABLE note (text TEXT)")
    mine.execute("INSERT INTO note VALUES ('before')")

    private_file(database)  # what every open_database() call does (the cookie routes call it per request)

    other = (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('SELECT count(*) FROM note'); db.close()"
    )
    subprocess.run([sys.executable, "-c", other, str(database)], check=True, timeout=60)
    assert Path(f"{database}-wal").exists(), "another process deleted the WAL of a database we hold open"
    mine.execute("INSERT INTO note VALUES ('after')")
    reader = sqlite3.connect(database)
    assert reader.execute("SELECT text FROM note ORDER BY rowid").fetchall() == [("before",), ("after",)]
    reader.close()
    mine.close()
