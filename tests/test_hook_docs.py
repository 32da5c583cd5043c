"""Every hook is documented in the README with its exact signature (Datasette's habit)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from exporters import hookspecs

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
HOOKS = [
    (name, function)
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("parley_")
]


def test_there_are_hooks_to_document():
    assert HOOKS


@pytest.mark.parametrize(("name", "function"), HOOKS)
def test_each_hook_is_documented_with_its_exact_signature(name, function):
    parameters = ", ".join(inspect.signature(function).parameters)
    heading = f"#### `{name}({parameters})`"
    assert re.search(rf"^{re.escape(heading)}$", README, re.MULTILINE), heading
