"""Parley's exporter plugins: pluggy markers for the ``parley`` project."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "parley"
ENTRY_POINT_GROUP = "parley.exporters"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
