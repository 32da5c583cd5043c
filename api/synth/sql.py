"""SQL building blocks of the generator: number series, seeded draws, picks and JSON.

Every random choice is a function of (seed, what is drawn, record number)
computed in integer arithmetic that SQLite and PostgreSQL evaluate alike, so a
seed gives the same rows on both, and rows are made by the database itself
(``INSERT ... SELECT``) at the speed of its own loops rather than Python's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

# A prime below 2**31: draws are residues modulo it, and the square of a residue
# stays below 2**62, inside both backends' 64-bit integers.
PRIME = 2_147_483_647
MULTIPLIER = 48_271

Expression = ColumnElement[Any]


def number(value: int) -> Expression:
    """An integer written into the SQL (constants of the generator, never input)."""
    return literal_column(str(int(value)), BigInteger)


class Sql:
    """The expressions of one run: a backend's dialect and the run's seed."""

    def __init__(self, dialect: str, seed: int) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"synthetic data is generated on SQLite or PostgreSQL, not {dialect}")
        self.postgresql = dialect == "postgresql"
        self.seed = seed
        self._salts: dict[str, tuple[int, int, int]] = {}

    # --- rows to generate from -------------------------------------------------------------

    def series(self, count: int, name: str) -> FromClause:
        """The numbers 1..count as column ``n``."""
        if self.postgresql:
            return (
                func.generate_series(number(1), number(count))
                .table_valued("n")
                .render_derived(name=name)
            )
        seq = select(literal_column("1", BigInteger).label("n")).cte(name, recursive=True)
        return seq.union_all(select(seq.c.n + 1).where(seq.c.n < number(count)))

    def indexes(self, count: int, name: str) -> FromClause:
        """The numbers 0..count-1 as column ``i`` (the places in a record's list)."""
        places = [select(number(i).label("i")) for i in range(count)]
        return union_all(*places).subquery(name) if count > 1 else places[0].subquery(name)

    # --- draws -------------------------------------------------------------------------------

    def _constants(self, salt: str) -> tuple[int, int, int]:
        if salt not in self._salts:
            rng = random.Random(f"{self.seed}/{salt}")  # noqa: S311 - reproducible data
            self._salts[salt] = (rng.randrange(PRIME), rng.randrange(PRIME), rng.randrange(PRIME))
        return self._salts[salt]

    def draw(self, x: Expression, salt: str) -> Expression:
        """A residue in [0, PRIME) that looks random in ``x`` (a non-negative integer
        below 2**31), different for every salt: two rounds of squaring after an affine
        step, so that neighbouring records and different salts are not correlated."""
        a, b, c = self._constants(salt)
        prime = number(PRIME)
        step = (cast(x, BigInteger) * number(MULTIPLIER) + number(a)) % prime
        step = (step * step + number(b)) % prime
        return (step * step + number(c)) % prime

    def below(self, x: Expression, salt: str, share: float) -> Expression:
        """True for about ``share`` of the values of ``x``."""
        return self.draw(x, salt) < number(int(share * PRIME))

    def between(self, x: Expression, salt: str, low: int, high: int) -> Expression:
        """An integer of [low, high], both included."""
        return number(low) + self.draw(x, salt) % number(high - low + 1)

    def pick(self, index: Expression, items: Sequence[str]) -> Expression:
        """``items[index]`` for an index of [0, len(items))."""
        return case(
            *((number(i), literal(item, Text)) for i, item in enumerate(items)), value=index
        )

    def choose(self, x: Expression, salt: str, items: Sequence[str]) -> Expression:
        return self.pick(self.draw(x, salt) % number(len(items)), items)

    @staticmethod
    def maybe(condition: Expression, value: Expression) -> Expression:
        """``value`` where ``condition`` holds, else NULL."""
        return case((condition, value), else_=null())

    def template(self, text: str, **values: Expression) -> Expression:
        """``text`` with each ``{name}`` replaced by an expression (SQL concatenation)."""
        parts: list[Expression] = []
        rest = text
        while "{" in rest:
            before, _, after = rest.partition("{")
            name, _, rest = after.partition("}")
            if before:
                parts.append(literal(before, Text))
            parts.append(values[name])
        if rest:
            parts.append(literal(rest, Text))
        result = parts[0]
        for part in parts[1:]:
            result = result.concat(part)
        return result

    def templates(
        self, index: Expression, texts: Sequence[str], **values: Expression
    ) -> Expression:
        """``texts[index]``, filled in."""
        return case(
            *((number(i), self.template(t, **values)) for i, t in enumerate(texts)), value=index
        )

    # --- values ------------------------------------------------------------------------------

    def text(self, value: Expression) -> Expression:
        return cast(value, Text)

    def ident(self, prefix: str, digits: int, n: Expression) -> Expression:
        """``prefix`` and ``n`` zero-padded to ``digits`` (``synth_id`` in SQL)."""
        if self.postgresql:
            written = cast(n, Text)
            width = func.greatest(number(digits), func.length(written))
            return literal(prefix, String).concat(func.lpad(written, width, "0"))
        return func.printf(f"{prefix.replace('%', '%%')}%0{digits}d", n)

    def number_of(self, ident: Expression, prefix: str) -> Expression:
        """The number an ``ident`` carries after ``prefix``."""
        return cast(func.substr(ident, len(prefix) + 1), BigInteger)

    def day(self, first: date, offset: Expression) -> Expression:
        """The date ``offset`` days after ``first``."""
        if self.postgresql:
            return cast(literal(first.isoformat()), Date) + cast(offset, Integer)
        return func.date(first.isoformat(), literal("+").concat(self.text(offset)).concat(" days"))

    # --- JSON --------------------------------------------------------------------------------

    def json_object(self, members: Sequence[tuple[str, Expression]]) -> Expression:
        arguments: list[Any] = []
        for key, value in members:
            arguments += [literal(key, String), value]
        if self.postgresql:
            return func.json_build_object(*arguments)
        return func.json_object(*arguments)

    def json_array(self, items: Sequence[Expression]) -> Expression:
        if self.postgresql:
            return func.json_build_array(*items)
        return func.json_array(*items)

    def json_value(self, json_column: Expression) -> Expression:
        """A JSON column's value inside a JSON document (SQLite keeps JSON as text)."""
        return json_column if self.postgresql else func.json(json_column)

    def json_list(
        self, statement: Select[Any], order: Expression, outer: FromClause, *, objects: bool
    ) -> Expression:
        """The JSON array of column ``v`` of ``statement`` (rows related to a row of
        ``outer``), in ``order``; ``[]`` when there are none. ``objects`` says ``v`` is
        a JSON object rather than a plain value."""
        statement = statement.correlate(outer)
        item = statement.selected_columns["v"]
        if self.postgresql:
            aggregated = func.json_agg(aggregate_order_by(item, order))
            empty: Expression = literal_column("'[]'::json")
            return statement.with_only_columns(func.coalesce(aggregated, empty)).scalar_subquery()
        # SQLite aggregates in the order its subquery delivers the rows.
        ordered = statement.add_columns(order.label("o")).order_by(order).subquery()
        # Out of a subquery a JSON object is text again: json() makes it an object.
        item = func.json(ordered.c.v) if objects else ordered.c.v
        inner = select(func.json_group_array(item)).scalar_subquery()
        return func.json(inner)
