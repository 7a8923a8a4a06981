"""JSON in and out: request bodies parsed with Decimal, responses with exact numbers.

Money never passes through float: JSON numbers are read as Decimal, and a Decimal is
written as the number it is (``12.50``, not ``"12.50"`` and not ``12.5``).
"""

from __future__ import annotations

import json
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from flask import Response, request

from ..listing import calendar_day, read_day_or_time, whole_number
from . import bp
from .errors import ApiError

MAX_EXPONENT = 30  # |number| beyond 1e30 is never a valid amount, rate or count


def _parse_number(text: str) -> Decimal:
    # Refuse huge magnitudes up front: int() of 1e999999999 would take minutes.
    value = Decimal(text)
    if value and value.adjusted() > MAX_EXPONENT:
        raise ValueError("number out of range")
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_EXPONENT:
        raise ValueError("number out of range")
    return int(text)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def check_text(value: str, where: str, field: str | None = None) -> str:
    """Refuse NUL characters and lone surrogates, which no database column can store."""
    if "\x00" in value:
        raise ApiError(
            "invalid_input", f"{where} must not contain NUL characters.", field, status=400
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            "invalid_input", f"{where} is not valid UTF-8 text.", field, status=400
        ) from None
    return value


def _check_strings(value: Any, where: str = "body") -> None:
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            _check_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, where)


def parse_json(raw: bytes) -> Any:
    """Parse request bytes as JSON (numbers as Decimal), or raise `invalid_json`."""
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_float=_parse_number,
            parse_int=_parse_int,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError, ArithmeticError) as exc:
        raise ApiError(
            "invalid_json", f"The request body is not valid JSON: {exc}", status=400
        ) from None
    _check_strings(data)
    return data


def body(*, required: bool = True) -> dict:
    """The request's JSON object (whatever the Content-Type says); {} when empty and optional."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(
                "invalid_json", "A JSON object is required as the request body.", status=400
            )
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ApiError("invalid_json", "The request body must be a JSON object.", status=400)
    return data


def bounded(value, name: str):
    """Refuse numbers written as text that no count or amount can be: NaN, 1e99999999.

    The domain's parsers turn such text into int() calls that never finish or that raise
    ValueError; everything else is passed on unchanged for the domain to judge.
    """
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return value
        if not number.is_finite() or (number and number.adjusted() > MAX_EXPONENT):
            raise ApiError("invalid_number", f"{name} is not a usable number.", name, status=400)
    return value


def optional_text(data: dict, name: str) -> str | None:
    """A string field, None when absent or null; any other type is refused."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ApiError("invalid_input", f"{name} must be a string.", name, status=400)


def optional_bool(data: dict, name: str, default: bool) -> bool:
    """A boolean field with a default when absent."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise ApiError("invalid_input", f"{name} must be true or false.", name, status=400)


def optional_object(data: dict, name: str) -> dict:
    """A nested object, {} when absent."""
    value = data.get(name)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ApiError("invalid_input", f"{name} must be an object.", name, status=400)


def parse_date(raw: str | None, name: str, zone: tzinfo | None = None) -> date | None:
    """A calendar day given as `YYYY-MM-DD` or as an ISO 8601 date-time; None when empty.

    A date-time with `Z` or an offset is the day it falls on in `zone` (default: the store's
    timezone): 2024-04-02T03:00:00Z is 2024-04-02 in São Paulo, 2024-04-02T02:00:00Z is
    2024-04-01 there. Without a zone it is the store's wall-clock time: its date part.
    What is neither, or a year outside 1900-9998, is a 400 naming the field.
    """
    if raw is None or raw == "":
        return None
    refusal = ApiError(
        "invalid_date",
        f"{name} must be a date such as 2024-01-31 or an ISO 8601 date-time "
        "such as 2024-01-31T03:00:00Z.",
        name,
        status=400,
    )
    if not isinstance(raw, str):
        raise refusal
    try:
        value = read_day_or_time(raw)
    except ValueError:
        raise refusal from None
    if not 1900 <= value.year <= 9998:
        raise ApiError("invalid_date", f"{name} is out of range.", name, status=400)
    return calendar_day(value, zone)


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot write a non-finite number")
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any) -> str:
    """JSON text in which Decimals are written as exact numbers."""
    return _encode(value)


def reply(value: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(dumps(value), status=status, mimetype="application/json")


@bp.before_request
def check_request_text() -> None:
    """Refuse NUL characters in the query string and path, as in bodies."""
    for name, value in request.args.items(multi=True):
        check_text(name, "query string")
        check_text(value, name, name)
    for name, value in (request.view_args or {}).items():
        check_text(str(value), name, name)


def _position(raw: str, name: str) -> int:
    """A 1-based position: 1 to 9 ASCII digits ("²" and "٣" are not), or a 400 naming it."""
    number = whole_number(raw)
    if number is None or number < 1:
        raise ApiError(
            "invalid_paging",
            f"{name} must be a position from 1 to 999999999 (digits 0-9 only).",
            name,
            status=400,
        )
    return number


def window(args, *, default_size: int = 20, max_size: int = 1000) -> tuple[int, int] | None:
    """The contract's paging: `from`/`to` are 1-based positions, both included.

    Returns (offset, limit), or None when neither is given (listing paging applies).
    A position that is not a whole number from 1 is a 400 naming the parameter.
    """
    if not args.get("from") and not args.get("to"):
        return None
    start = _position(args.get("from") or "1", "from")
    end = _position(args["to"], "to") if args.get("to") else start + default_size - 1
    if end < start:
        raise ApiError("invalid_paging", "to must not be before from.", "to", status=400)
    return start - 1, min(end - start + 1, max_size)
