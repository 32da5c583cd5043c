"""What a run measured, and the figures made of it: ratios of same-run measurements.

``Measurements`` collects the raw results of a run (loads, exports, page
timings) and what could not be measured, with the reason. The functions below
turn them into ``report.Figure`` rows: each Parley rate over its baseline,
measured under the same serving configuration in the same run.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.bench.export import ExportResult
from tests.bench.load import LoadResult
from tests.bench.options import ServeConfig
from tests.bench.paging import PageTiming
from tests.bench.report import Figure, ratio
from tests.bench.tools import log
from tests.bench.warming import Warmup

T = TypeVar("T")


@dataclass
class Measurements:
    loads: dict[tuple[str, str], LoadResult] = field(default_factory=dict)
    exports: dict[str, ExportResult] = field(default_factory=dict)
    pages: PageTiming | None = None
    errors: dict[str, str] = field(default_factory=dict)  # measurement -> what went wrong
    skipped: dict[str, str] = field(default_factory=dict)  # measurement -> why not measured
    servers: dict[str, Any] = field(default_factory=dict)
    # Page cache warm-ups before each server's item load (tests.bench.warming).
    warmups: dict[str, Warmup] = field(default_factory=dict)

    def attempt(self, name: str, measure: Callable[[], T]) -> T | None:
        log(f"measuring {name}")
        try:
            return measure()
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            log(f"{name} failed: {exc}")
            traceback.print_exc(file=sys.stderr)
            return None

    def why_missing(self, *names: str) -> str:
        for name in names:
            if name in self.errors:
                return f"error: {self.errors[name].splitlines()[0][:200]}"
            if name in self.skipped:
                return self.skipped[name]
        return "not measured"


# The bare app is loaded twice, before Parley's loads and after them: a baseline
# measured low by a moment's noise would flatter every ratio over it, so the
# higher of the two is the baseline.
BARE_LOADS = ("bare", "bare_after")


def _rps(m: Measurements, config: str, endpoint: str) -> float | None:
    if endpoint == "bare":
        rates = [r for e in BARE_LOADS if (r := _one_rps(m, config, e)) is not None]
        return max(rates, default=None)
    return _one_rps(m, config, endpoint)


def _one_rps(m: Measurements, config: str, endpoint: str) -> float | None:
    result = m.loads.get((config, endpoint))
    if result is None or result.failed:
        return None
    return result.requests_per_second


def _step(config: str) -> str:
    """The step whose failure takes the loads of ``config`` with it."""
    return "datasette" if config == "datasette" else f"serving {config}"


def _load_reason(m: Measurements, config: str, *endpoints: str) -> str:
    for endpoint in endpoints:
        result = m.loads.get((config, endpoint))
        if result is not None and result.failed:
            return f"error: {endpoint} load had errors {result.errors}"
    return m.why_missing(*(f"{e} [{config}]" for e in endpoints), _step(config))


def throughput_figures(
    m: Measurements, configs: list[ServeConfig], datasette: bool
) -> list[Figure]:
    figures: list[Figure] = []
    pairs: list[tuple[str, str, str, str | None]] = [
        ("item_vs_bare", "item GET ÷ bare Flask", "item", None),
        ("page_vs_bare", "50-item page ÷ bare Flask", "page", None),
        ("random_page_vs_bare", "50-item page at random cursors ÷ bare Flask", "random_page", None),
    ]
    if datasette:
        pairs += [
            ("item_vs_datasette", "item GET ÷ Datasette one-row JSON", "item", "item"),
            ("page_vs_datasette", "50-item page ÷ Datasette (_nocount=1)", "page", "page"),
            (
                "random_page_vs_datasette",
                "50-item page at random cursors ÷ Datasette _next",
                "random_page",
                "random_page",
            ),
        ]
    for n, config in enumerate(configs):
        label = config.label
        for key, text, endpoint, peer in pairs:
            against = ("datasette", peer) if peer else (label, "bare")
            numerator = _rps(m, label, endpoint)
            denominator = _rps(m, *against)
            value = ratio(numerator, denominator)
            reason = (
                ""
                if value is not None
                else (
                    _load_reason(m, label, endpoint)
                    if numerator is None
                    else _load_reason(m, *against)
                )
            )
            figures.append(
                Figure(
                    key,
                    text,
                    value,
                    "x",
                    detail=f"{numerator or 0:,.0f} ÷ {denominator or 0:,.0f} req/s",
                    config=label,
                    checked=n == 0,
                    reason=reason,
                )
            )
    if len(configs) > 1:
        base = configs[0].label
        for other in configs[1:]:
            for endpoint, text in (("item", "item GET"), ("page", "50-item page")):
                numerator, denominator = _rps(m, other.label, endpoint), _rps(m, base, endpoint)
                figures.append(
                    Figure(
                        f"serving_{endpoint}",
                        f"{text}, {other.label} ÷ {base}",
                        ratio(numerator, denominator),
                        "x",
                        detail=f"{numerator or 0:,.0f} ÷ {denominator or 0:,.0f} req/s",
                        reason=_load_reason(m, other.label, endpoint)
                        if numerator is None
                        else _load_reason(m, base, endpoint),
                    )
                )
    return figures


def _peakier(exports: dict[str, ExportResult], *keys: str) -> ExportResult | None:
    found = [exports[key] for key in keys if key in exports]
    if len(found) < len(keys):
        return None
    return max(found, key=lambda result: result.peak_rss_mb or 0.0)


def export_figures(
    m: Measurements, datasette: bool, talks: int, small: int, primary: str
) -> list[Figure]:
    figures: list[Figure] = []
    e = m.exports
    steps = {"http": _step(primary), "datasette": _step("datasette")}
    c_name = e["c_limit"].name if "c_limit" in e else "the C limit"
    baselines = [
        ("raw", e["raw"].name if "raw" in e else "the raw driver loop"),
        ("c_limit", c_name),
    ]
    if datasette:
        baselines.append(("datasette", "Datasette _stream=on"))
    for mine, text in (
        ("cli", "CSV export, CLI"),
        ("http", "CSV export, HTTP"),
        ("cli_cold", "CSV export, CLI, no renderings stored yet"),
    ):
        for base, base_text in baselines:
            key = f"csv_{mine}_vs_{base}"
            a, b = e.get(mine), e.get(base)
            value = ratio(a.rows_per_second if a else None, b.rows_per_second if b else None)
            figures.append(
                Figure(
                    key,
                    f"{text} ÷ {base_text}",
                    value,
                    "x",
                    detail=f"{a.rows_per_second if a else 0:,.0f} ÷ "
                    f"{b.rows_per_second if b else 0:,.0f} rows/s",
                    reason=""
                    if value is not None
                    else m.why_missing(
                        f"export {mine}",
                        f"export {base}",
                        *(steps[k] for k in (mine, base) if k in steps),
                    ),
                )
            )
    # The larger peak of each size's two exports (rendering and storing, or reading).
    big, little = _peakier(e, "cli", "cli_cold"), _peakier(e, "cli_small", "cli_small_cold")
    growth = ratio(big.peak_rss_mb if big else None, little.peak_rss_mb if little else None)
    figures.append(
        Figure(
            "rss_growth",
            f"peak RSS of the CLI export, {talks:,} ÷ {small:,} talks",
            growth,
            "x",
            detail=f"{big.peak_rss_mb if big else 0} ÷ {little.peak_rss_mb if little else 0} MB",
            reason="" if growth is not None else m.why_missing("export cli", "export cli_small"),
        )
    )
    figures.append(
        Figure(
            "rss_peak",
            f"peak RSS of the CLI export, {talks:,} talks",
            big.peak_rss_mb if big else None,
            "MB",
            detail=f"{small:,} talks: {little.peak_rss_mb if little else 0} MB",
            reason="" if big else m.why_missing("export cli"),
        )
    )
    return figures


def page_figures(m: Measurements, configs: list[ServeConfig]) -> list[Figure]:
    p = m.pages
    return [
        Figure(
            "deep_vs_first",
            f"page after {p.position:,} rows ÷ first page" if p else "deep page ÷ first page",
            round(p.ratio, 3) if p else None,
            "x",
            detail=f"median {p.deep_median_ms} ÷ {p.first_median_ms} ms, {p.samples} each"
            if p
            else "",
            config=configs[0].label,
            reason="" if p else m.why_missing("deep page", _step(configs[0].label)),
        )
    ]


def latency_figures(m: Measurements) -> list[Figure]:
    figures = []
    for (config, endpoint), result in m.loads.items():
        if result.failed:
            continue
        figures.append(
            Figure(
                f"latency_{endpoint}",
                f"p50 latency, {endpoint.replace('_', ' ')}",
                result.latency_ms["p50"],
                "ms",
                detail=f"p99 {result.latency_ms['p99']:.2f} ms, "
                f"{result.requests_per_second:,.0f} req/s",
                config=config,
            )
        )
    return figures
