"""The Python limit of a CSV export: the driver and ``csv.writer`` over the talks table.

``python -m tests.bench.rawcsv URL`` writes every row of the talks table, as
the driver returns it, to standard output with ``csv.writer``: ``sqlite3`` for
a SQLite URL, psycopg with a server-side cursor for a PostgreSQL one. Nothing
else happens per row, so no export that writes these rows can be faster in
Python.
"""

from __future__ import annotations

import csv
import sqlite3
import sys

QUERY = "SELECT * FROM talks"
BATCH = 2000


def export_sqlite(path: str) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = connection.execute(QUERY)
        writer = csv.writer(sys.stdout)
        writer.writerow([column[0] for column in cursor.description])
        writer.writerows(cursor)
    finally:
        connection.close()


def export_postgresql(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as connection, connection.cursor(name="talks") as cursor:
        cursor.itersize = BATCH
        cursor.execute(QUERY)
        writer = csv.writer(sys.stdout)
        writer.writerow([column.name for column in cursor.description or ()])
        writer.writerows(cursor)


def main(argv: list[str]) -> None:
    # The URL as DATABASE_URL gives it; parsed by hand, since importing SQLAlchemy
    # would add its import time to the loop's.
    scheme, _, rest = argv[0].partition("://")
    if scheme == "sqlite":
        export_sqlite(rest.removeprefix("/"))
    else:
        export_postgresql(f"postgresql://{rest}")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
