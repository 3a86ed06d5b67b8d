"""Turn command-line paths (files and folders) into ingest items."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from editorial.ingest.detect import KIND_BY_SUFFIX
from editorial.ingest.pipeline import IngestItem


@dataclass
class CollectedPaths:
    """Items to ingest, plus what was left out and why."""

    items: list[IngestItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def collect_paths(paths: list[str | Path]) -> CollectedPaths:
    """Files are taken as given (named by their file name); folders are walked (named by their path inside).

    Inside folders, hidden entries and files of unsupported types are ignored (and listed); a file named
    explicitly is always tried, so an unsupported type gets its message.
    """
    collected = CollectedPaths()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            collected.items.append(IngestItem(path.name, path=path))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = file.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if file.suffix.lower() not in KIND_BY_SUFFIX:
                    collected.ignored.append(relative.as_posix())
                    continue
                collected.items.append(IngestItem(relative.as_posix(), path=file))
        else:
            collected.missing.append(str(raw))
    return collected
