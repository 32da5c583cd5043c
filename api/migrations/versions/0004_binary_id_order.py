"""Binary order of ids on PostgreSQL: an index on ``id COLLATE "C"`` per resource table.

Pages and exports run in binary id order on both backends (``api.v1.data.sort_column``).
On PostgreSQL that is ``ORDER BY id COLLATE "C"``, which the primary key, kept in the
database's own collation, cannot serve: every page sorted the whole table first.
SQLite compares bytes already, so it needs nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "sources",
    "actors",
    "delegations",
    "obstacles",
    "talks",
    "force_proposals",
    "statements",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.create_index(f"ix_{table}_id_binary", table, [sa.text('id COLLATE "C"')])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.drop_index(f"ix_{table}_id_binary", table_name=table)
