"""The plugin manager: built-in exporters first, then each installed plugin on its own.

pluggy's ``load_setuptools_entrypoints`` stops at the first plugin that fails
to import, so entry points are loaded one by one here: a broken plugin is
refused with a message naming it and its distribution, and the others load.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Protocol

import pluggy

from exporters import ENTRY_POINT_GROUP, PROJECT_NAME, Exporter, hookspecs

log = logging.getLogger(__name__)

# Parley's own formats: ordinary plugin modules, registered like Datasette's
# default plugins, so that they stay when entry-point autoload is switched off.
BUILTIN_PLUGINS: tuple[str, ...] = ("exporters.tabular", "exporters.linked", "exporters.markdown")

NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# The API's own representation: no exporter may take it over.
RESERVED = {"name": {"json"}, "extension": {"json"}, "media_type": {"application/json"}}


class EntryPointLike(Protocol):
    name: str

    @property
    def dist(self) -> Any: ...

    def load(self) -> Any: ...


@dataclass(frozen=True)
class Registered:
    exporter: Exporter
    plugin: str
    distribution: str | None  # None for the built-in exporters

    @property
    def version(self) -> str:
        return str(getattr(self.exporter, "version", "0"))


@dataclass
class Registry:
    exporters: dict[str, Registered] = field(default_factory=dict)
    # One message per refused plugin or exporter, naming it and its distribution.
    refused: list[str] = field(default_factory=list)

    def get(self, name: str) -> Registered | None:
        return self.exporters.get(name)

    def by_extension(self, extension: str) -> Registered | None:
        return next((r for r in self.exporters.values() if r.exporter.extension == extension), None)

    def by_media_type(self, media_type: str) -> Registered | None:
        return next(
            (r for r in self.exporters.values() if r.exporter.media_type == media_type), None
        )

    def names(self) -> list[str]:
        return list(self.exporters)


def _describe(plugin: str, distribution: str | None) -> str:
    return f"plugin {plugin!r}" + (f" (distribution {distribution!r})" if distribution else "")


def _problems(exporter: Any, taken: Mapping[str, Registered]) -> list[str]:
    problems = []
    for attribute in ("name", "media_type", "extension"):
        if not isinstance(getattr(exporter, attribute, None), str):
            problems.append(f"has no string attribute {attribute!r}")
    if not callable(getattr(exporter, "export", None)):
        problems.append("has no export(collection) method")
    if problems:
        return problems
    if not NAME.match(exporter.name):
        problems.append(f"name {exporter.name!r} is not a lowercase word")
    if not NAME.match(exporter.extension):
        problems.append(f"extension {exporter.extension!r} is not a lowercase word")
    if not MEDIA_TYPE.match(exporter.media_type):
        problems.append(f"media type {exporter.media_type!r} is not type/subtype")
    for attribute, reserved in RESERVED.items():
        if getattr(exporter, attribute) in reserved:
            problems.append(f"{attribute} {getattr(exporter, attribute)!r} is the API's own")
    for other in taken.values():
        for attribute in ("name", "media_type", "extension"):
            if getattr(other.exporter, attribute) == getattr(exporter, attribute):
                problems.append(
                    f"{attribute} {getattr(exporter, attribute)!r} is taken by "
                    f"{_describe(other.plugin, other.distribution)}"
                )
    return problems


class _Loader:
    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.distributions: dict[str, str | None] = {}

    def register(self, plugin: object, name: str, distribution: str | None) -> None:
        try:
            self.manager.register(plugin, name=name)
            # Misspelt hooks (parley_register_exporter) are caught here, per plugin.
            self.manager.check_pending()
        except Exception as exc:  # a plugin's fault must not stop the others
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            self.refuse(name, distribution, f"is invalid: {exc}")
            return
        self.distributions[name] = distribution

    def refuse(self, plugin: str, distribution: str | None, reason: str) -> None:
        message = f"{_describe(plugin, distribution)} {reason}; it was not loaded"
        log.warning("%s", message)
        self.registry.refused.append(message)

    def collect(self) -> Registry:
        # Called plugin by plugin, in registration order, so that each exporter is
        # attributed to its plugin and one plugin raising costs only its own exporters.
        implementations = self.manager.hook.parley_register_exporters.get_hookimpls()
        for implementation in implementations:  # in registration order
            plugin = implementation.plugin_name
            distribution = self.distributions.get(plugin)
            try:
                offered: Any = implementation.function()
                exporters = list(offered)
            except Exception as exc:
                self.refuse(plugin, distribution, f"raised {type(exc).__name__}: {exc}")
                continue
            for exporter in exporters:
                problems = _problems(exporter, self.registry.exporters)
                if problems:
                    label = getattr(exporter, "name", type(exporter).__name__)
                    self.refuse(
                        plugin,
                        distribution,
                        f"offers exporter {label!r}, which {'; '.join(problems)}",
                    )
                    continue
                self.registry.exporters[exporter.name] = Registered(exporter, plugin, distribution)
        return self.registry


def _entry_points() -> Iterable[EntryPointLike]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def load_registry(
    environ: Mapping[str, str] | None = None,
    *,
    entry_points: Iterable[EntryPointLike] | None = None,
    builtins: Iterable[str] = BUILTIN_PLUGINS,
) -> Registry:
    """Every exporter: the built-ins, then the installed plugins the environment allows.

    ``PARLEY_DISABLE_PLUGIN_AUTOLOAD`` (any non-empty value) skips entry points;
    ``PARLEY_PLUGINS=a,b`` keeps only plugins of those distributions.
    """
    env = os.environ if environ is None else environ
    loader = _Loader()
    for module_name in builtins:
        module: ModuleType = importlib.import_module(module_name)
        loader.register(module, module_name, None)
    if not env.get("PARLEY_DISABLE_PLUGIN_AUTOLOAD"):
        wanted = {n.strip() for n in env.get("PARLEY_PLUGINS", "").split(",") if n.strip()}
        for entry_point in entry_points if entry_points is not None else _entry_points():
            distribution = getattr(entry_point.dist, "name", None)
            if wanted and distribution not in wanted:
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:
                loader.refuse(
                    entry_point.name, distribution, f"failed to import: {type(exc).__name__}: {exc}"
                )
                continue
            loader.register(plugin, entry_point.name, distribution)
    return loader.collect()
