"""Plugins are loaded one by one and validated at registration: bad ones are refused by
name and distribution, and the good ones still load."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from exporters import Collection, hookimpl
from exporters.manager import load_registry


class Plain:
    def __init__(self, name: str, media_type: str | None = None, extension: str | None = None):
        self.name = name
        self.media_type = media_type or f"text/x-{name}"
        self.extension = extension or name

    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            yield record["id"] + "\n"


def plugin_module(name: str, *exporters: Any) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def parley_register_exporters():
        return list(exporters)

    module.parley_register_exporters = parley_register_exporters  # type: ignore[attr-defined]
    return module


@dataclass
class FakeEntryPoint:
    name: str
    distribution: str
    loader: Callable[[], Any]

    @property
    def dist(self) -> Any:
        return types.SimpleNamespace(name=self.distribution)

    def load(self) -> Any:
        return self.loader()


def entry(name: str, plugin: Any, distribution: str | None = None) -> FakeEntryPoint:
    return FakeEntryPoint(name, distribution or f"parley-{name}", lambda: plugin)


def load(*entry_points: FakeEntryPoint, **environ: str):
    return load_registry(environ, entry_points=list(entry_points), builtins=())


def test_a_good_plugin_is_registered_with_its_plugin_and_distribution():
    registry = load(entry("ndjson", plugin_module("ndjson", Plain("ndjson"))))
    registered = registry.get("ndjson")
    assert registered is not None
    assert (registered.plugin, registered.distribution) == ("ndjson", "parley-ndjson")
    assert registry.refused == []


def broken_import() -> Any:
    raise ImportError("No module named 'missing_dependency'")


def test_a_plugin_that_fails_to_import_is_refused_and_the_others_load():
    registry = load(
        FakeEntryPoint("broken", "parley-broken", broken_import),
        entry("good", plugin_module("good", Plain("good"))),
    )
    assert registry.names() == ["good"]
    [message] = registry.refused
    assert "'broken'" in message
    assert "'parley-broken'" in message
    assert "missing_dependency" in message


def test_a_hook_with_a_wrong_signature_is_refused():
    module = types.ModuleType("wrong")

    @hookimpl
    def parley_register_exporters(unexpected_argument):
        return [Plain("wrong")]

    module.parley_register_exporters = parley_register_exporters  # type: ignore[attr-defined]
    registry = load(entry("wrong", module), entry("good", plugin_module("good", Plain("good"))))
    assert registry.names() == ["good"]
    assert "'wrong'" in registry.refused[0]
    assert "unexpected_argument" in registry.refused[0]


def test_a_misspelt_hook_is_refused():
    module = types.ModuleType("typo")

    @hookimpl
    def parley_register_exporter():
        return [Plain("typo")]

    module.parley_register_exporter = parley_register_exporter  # type: ignore[attr-defined]
    registry = load(entry("typo", module), entry("good", plugin_module("good", Plain("good"))))
    assert registry.names() == ["good"]
    assert "parley_register_exporter" in registry.refused[0]


@pytest.mark.parametrize("missing", ["name", "media_type", "extension", "export"])
def test_an_exporter_lacking_a_member_is_refused(missing):
    exporter = Plain("lacking")
    if missing == "export":
        exporter = types.SimpleNamespace(name="lacking", media_type="text/x-l", extension="l")  # type: ignore[assignment]
    else:
        delattr(exporter, missing)
    registry = load(entry("lacking", plugin_module("lacking", exporter)))
    assert registry.names() == []
    assert "'lacking'" in registry.refused[0]


@pytest.mark.parametrize(
    ("clash", "attribute"),
    [
        (Plain("first"), "name"),
        (Plain("other", media_type="text/x-first"), "media_type"),
        (Plain("other", extension="first"), "extension"),
    ],
)
def test_an_exporter_clashing_with_another_is_refused_and_the_first_stays(clash, attribute):
    registry = load(
        entry("one", plugin_module("one", Plain("first"))),
        entry("two", plugin_module("two", clash)),
    )
    assert registry.names() == ["first"]
    assert registry.get("first").plugin == "one"
    [message] = registry.refused
    assert "'two'" in message
    assert attribute in message
    assert "'one'" in message


@pytest.mark.parametrize(
    "exporter",
    [
        Plain("json", media_type="text/x-j", extension="j"),
        Plain("other", media_type="application/json"),
        Plain("Bad Name"),
        Plain("ok", media_type="not a media type"),
    ],
)
def test_reserved_or_malformed_attributes_are_refused(exporter):
    registry = load(entry("odd", plugin_module("odd", exporter)))
    assert registry.names() == []
    assert registry.refused


def test_a_hook_that_raises_is_refused_and_the_others_load():
    module = types.ModuleType("raising")

    @hookimpl
    def parley_register_exporters():
        raise RuntimeError("boom")

    module.parley_register_exporters = parley_register_exporters  # type: ignore[attr-defined]
    registry = load(entry("raising", module), entry("good", plugin_module("good", Plain("good"))))
    assert registry.names() == ["good"]
    assert "boom" in registry.refused[0]


def test_autoload_can_be_switched_off():
    registry = load(
        entry("good", plugin_module("good", Plain("good"))), PARLEY_DISABLE_PLUGIN_AUTOLOAD="1"
    )
    assert registry.names() == []


def test_parley_plugins_keeps_only_the_named_distributions():
    registry = load(
        entry("a", plugin_module("a", Plain("a")), "dist-a"),
        entry("b", plugin_module("b", Plain("b")), "dist-b"),
        PARLEY_PLUGINS="dist-b",
    )
    assert registry.names() == ["b"]


def test_builtin_plugins_stay_when_autoload_is_off():
    import sys

    sys.modules["tests_builtin_fake"] = plugin_module("tests_builtin_fake", Plain("fake"))
    try:
        registry = load_registry(
            {"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"},
            entry_points=[],
            builtins=["tests_builtin_fake"],
        )
    finally:
        del sys.modules["tests_builtin_fake"]
    assert registry.names() == ["fake"]
    assert registry.get("fake").distribution is None  # type: ignore[union-attr]
