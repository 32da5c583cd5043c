"""Figures against their targets: the printed table and ``results.json``.

A figure is a ratio of two rates measured in the same run (or a memory size, or
a latency), with its target when the issue sets one. Its result is ``pass`` or
``FAIL`` against the target, ``info`` when it has none (or belongs to a serving
configuration other than the first, which alone is checked), ``skipped`` when
it could not be measured here (a missing tool, with the reason) and ``error``
when its measurement failed. A skipped or failed figure never counts as a pass.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PASS, FAIL, INFO, SKIPPED, ERROR = "pass", "FAIL", "info", "skipped", "error"

# The targets of the issue "Performance at scale", by figure key.
TARGETS: dict[str, tuple[str, float]] = {
    "item_vs_bare": (">=", 0.60),
    "item_vs_datasette": (">=", 3.0),
    "page_vs_bare": (">=", 0.30),
    "page_vs_datasette": (">=", 4.0),
    "csv_cli_vs_raw": (">=", 0.50),
    "csv_http_vs_raw": (">=", 0.50),
    "csv_cli_vs_datasette": (">=", 1.5),
    "csv_http_vs_datasette": (">=", 1.5),
    "rss_growth": ("<=", 1.2),
    "rss_peak": ("<", 150.0),
    "deep_vs_first": ("<=", 1.5),
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}
_SHOWN = {">=": "≥", "<=": "≤", "<": "<"}

# Exit statuses of the bench.
EXIT_OK = 0
EXIT_MISSED = 1  # a target was missed
EXIT_INCOMPLETE = 3  # no target missed, but a targeted figure was skipped or failed


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str  # "x" (a ratio), "MB", "ms"
    detail: str = ""  # the numbers behind the figure
    config: str | None = None  # the serving configuration it was measured under
    checked: bool = True  # False: shown with its target, not checked (another config)
    reason: str = ""  # why it is skipped or failed

    @property
    def target(self) -> tuple[str, float] | None:
        return TARGETS.get(self.key)

    @property
    def status(self) -> str:
        if self.value is None:
            return SKIPPED if not self.reason.startswith("error") else ERROR
        target = self.target
        if target is None or not self.checked:
            return INFO
        op, bound = target
        return PASS if _COMPARE[op](self.value, bound) else FAIL

    def shown_value(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "x":
            return f"{self.value:.2f}×"
        return f"{self.value:,.1f} {self.unit}" if self.unit == "MB" else f"{self.value:.2f} ms"

    def shown_target(self) -> str:
        target = self.target
        if target is None:
            return ""
        op, bound = target
        text = f"{_SHOWN[op]} {bound:g}" + (" MB" if self.unit == "MB" else "")
        return text if self.checked else f"({text})"

    def describe(self) -> dict[str, Any]:
        target = self.target
        return {
            "key": self.key,
            "label": self.label,
            "config": self.config,
            "value": self.value,
            "unit": self.unit,
            "target": {"op": target[0], "value": target[1]} if target else None,
            "checked": self.checked and target is not None,
            "status": self.status,
            "detail": self.detail,
            "reason": self.reason or None,
        }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 3)


def exit_status(figures: list[Figure]) -> int:
    checked = [f for f in figures if f.target is not None and f.checked]
    if any(f.status == FAIL for f in checked):
        return EXIT_MISSED
    if any(f.status in (SKIPPED, ERROR) for f in checked):
        return EXIT_INCOMPLETE
    return EXIT_OK


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "target", "result", "measured")]
    for f in figures:
        label = f"{f.label} [{f.config}]" if f.config else f.label
        note = f.detail if f.value is not None else f.reason
        rows.append((label, f.shown_value(), f.shown_target(), f.status, note))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in [*widths, len(row[4])]))
    return "\n".join(lines)


def summary(figures: list[Figure]) -> str:
    checked = [f for f in figures if f.target is not None and f.checked]
    passed = sum(f.status == PASS for f in checked)
    failed = [f.label for f in checked if f.status == FAIL]
    missing = [f.label for f in checked if f.status in (SKIPPED, ERROR)]
    parts = [f"{passed} of {len(checked)} targets met"]
    if failed:
        parts.append(f"missed: {', '.join(failed)}")
    if missing:
        parts.append(f"not measured: {', '.join(missing)}")
    return "; ".join(parts)


def write(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.partial")
    temporary.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(path)
