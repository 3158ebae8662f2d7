"""JSON text for everything planflow stores and answers: orjson, with the standard library's
output where orjson differs or refuses.

Every request writes JSON several times (the instance's data, audit details, the answer), and
the standard library's encoder was a visible share of a request's CPU (bench/RESULTS.md). orjson
(a maintained, widely used Rust extension) is several times faster. It is kept to what the
standard library would have produced: dates and datetimes still go through the caller's
``default``; integers beyond 64 bits, strings that are not UTF-8 (a lone surrogate) and other
values orjson refuses fall back to ``json``, and so does reading text that may hold an integer
beyond 64 bits (orjson would read it as a float). Its text is UTF-8 where ``json`` escaped
non-ASCII characters: the same JSON values, shorter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | (
    orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(
    value: Any, default: Callable[[Any], Any] | None = None, *, sort_keys: bool = False
) -> str:
    """``value`` as compact JSON text (``default`` for what JSON lacks, keys sorted if asked),
    UTF-8 where orjson writes it, ASCII-escaped where the standard library had to."""
    return dumps_bytes(value, default, sort_keys=sort_keys).decode()


def dumps_bytes(
    value: Any, default: Callable[[Any], Any] | None = None, *, sort_keys: bool = False
) -> bytes:
    options = _OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _OPTIONS
    try:
        return orjson.dumps(value, default=default, option=options)
    except (TypeError, orjson.JSONEncodeError):
        # e.g. an integer beyond 64 bits or a lone surrogate in a string (not UTF-8): the
        # standard library decides, ASCII-escaped as before (and raises where it would have).
        return json.dumps(
            value, default=default, sort_keys=sort_keys, separators=(",", ":")
        ).encode()


# orjson reads an integer beyond 64 bits as a float, without a word (2**70 + 1 came back as
# 1.1805916207174113e+21). Only 19 digits in a row can be one; the standard library reads such
# text (a long digit run in a string or a float only costs its speed). Found by translating every
# digit to 0 and looking for nineteen zeros: a few C passes (a regular expression took longer than
# the parse itself).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def loads(text: str | bytes) -> Any:
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if _LONG_RUN in raw.translate(_DIGITS_AS_ZERO):
        return json.loads(text)
    try:
        return orjson.loads(raw)  # the UTF-8 bytes already made: orjson need not make them again
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN / Infinity, which the standard library wrote and reads
