"""The functions Step Functions adds to JSONata, and the one it removes.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

    $partition(array, chunkSize)   chunks of chunkSize, the last one holding the rest
    $range(start, end, step)       start..end (inclusive when step lands on it)
    $hash(data, algorithm)         hex digest: MD5, SHA-1, SHA-256, SHA-384, SHA-512
    $random([seed])                a number in [0, 1), repeatable for a seed
    $uuid()                        a version 4 UUID
    $parse(jsonString)             the JSON value (in place of $eval, which is not supported)

Non-integer numbers are rounded towards zero. Where AWS's answer is *undefined* (a chunk size of
zero, an empty array, a range whose step is missing or points the wrong way, a hash without an
algorithm) the function raises :class:`UndefinedResult` and the expression evaluates to
undefined (jsonatapy's host functions cannot return undefined themselves).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any

UNDEFINED_MARK = "SFN_UNDEFINED_RESULT"
_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class UndefinedResult(ValueError):
    """Raised by an extra function whose AWS counterpart evaluates to undefined."""

    def __init__(self) -> None:
        super().__init__(UNDEFINED_MARK)


def _integer(value: Any, name: str, position: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"T0410: Argument {position} of function {name} must be a number")
    return int(value)  # AWS rounds towards zero


def _partition(array: Any, size: Any) -> Any:
    if not isinstance(array, list):
        raise ValueError('T0410: Argument 1 of function "partition" must be an array')
    chunk = _integer(size, '"partition"', 2)
    if chunk <= 0 or not array:
        raise UndefinedResult()
    return [array[i : i + chunk] for i in range(0, len(array), chunk)]


def _range(start: Any, end: Any, step: Any = None) -> Any:
    first = _integer(start, '"range"', 1)
    last = _integer(end, '"range"', 2)
    if step is None:
        raise UndefinedResult()
    stride = _integer(step, '"range"', 3)
    if stride == 0 or (last - first) * stride < 0:
        raise UndefinedResult()
    count = (last - first) // stride + 1
    if count > 1_000_000:
        raise ValueError(
            "D2014: The size of the sequence allocated by the range operator exceeds 1e6"
        )
    values = list(range(first, last + (1 if stride > 0 else -1), stride))
    return values[0] if len(values) == 1 else values


def _hash(data: Any, algorithm: Any = None) -> Any:
    if algorithm is None:
        raise UndefinedResult()
    if not isinstance(data, str):
        raise ValueError('T0410: Argument 1 of function "hash" must be a string')
    name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise ValueError(
            f"Unsupported hash algorithm '{algorithm}': use one of " + ", ".join(_HASHES)
        )
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()
    return random.Random(_integer(seed, '"random"', 1)).random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise ValueError('T0410: Argument 1 of function "parse" must be a string')
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"The string '{text}' is not valid JSON") from None


def _no_eval(*_args: Any) -> Any:
    raise ValueError("T1006: Attempted to invoke a non-function")


EXTRAS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
}
OVERRIDES: dict[str, Callable[..., Any]] = {"random": _random, "eval": _no_eval}
