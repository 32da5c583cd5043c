"""Whole-dataset snapshots: one folder per format and a manifest of every file.

Same data, same bytes: a snapshot depends only on the records and the base
URL, never on the clock (unless ``SOURCE_DATE_EPOCH`` is given), the time zone
or the locale. ``check`` regenerates a snapshot and names the files that differ.

The manifest (``manifest.json``, schema version 1)::

    {
      "manifest_version": 1,
      "dataset": {"name": ..., "version": ...},
      "data_revision": <int>,
      "base_url": "...",
      "formats": ["csv", ...],
      "generated_at": "<RFC 3339>"          # only with SOURCE_DATE_EPOCH
      "files": [{"path": "csv/talks.csv", "format": "csv", "sha256": "...",
                 "bytes": <int>, "records": <int>}, ...]
    }

``records`` counts the records read from the database to write that file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from exporters import Chunk, Collection, Dataset
from exporters.manager import Registered

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

log = logging.getLogger(__name__)


@dataclass
class SnapshotResult:
    manifest: dict[str, Any]
    # format name -> what went wrong; its folder is removed, the other formats are written.
    failures: dict[str, str] = field(default_factory=dict)


class _Counting:
    """Opens collections for an exporter, counting the records it reads."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.read = 0

    def _count(self, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for record in records:
            self.read += 1
            yield record

    def open(self, name: str) -> Collection:
        collection = self.dataset.collection(name)
        return Collection(
            collection.name, collection.fields, self._count(collection.records), collection.dataset
        )

    def counted_dataset(self) -> Dataset:
        return Dataset(self.dataset.info, self.dataset.names, self.open)


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name:
        raise ValueError(f"refusing the file name {name!r}")
    return str(path)


def _files(registered: Registered, counting: _Counting) -> Iterator[tuple[str, Iterable[Chunk]]]:
    exporter = registered.exporter
    export_dataset: Callable[[Dataset], Iterable[tuple[str, Iterable[Chunk]]]] | None = getattr(
        exporter, "export_dataset", None
    )
    if export_dataset is not None:
        yield from export_dataset(counting.counted_dataset())
        return
    for name in counting.dataset.names:
        yield f"{name}.{exporter.extension}", exporter.export(counting.open(name))


def _write(path: Path, chunks: Iterable[Chunk]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for chunk in chunks:
            data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
            if not isinstance(data, bytes):
                raise TypeError(f"an exporter yielded {type(chunk).__name__}, not str or bytes")
            digest.update(data)
            size += len(data)
            handle.write(data)
    return digest.hexdigest(), size


def write_snapshot(
    dataset: Dataset,
    exporters: list[Registered],
    out: Path,
    *,
    source_date_epoch: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> SnapshotResult:
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for registered in exporters:
        name = registered.exporter.name
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        written: list[dict[str, Any]] = []
        counting = _Counting(dataset)
        try:
            for file_name, chunks in _files(registered, counting):
                relative = f"{name}/{_safe_name(file_name)}"
                if progress:
                    progress(relative)
                before = counting.read
                sha256, size = _write(out / relative, chunks)
                written.append(
                    {
                        "path": relative,
                        "format": name,
                        "sha256": sha256,
                        "bytes": size,
                        "records": counting.read - before,
                    }
                )
        except Exception as exc:
            log.exception("the %r exporter failed", name)
            failures[name] = f"{type(exc).__name__}: {exc}"
            shutil.rmtree(folder, ignore_errors=True)
            continue
        files.extend(written)
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "dataset": {"name": dataset.info.name, "version": dataset.info.version},
        "data_revision": dataset.info.data_revision,
        "base_url": dataset.info.base_url,
        "formats": [r.exporter.name for r in exporters if r.exporter.name not in failures],
        "files": sorted(files, key=lambda f: f["path"]),
    }
    if source_date_epoch is not None:
        manifest["generated_at"] = (
            datetime.fromtimestamp(source_date_epoch, UTC).isoformat().replace("+00:00", "Z")
        )
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return SnapshotResult(manifest, failures)


def read_manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise ValueError(f"{folder / MANIFEST}: not a manifest of version {MANIFEST_VERSION}")
    return manifest


def check_snapshot(
    dataset: Dataset, exporters: list[Registered], folder: Path
) -> tuple[list[str], SnapshotResult]:
    """The paths whose content differs between ``folder`` and a fresh snapshot."""
    old = read_manifest(folder)
    with tempfile.TemporaryDirectory(prefix="parley-check-") as scratch:
        fresh = write_snapshot(dataset, exporters, Path(scratch))
    before = {f["path"]: f["sha256"] for f in old["files"]}
    after = {f["path"]: f["sha256"] for f in fresh.manifest["files"]}
    differing = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    # A file edited by hand after the snapshot was written is drift too.
    for path, sha256 in before.items():
        target = folder / path
        if path not in differing and (
            not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha256
        ):
            differing.append(path)
    return sorted(differing), fresh
