"""The seed documents: a manifest naming each document of each seed file.

Citations point into a seed file by code-point offsets, so a seed file whose
bytes changed would silently move every quote: its SHA-256 must match the
manifest before anything is loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

from api.fixtures.errors import FixtureError, Problem
from api.fixtures.yamlio import YamlError, parse

MANIFEST = "manifest.yaml"


@dataclass(frozen=True)
class SeedDocument:
    id: str
    title: str
    alternate_headline: str | None
    file: str
    line_start: int  # 1-based, inclusive
    line_end: int
    char_start: int  # code points from the start of the file
    char_end: int  # exclusive


@dataclass(frozen=True)
class SeedFile:
    name: str
    sha256: str
    text: str


@dataclass(frozen=True)
class Seeds:
    files: dict[str, SeedFile]
    documents: dict[str, SeedDocument]

    def text_of(self, document: SeedDocument) -> str:
        return self.files[document.file].text


def _line_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offset of each line, without its line break."""
    spans = []
    offset = 0
    for line in text.split("\n"):
        spans.append((offset, offset + len(line)))
        offset += len(line) + 1
    return spans


def read_seeds(folder: Traversable, label: str = "seeds") -> Seeds:
    manifest_label = f"{label}/{MANIFEST}"
    try:
        manifest = parse((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError([Problem(manifest_label, "", "missing")]) from None
    except YamlError as exc:
        raise FixtureError([Problem(manifest_label, "", str(exc))]) from None

    problems: list[Problem] = []
    files: dict[str, SeedFile] = {}
    documents: dict[str, SeedDocument] = {}
    entries: Any = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise FixtureError([Problem(manifest_label, "files", "must be a list of seed files")])

    for i, entry in enumerate(entries):
        path = f"files[{i}]"
        try:
            name = str(entry["file"])
            expected = str(entry["sha256"])
            doc_entries = list(entry["documents"])
        except (KeyError, TypeError):
            problems.append(Problem(manifest_label, path, "needs file, sha256 and documents"))
            continue
        try:
            raw = (folder / name).read_bytes()
        except FileNotFoundError:
            problems.append(Problem(manifest_label, f"{path}.file", f"no seed file {name!r}"))
            continue
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected:
            problems.append(
                Problem(
                    f"{label}/{name}",
                    "",
                    f"sha256 is {actual}, but {MANIFEST} says {expected}: "
                    "the seed changed, so every citation offset would be wrong",
                )
            )
            continue
        text = raw.decode("utf-8")
        files[name] = SeedFile(name, actual, text)
        lines = _line_spans(text)
        for j, doc in enumerate(doc_entries):
            doc_path = f"{path}.documents[{j}]"
            try:
                first, last = (int(n) for n in doc["lines"])
                document = SeedDocument(
                    id=str(doc["id"]),
                    title=str(doc["title"]),
                    alternate_headline=doc.get("alternate_headline"),
                    file=name,
                    line_start=first,
                    line_end=last,
                    char_start=lines[first - 1][0],
                    char_end=lines[last - 1][1],
                )
            except (KeyError, TypeError, ValueError, IndexError):
                problems.append(
                    Problem(manifest_label, doc_path, "needs id, title and lines [first, last]")
                )
                continue
            if document.id in documents:
                problems.append(
                    Problem(manifest_label, f"{doc_path}.id", f"duplicate id {document.id!r}")
                )
            documents[document.id] = document
    if problems:
        raise FixtureError(problems)
    return Seeds(files, documents)
