"""Pages and exports walk an index in id order on both backends, never sorting a table.

A keyset page must cost the same at row 900,000 as at row 1; a sort of the whole
table before each page would make every page, and every batch of an export, cost
the table's size. The fixtures hold a few rows only, for which a planner would
rightly prefer to scan and sort; so on PostgreSQL scans and sorts are switched
off, which leaves a sort only where no index can give the order.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Connection, Select, bindparam

from api import parley
from api.v1 import data, renderings
from api.v1.catalog import COLLECTIONS
from api.v1.data import PageQuery

AFTER = ("istanbul-talks",)


def plan(connection: Connection, statement: Select[Any], **values: Any) -> str:
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    params = {**compiled.params, **values}
    if dialect.name == "sqlite":
        positional = [params[name] for name in compiled.positiontup or ()]
        rows = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + compiled.string, tuple(positional)
        )
        return "\n".join(str(row[-1]) for row in rows)
    for method in ("seqscan", "bitmapscan", "sort"):
        connection.exec_driver_sql(f"SET LOCAL enable_{method} = off")
    rows = connection.exec_driver_sql("EXPLAIN " + compiled.string, params)
    return "\n".join(row[0] for row in rows)


def assert_walks_the_id_index(found: str, dialect: str) -> None:
    if dialect == "sqlite":
        assert "TEMP B-TREE" not in found, found
        assert "USING INDEX sqlite_autoindex_talks_1" in found, found
    else:
        assert "Sort" not in found, found
        assert "Index Scan using ix_talks_id_binary on talks" in found, found


def test_a_page_after_a_cursor_walks_the_id_index(loaded_app: Flask):
    resource = COLLECTIONS["talks"].resource
    engine = parley(loaded_app).engine
    with engine.connect() as connection:
        dialect = connection.dialect.name
        statement = data.page_statement(resource, PageQuery(limit=50, after=AFTER), dialect)
        assert_walks_the_id_index(plan(connection, statement), dialect)


def test_an_export_batch_walks_the_id_index_and_looks_up_each_rows_rendering(
    loaded_app: Flask,
):
    resource = COLLECTIONS["talks"].resource
    engine = parley(loaded_app).engine
    with engine.connect() as connection:
        dialect = connection.dialect.name
        statement = data.page_statement(
            resource,
            PageQuery(limit=0, after=AFTER),
            dialect,
            limit=bindparam("limit"),
            columns=renderings._keyed(()),
        )
        found = plan(connection, statement, limit=renderings.BATCH + 1, variant="v")
        assert_walks_the_id_index(found, dialect)
        if dialect == "sqlite":
            assert "SEARCH renderings USING INDEX sqlite_autoindex_renderings_1" in found, found
        else:
            # One lookup by the whole key per row, not a scan of the renderings per row.
            assert "Index Cond: (((resource)::text" in found, found
            assert "(record_id)::text = (talks.id)::text" in found, found
