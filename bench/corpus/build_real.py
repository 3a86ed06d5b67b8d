"""Build corpora of real documents nobody on the project wrote: the READMEs shipped inside installed packages.

Every wheel carries its project's long description (usually the README) in ``*.dist-info/METADATA``. This script
copies those descriptions, one Markdown file per package, into two corpora:

- ``ml``: model and retrieval libraries (transformers, sentence-transformers, huggingface_hub, tokenizers,
  accelerate, safetensors, torch, langchain, langchain-core, langchain-huggingface, chromadb);
- ``apps``: application libraries (streamlit, sqlalchemy, sqlmodel, alembic, pandas, rich, typer, httpx,
  starlette, requests, pydantic).

The output is reproducible for a given environment (``MANIFEST.txt`` lists package versions and sizes) and goes
to a temporary or data folder: nothing large is committed.

Usage: ``python bench/corpus/build_real.py [OUT_DIR]`` (default: ``$TMPDIR/editorial-real-corpora``).
"""

from __future__ import annotations

import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

CORPORA: dict[str, list[str]] = {
    "ml": [
        "transformers",
        "sentence-transformers",
        "huggingface_hub",
        "tokenizers",
        "accelerate",
        "safetensors",
        "torch",
        "langchain",
        "langchain-core",
        "langchain-huggingface",
        "chromadb",
    ],
    "apps": [
        "streamlit",
        "sqlalchemy",
        "sqlmodel",
        "alembic",
        "pandas",
        "rich",
        "typer",
        "httpx",
        "starlette",
        "requests",
        "pydantic",
    ],
}
MAX_CHARS = 30_000
"""Long descriptions that embed a whole changelog (pydantic) are cut at a heading before this size."""


def description(package: str) -> tuple[str, str] | None:
    """(version, Markdown long description) of an installed package, or None when it has none."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    text = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
    text = text.replace("\r\n", "\n").strip()
    if len(text) < 500:
        return None
    if len(text) > MAX_CHARS:
        cut = [m.start() for m in re.finditer(r"(?m)^#{1,3} ", text) if m.start() <= MAX_CHARS]
        text = text[: cut[-1] if cut and cut[-1] > MAX_CHARS // 2 else MAX_CHARS]
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"<[^>\n]{0,400}>", " ", text)  # badges and HTML wrappers carry no prose
    text = re.sub(r"\n{3,}", "\n\n", text)
    return dist.version, text.strip() + "\n"


def build(out: Path) -> dict[str, list[Path]]:
    """Write every corpus under ``out/<corpus>/<package>.md``; return the files per corpus."""
    built: dict[str, list[Path]] = {}
    manifest: list[str] = []
    for corpus, packages in CORPORA.items():
        folder = out / corpus
        folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for package in packages:
            found = description(package)
            if found is None:
                manifest.append(f"{corpus}\t{package}\tmissing")
                continue
            version, text = found
            path = folder / f"{package}.md"
            path.write_text(text, encoding="utf-8")
            files.append(path)
            manifest.append(f"{corpus}\t{package}\t{version}\t{len(text)} chars")
        built[corpus] = files
    (out / "MANIFEST.txt").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return built


def main() -> None:
    """Build the corpora and print where they are."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "editorial-real-corpora"
    built = build(out)
    for corpus, files in built.items():
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
        print(f"{corpus}: {len(files)} documents, {words:,} words in {out / corpus}")


if __name__ == "__main__":
    main()
