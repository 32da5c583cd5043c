"""What a database holds, as one comparable value."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, inspect, select

from api.models import Base


def fingerprint(engine: Engine) -> str:
    """A hash of every row of every Parley table (empty when the schema is absent)."""
    digest = hashlib.sha256()
    existing = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
            if table.name not in existing:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            for row in connection.execute(select(table).order_by(*order)):
                digest.update(repr((table.name, tuple(row))).encode())
    return digest.hexdigest()
