"""Text that no database can store, found with the path to it.

NUL: PostgreSQL refuses it in text (the API refuses it in writes too). Lone
surrogates (YAML's ``"\\ud800"``, JSON's ``"\\ud800"``): they are not Unicode
text, and no encoding can send them to a database driver.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

NUL = "\x00"
SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """``text`` with lone surrogates written as escapes, so that a message can hold it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def strings(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """``(path, text, is_key)`` for every string in ``value`` and every string key of its
    mappings, in document order (a key before its value), with paths as the loader
    writes them (``talks[0].aims[1]``)."""
    pending: list[tuple[Any, str, bool]] = [(value, path, False)]
    while pending:  # a loop, not recursion: documents nest as deep as the stack allows
        item, where, is_key = pending.pop()
        if isinstance(item, str):
            yield where, item, is_key
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                name = f"{where}.{shown(str(key))}" if where else shown(str(key))
                pending.append((child, name, False))
                if isinstance(key, str):
                    pending.append((key, name, True))
        elif isinstance(item, list):
            pending.extend(
                (child, f"{where}[{i}]", False) for i, child in reversed(list(enumerate(item)))
            )


def _problem(text: str) -> str | None:
    if SURROGATE.search(text):
        return "holds a lone surrogate, which is not Unicode text"
    if NUL in text:
        return "must not contain NUL characters"
    return None


def unstorable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(path, message)`` for every key and string in ``value`` that cannot be stored."""
    for where, text, is_key in strings(value, path):
        message = _problem(text)
        if message is not None:
            yield where, f"(a key) {message}" if is_key else message
