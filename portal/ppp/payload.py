"""JSON in and out for the protocol: numbers as Decimal, text that a database can store."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Response, g, request

MAX_EXPONENT = 30  # no amount, count or id needs a number beyond 1e30


class PppError(Exception):
    """A refusal decided by the protocol layer itself (credentials, malformed JSON)."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _number(text: str) -> Decimal:
    value = Decimal(text)
    if value and value.adjusted() > MAX_EXPONENT:
        raise ValueError("number out of range")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_EXPONENT:
        raise ValueError("number out of range")
    return int(text)


def _constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def storable(value: str) -> bool:
    """Whether a string can be stored and compared in every database (no NUL, valid UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_strings(value: Any) -> None:
    if isinstance(value, str) and not storable(value):
        raise PppError("invalid_json", "Text must not contain NUL or lone surrogates.", 400)
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def body() -> dict:
    """The request's JSON object (whatever the Content-Type says), kept on g for errors."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_float=_number, parse_int=_integer, parse_constant=_constant
        )
    except (ValueError, RecursionError, ArithmeticError):
        raise PppError("invalid_json", "The request body must be a JSON object.", 400) from None
    if not isinstance(data, dict):
        raise PppError("invalid_json", "The request body must be a JSON object.", 400)
    _check_strings(data)
    g.ppp_body = data
    return data


def text(data: dict, name: str) -> str | None:
    """A string field; None when absent, null or not a string."""
    value = data.get(name)
    return value if isinstance(value, str) else None


def obj(data: dict, name: str) -> dict:
    """A nested object; {} when absent or not an object."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any) -> str:
    """JSON text in which Decimals are written as exact numbers (57.00, not "57.00")."""
    return _encode(value)


def loads(text_: str) -> Any:
    """Parse JSON this module wrote, numbers back to Decimal."""
    return json.loads(text_, parse_float=Decimal)


def reply(value: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(dumps(value), status=status, mimetype="application/json")
