"""Datasette's ASGI app on one SQLite file, immutable, for uvicorn with several workers.

``datasette serve`` runs one uvicorn process; to give Datasette as many
processes as Parley's gunicorn workers, the bench runs
``uvicorn --workers N datasette_asgi:app`` with this module, which builds the
same app ``datasette serve -i FILE --setting ...`` builds. It runs in the
Datasette venv (``.bench-venv``) and imports nothing of Parley's.

The file, the settings and the inspect file come from the environment:
``PARLEY_BENCH_DATASETTE_FILE``, ``PARLEY_BENCH_DATASETTE_SETTINGS`` (JSON) and,
when set, ``PARLEY_BENCH_DATASETTE_INSPECT`` (what ``--inspect-file`` reads:
the table counts, which Datasette otherwise takes at startup).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from datasette.app import Datasette

_settings: dict[str, Any] = json.loads(os.environ.get("PARLEY_BENCH_DATASETTE_SETTINGS", "{}"))
_inspect_file = os.environ.get("PARLEY_BENCH_DATASETTE_INSPECT")
_inspect_data = json.loads(Path(_inspect_file).read_text()) if _inspect_file else None
app = Datasette(
    immutables=[os.environ["PARLEY_BENCH_DATASETTE_FILE"]],
    settings=_settings,
    inspect_data=_inspect_data,
).app()
