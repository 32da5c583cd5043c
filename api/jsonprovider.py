"""JSON responses through orjson, byte for byte what the standard encoder writes.

Flask's own provider (sorted keys, no ASCII escaping, compact separators) is
the reference: orjson writes the same bytes for the values the API sends
(strings, integers, lists, objects), several times faster. Anything orjson
would write differently or refuses (dates, which Flask writes as HTTP dates;
integers beyond 64 bits; strings holding lone surrogates) goes to Flask's
provider instead, so no output changes. A test compares the two on every
endpoint.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response as BaseResponse

# Dates and dataclasses go to Flask's ``default``, as they would without orjson.
OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is written by Flask's provider")


def encoded(obj: Any) -> bytes | None:
    """``obj`` as Flask's provider writes it (without the final newline), or None when
    only Flask's provider can write it."""
    try:
        return orjson.dumps(obj, option=OPTIONS, default=_refuse)
    except TypeError:
        return None


class FastJSONProvider(DefaultJSONProvider):
    sort_keys = True
    ensure_ascii = False

    def _fast(self, obj: Any) -> bytes | None:
        return encoded(obj)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs:
            fast = self._fast(obj)
            if fast is not None:
                return fast.decode()
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> BaseResponse:
        obj = self._prepare_response_obj(args, kwargs)
        indented = self.compact is False or (self.compact is None and self._app.debug)
        fast = None if indented else self._fast(obj)
        if fast is None:
            return super().response(*args, **kwargs)
        # Flask ends a JSON response with a newline.
        response: BaseResponse = self._app.response_class(fast + b"\n", mimetype=self.mimetype)  # type: ignore[arg-type]
        return response
