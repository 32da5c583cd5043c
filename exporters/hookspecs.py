"""The hooks a Parley plugin may implement."""

from __future__ import annotations

from exporters import Exporter, hookspec


@hookspec
def parley_register_exporters() -> list[Exporter]:  # type: ignore[empty-body]
    """Return the exporters this plugin provides.

    Each exporter needs ``name``, ``media_type``, ``extension`` and
    ``export(collection)``; see the ``exporters`` module for the optional members.
    """
