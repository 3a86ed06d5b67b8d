"""Build corpora of real documents nobody on the project wrote: the documentation shipped inside installed packages.

Every wheel carries its project's long description (usually the README) in ``*.dist-info/METADATA``. This script
copies those descriptions, one Markdown file per package, into two corpora. With ``guides=True`` (the grounding
benchmark) each package also gets an API guide: the prose of its public docstrings (modules, classes, functions;
read with :mod:`ast`, nothing is imported), the richest first, without parameter lists, examples or code.
A README alone holds 100–1,500 words of prose sentences, too little for a 300-word post that may not copy; the
guides give the writer what a real documentation site would.

- ``ml``: model and retrieval libraries (transformers, sentence-transformers, huggingface_hub, tokenizers,
  accelerate, safetensors, torch, langchain, langchain-core, langchain-huggingface, chromadb);
- ``apps``: application libraries (streamlit, sqlalchemy, sqlmodel, alembic, pandas, rich, typer, httpx,
  starlette, requests, pydantic).

The output is reproducible for a given environment (``MANIFEST.txt`` lists package versions and sizes) and goes
to a temporary or data folder: nothing large is committed.

Usage: ``python bench/corpus/build_real.py [--guides] [OUT_DIR]`` (default: ``$TMPDIR/editorial-real-corpora``).
"""

from __future__ import annotations

import ast
import inspect
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


GUIDE_CHARS = 40_000
"""An API guide stops at about this size (transformers alone has 2,800 modules)."""
ENTRY_WORDS = 250
"""Docstrings are ranked by prose words up to this many (a giant one does not outrank every rich one)."""
ENTRY_PARAGRAPHS = 5
_SKIP_PATH = re.compile(
    r"(?:^|/)(?:tests?|testing|_vendor|vendored|benchmarks?|examples?|migrations|\.agents)(?:/|$)|/test_"
)
_SECTION = re.compile(
    r"^\s*(?:Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Example usage|Usage|Attributes|"
    r"See Also|Warns|Keyword Arguments|Kwargs|Inputs|Outputs|Shape|Type|Todo)\s*:?\s*$"
    r"|^\s*(?:-{3,}|={3,}|\.\. |>>>|:param|:return|:raises|```)",
)


_ROLE = re.compile(r":(?:class|func|meth|attr|obj|mod|data|ref|exc|doc|paramref):`~?([^`<]+?)(?:\s*<[^>]*>)?`")
"""A reStructuredText role (:class:`~pkg.Name`): its text stays."""
_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _prose(docstring: str) -> list[str]:
    """The prose paragraphs of a docstring before its first section (parameters, examples, directives)."""
    lines: list[str] = []
    for line in inspect.cleandoc(docstring).splitlines():
        if _SECTION.match(line):
            break
        lines.append(line)
    paragraphs = []
    for block in re.split(r"\n\s*\n", "\n".join(lines)):
        if re.match(r"^\s{2,}\S", block) or re.search(r"^\s*[-*]\s", block, re.MULTILINE):
            continue  # indented code or a bullet list (usually parameters)
        text = " ".join(block.split())
        text = re.sub(_ROLE, r"\1", text)
        text = re.sub(r"``([^`]+)``", r"`\1`", text)
        text = re.sub(r"\[\[([^\]]+)\]\]|\[`?([^\]`]+)`?\]\([^)]*\)", lambda m: m.group(1) or m.group(2), text)
        if re.match(r"^\**`?\w+`?\**\s*\(", text) or re.search(r"\(`[\w\[\], .]+`(?:, \*optional\*)?", text):
            continue  # Hugging Face style parameter docs: name (`type`, *optional*, defaults to …): …
        if len(text.split()) >= 8 and "." in text and not re.search(r"[{}]|\bdef |\bself\b|\s=\s", text):
            paragraphs.append(text)
    return paragraphs


def _entries(dist: metadata.Distribution) -> list[tuple[str, str, list[str]]]:
    """(path, qualified name, prose paragraphs) of every public module, class and function docstring."""
    found = []
    for file in dist.files or []:
        if file.suffix != ".py" or ".dist-info" in str(file) or _SKIP_PATH.search(str(file)):
            continue
        path = Path(dist.locate_file(file))
        try:
            if path.stat().st_size > 600_000:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        module = ".".join(file.with_suffix("").parts).removesuffix(".__init__")
        nodes = [(module, tree)]
        for node in tree.body:
            if isinstance(node, _DEFINITIONS) and not node.name.startswith("_"):
                nodes.append((f"{module}.{node.name}", node))
                if isinstance(node, ast.ClassDef):
                    nodes += [
                        (f"{module}.{node.name}.{item.name}", item)
                        for item in node.body
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_")
                    ]
        for name, node in nodes:
            paragraphs = _prose(ast.get_docstring(node, clean=False) or "")
            if paragraphs:
                found.append((str(file), name, paragraphs))
    return found


def guide(package: str) -> str | None:
    """An API guide of an installed package: the prose of its richest public docstrings, in module order.

    Docstrings are ranked by their words of prose (user-facing documentation is long; internal helpers have a
    line), taken until :data:`GUIDE_CHARS`, then printed in the order of the package's files.
    """
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    entries = _entries(dist)

    def richness(i: int) -> tuple[int, tuple[str, str]]:
        return -min(ENTRY_WORDS, sum(len(p.split()) for p in entries[i][2])), entries[i][:2]

    ranked = sorted(range(len(entries)), key=richness)
    chosen: list[int] = []
    seen: set[str] = set()
    size = 0
    for index in ranked:
        paragraphs = [p for p in entries[index][2] if p not in seen][:ENTRY_PARAGRAPHS]
        if sum(len(p.split()) for p in paragraphs) < 25:
            continue
        seen.update(paragraphs)
        entries[index] = (*entries[index][:2], paragraphs)
        chosen.append(index)
        size += sum(len(p) for p in paragraphs)
        if size >= GUIDE_CHARS:
            break
    if not chosen:
        return None
    chosen.sort(key=lambda i: entries[i][:2])
    blocks = [f"## {entries[i][1]}\n\n" + "\n\n".join(entries[i][2]) + "\n" for i in chosen]
    return f"# {package} API guide\n\n" + "\n".join(blocks)


def build(out: Path, *, guides: bool = False) -> dict[str, list[Path]]:
    """Write every corpus under ``out/<corpus>/<package>.md`` (and ``<package>-guide.md`` with ``guides``)."""
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
            api = guide(package) if guides else None
            if api:
                path = folder / f"{package}-guide.md"
                path.write_text(api, encoding="utf-8")
                files.append(path)
                manifest.append(f"{corpus}\t{package}-guide\t{version}\t{len(api)} chars")
        built[corpus] = files
    (out / "MANIFEST.txt").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return built


def main() -> None:
    """Build the corpora and print where they are."""
    args = [arg for arg in sys.argv[1:] if arg != "--guides"]
    out = Path(args[0]) if args else Path(tempfile.gettempdir()) / "editorial-real-corpora"
    built = build(out, guides="--guides" in sys.argv)
    for corpus, files in built.items():
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
        print(f"{corpus}: {len(files)} documents, {words:,} words in {out / corpus}")


if __name__ == "__main__":
    main()
