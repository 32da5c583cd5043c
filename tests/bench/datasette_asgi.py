"""Datasette's ASGI app on one SQLite file, immutable, for uvicorn with several workers.

``datasette serve`` runs one uvicorn process; to give Datasette as many
processes as Parley's gunicorn workers, the bench runs
``uvicorn --workers N datasette_asgi:app`` with this module, which builds the
same app ``datasette serve -i FILE --setting ...`` builds. It runs in the
Datasette venv (``.bench-venv``) and imports nothing of Parley's.

The file and the settings come from the environment:
``PARLEY_BENCH_DATASETTE_FILE`` and ``PARLEY_BENCH_DATASETTE_SETTINGS`` (JSON).
"""

from __future__ import annotations

import json
import os
from typing import Any

from datasette.app import Datasette

_settings: dict[str, Any] = json.loads(os.environ.get("PARLEY_BENCH_DATASETTE_SETTINGS", "{}"))
app = Datasette(immutables=[os.environ["PARLEY_BENCH_DATASETTE_FILE"]], settings=_settings).app()
