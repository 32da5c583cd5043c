"""The quotes synthetic citations draw from: spans of one line of a seed document.

A pool of verbatim spans is cut once per run (deterministically from the seed);
each citation then picks one in SQL. Every span lies inside its document's
lines and never crosses a line break, so each quote checks against the seed.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass

from api.seeds import SeedDocument, Seeds
from api.synth.proportions import QUOTE_LENGTH

POOL_SIZE = 4096


class NothingToQuote(Exception):
    """No source document has a line long enough to quote."""


@dataclass(frozen=True)
class Quote:
    source: str
    quote: str
    start: int
    end: int


def _lines(seeds: Seeds, document: SeedDocument) -> list[tuple[int, int]]:
    """The (start, end) code-point offsets of the document's lines in its seed file."""
    spans = []
    offset = 0
    for line in seeds.text_of(document).split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        if document.char_start <= start and end <= document.char_end:
            spans.append((start, end))
    return spans


def quote_pool(seeds: Seeds, documents: Sequence[SeedDocument], seed: int) -> list[Quote]:
    """POOL_SIZE random spans: every document in turn, a length of QUOTE_LENGTH (or the
    longest line's), and a start drawn uniformly among the spans of that length."""
    low, high = QUOTE_LENGTH
    lines = {d.id: _lines(seeds, d) for d in documents}
    usable = [d for d in documents if any(e - s >= low for s, e in lines[d.id])]
    if not usable:
        raise NothingToQuote("no source document has a line long enough to quote")
    rng = random.Random(f"quotes/{seed}")  # noqa: S311 - reproducible data, not secrets
    pool = []
    for number in range(POOL_SIZE):
        document = usable[number % len(usable)]
        longest = max(e - s for s, e in lines[document.id])
        length = min(rng.randint(low, high), longest)
        # Each line offers (its length - length + 1) starts; draw one of all of them.
        firsts, running, total = [], [], 0
        for start, end in lines[document.id]:
            if end - start >= length:
                firsts.append(start)
                total += end - start - length + 1
                running.append(total)
        k = rng.randrange(total)
        i = bisect.bisect_right(running, k)
        start = firsts[i] + k - (running[i - 1] if i else 0)
        text = seeds.text_of(document)[start : start + length]
        pool.append(Quote(document.id, text, start, start + length))
    return pool
