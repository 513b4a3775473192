"""Intrinsic functions (``States.Format(...)`` and friends): parse once, evaluate fast.

A call is parsed into a small tree (:class:`Call`, :class:`Literal`, :class:`PathArg`), then
compiled into nested closures; both steps are cached on the text, so a state evaluated 25,000
times parses its intrinsic once. Argument problems raise
``StatesError("States.IntrinsicFailure", ...)``; a path argument that matches nothing raises
:class:`~visiongate.sfn.paths.PathNotFound` (States.Runtime), which the payload builder turns
into AWS's "could not be found in the input" message.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
https://states-language.net/#intrinsic-functions
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from visiongate.sfn import paths
from visiongate.sfn.errors import StatesError, StatesErrorName

MAX_NESTING = 10  # "You can nest up to 10 intrinsic functions within a field."
MAX_RANGE_ITEMS = 1000  # States.ArrayRange: "The new array can contain up to 1000 elements."
MAX_CODEC_CHARS = 10_000  # States.Base64Encode/Base64Decode/Hash: "up to 10,000 characters"
HASH_ALGORITHMS = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


class IntrinsicSyntaxError(StatesError, ValueError):
    """The text is not a well-formed intrinsic call. Error name States.IntrinsicFailure."""

    def __init__(self, text: str, reason: str, position: int | None = None) -> None:
        self.text = text
        self.reason = reason
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(StatesErrorName.INTRINSIC_FAILURE, f"{reason}{where} in '{text}'")


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument: string, number, boolean or null.

    For strings, ``parts`` is the text split on its unescaped ``{}`` placeholders, which is what
    States.Format needs (an escaped ``\\{}`` is literal text, not a placeholder).
    """

    value: Any
    parts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PathArg:
    """A path argument: ``$...`` (input), ``$$...`` (context object) or ``$name...`` (variable)."""

    path: str


@dataclass(frozen=True, slots=True)
class Call:
    """``States.Name(arg, ...)``; arguments are Literal, PathArg or nested Call."""

    name: str
    args: tuple[Literal | PathArg | Call, ...]


# name -> (min args, max args); None = unbounded
ARITY: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
FUNCTIONS: frozenset[str] = frozenset(ARITY)

_NAME = re.compile(r"[A-Za-z0-9_.]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LOOKS_LIKE_CALL = re.compile(r"[A-Za-z0-9_.]+\(")


def is_intrinsic(text: Any) -> bool:
    """True when ``text`` looks like an intrinsic call (``States.Name(`` ... ``)``).

    This is the shape test the payload builder uses to choose between a path and a call; use
    :func:`parse` to know whether the call is valid.
    """
    return (
        isinstance(text, str)
        and text.startswith("States.")
        and text.endswith(")")
        and _LOOKS_LIKE_CALL.match(text) is not None
    )


# ---------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str, position: int | None = None) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(self.text, reason, self.pos if position is None else position)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
            self.pos += 1

    def call(self, depth: int) -> Call:
        if depth > MAX_NESTING:
            raise self.fail(f"intrinsic functions can be nested at most {MAX_NESTING} deep")
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected an intrinsic function name")
        name = match.group(0)
        self.pos = match.end()
        if not name.startswith("States."):
            raise self.fail(
                f"'{name}' is not an intrinsic function (names begin with 'States.')", start
            )
        if name not in ARITY:
            raise self.fail(f"unknown intrinsic function '{name}'", start)
        if self.peek() != "(":
            raise self.fail(f"expected '(' after {name}")
        self.pos += 1
        args: list[Literal | PathArg | Call] = []
        self.spaces()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                self.spaces()
                args.append(self.argument(depth))
                self.spaces()
                c = self.peek()
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    raise self.fail("expected ',' or ')'", self.pos - 1)
        if name == "States.Format" and args:
            first = args[0]
            if isinstance(first, Literal) and not isinstance(first.value, str):
                raise self.fail("the first argument of States.Format must be a string", start)
        low, high = ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = (
                str(low)
                if low == high
                else f"at least {low}"
                if high is None
                else f"{low} to {high}"
            )
            raise self.fail(
                f"{name} takes {expected} argument(s) but {len(args)} were given", start
            )
        return Call(name, tuple(args))

    def argument(self, depth: int) -> Literal | PathArg | Call:
        c = self.peek()
        if c == "'":
            return self.string()
        if c == "$":
            return self.path()
        if c == "-" or "0" <= c <= "9":  # ASCII only: str.isdigit() accepts e.g. "۰"
            match = _NUMBER.match(self.text, self.pos)
            if match is None:
                raise self.fail("invalid number")
            self.pos = match.end()
            try:
                number = json.loads(match.group(0))
            except ValueError:  # e.g. a leading zero: "00"
                raise self.fail("invalid number") from None
            return Literal(number)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if (
                self.text.startswith(word, self.pos)
                and not self.text[self.pos + len(word) : self.pos + len(word) + 1].isalnum()
            ):
                self.pos += len(word)
                return Literal(value)
        if c.isalpha():
            return self.call(depth + 1)
        raise self.fail("expected an argument" if c else "unexpected end of the intrinsic function")

    def string(self) -> Literal:
        start = self.pos
        self.pos += 1
        value: list[str] = []
        parts: list[str] = []
        current: list[str] = []
        while True:
            c = self.peek()
            if not c:
                raise self.fail("string literal is not closed with '", start)
            if c == "\\":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if nxt not in ("'", "{", "}", "\\"):
                    raise self.fail("open escape backslash: only \\' \\{ \\} \\\\ are escapes")
                value.append(nxt)
                current.append(nxt)
                self.pos += 2
                continue
            self.pos += 1
            if c == "'":
                parts.append("".join(current))
                return Literal("".join(value), tuple(parts))
            if c == "{" and self.peek() == "}":
                value.append("{}")
                parts.append("".join(current))
                current = []
                self.pos += 1
                continue
            value.append(c)
            current.append(c)

    def path(self) -> PathArg:
        start = self.pos
        brackets = parens = 0
        quote = ""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = ""
            elif c in ("'", '"') and brackets:
                quote = c
            elif c == "[":
                brackets += 1
            elif c == "]":
                brackets -= 1
            elif c == "(":
                parens += 1
            elif c == ")":
                if parens == 0 and brackets == 0:
                    break
                parens -= 1
            elif c == "," and brackets == 0 and parens == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            paths.parse_path(text)
        except paths.InvalidPath as exc:
            raise self.fail(f"invalid path argument '{text}': {exc.reason}", start) from None
        return PathArg(text)


@lru_cache(maxsize=4096)
def parse(text: str) -> Call:
    """Parse an intrinsic call into a Call tree (cached); raises IntrinsicSyntaxError."""
    if not isinstance(text, str):
        raise IntrinsicSyntaxError(repr(text), "an intrinsic function must be a string")
    parser = _Parser(text)
    call = parser.call(1)
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the closing ')'")
    return call


# ---------------------------------------------------------------------------- evaluation

Arg = Callable[[Any, Any, Any], Any]


def _failure(name: str, message: str) -> StatesError:
    return StatesError(StatesErrorName.INTRINSIC_FAILURE, f"{name}: {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _java_round(value: float) -> int:
    """Java's Math.round: halves go up (AWS "rounds off to the nearest integer")."""
    return math.floor(value + 0.5)


def _integer(name: str, what: str, value: Any) -> int:
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise _failure(name, f"the {what} must be an integer, got {_describe(value)}")
    return value if isinstance(value, int) else _java_round(value)


def _describe(value: Any) -> str:
    try:
        return paths.to_json(value)
    except (TypeError, ValueError):
        return repr(value)


def _array(name: str, value: Any, what: str = "first argument") -> list:
    if type(value) is not list:
        raise _failure(name, f"the {what} must be an array, got {_describe(value)}")
    return value


def _string(name: str, value: Any, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise _failure(name, f"the {what} must be a string, got {_describe(value)}")
    return value


def _java_double(value: float) -> str:
    """Java's Double.toString, which AWS uses when it formats a number into a string."""
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    return ("-" if sign else "") + mantissa[0] + "." + (mantissa[1:] or "0") + f"E{power}"


def to_java_string(value: Any) -> str:
    """The text AWS puts into States.Format: Java's toString of the JSON value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_java_string(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={to_java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def _canonical(value: Any) -> str:
    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    return json.dumps(norm(value), sort_keys=True)


def _fn_format(name: str, args: list, template: tuple[str, ...] | None) -> str:
    if template is None:
        text = _string(name, args[0], "first argument (the template)")
        template = tuple(text.split("{}"))
    values = args[1:]
    if len(template) - 1 != len(values):
        raise _failure(
            name,
            f"the template has {len(template) - 1} placeholder(s) but {len(values)} value(s) "
            "were given",
        )
    out = [template[0]]
    for value, piece in zip(values, template[1:], strict=True):
        out.append(to_java_string(value))
        out.append(piece)
    return "".join(out)


def _fn_string_to_json(name: str, args: list) -> Any:
    text = _string(name, args[0])
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _failure(name, f"the argument is not valid JSON: {exc}") from None


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _fn_json_to_string(name: str, args: list) -> str:
    try:
        return paths.to_json(args[0])
    except (TypeError, ValueError) as exc:
        raise _failure(name, f"the argument cannot be written as JSON: {exc}") from None


def _fn_array_partition(name: str, args: list) -> list:
    array = _array(name, args[0])
    size = _integer(name, "chunk size", args[1])
    if size <= 0:
        raise _failure(name, f"the chunk size must be a positive integer, got {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _fn_array_contains(name: str, args: list) -> bool:
    array = _array(name, args[0])
    return any(paths.json_equal(item, args[1]) for item in array)


def _fn_array_range(name: str, args: list) -> list:
    first = _integer(name, "first element", args[0])
    last = _integer(name, "last element", args[1])
    step = _integer(name, "step", args[2])
    if step == 0:
        raise _failure(name, "the step must not be zero")
    count = max(0, (last - first) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise _failure(
            name, f"the array would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )
    return list(range(first, last + (1 if step > 0 else -1), step))


def _fn_array_get_item(name: str, args: list) -> Any:
    array = _array(name, args[0])
    index = _integer(name, "index", args[1])
    if not 0 <= index < len(array):
        raise _failure(
            name, f"the index {index} is out of bounds (the array has {len(array)} items)"
        )
    return array[index]


def _fn_array_unique(name: str, args: list) -> list:
    seen: set[str] = set()
    out = []
    for item in _array(name, args[0], "argument"):
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _limited(name: str, value: Any) -> str:
    text = _string(name, value)
    if len(text) > MAX_CODEC_CHARS:
        raise _failure(
            name, f"the input has {len(text)} characters; at most {MAX_CODEC_CHARS} are allowed"
        )
    return text


def _fn_base64_encode(name: str, args: list) -> str:
    return base64.b64encode(_limited(name, args[0]).encode("utf-8")).decode("ascii")


def _fn_base64_decode(name: str, args: list) -> str:
    text = _limited(name, args[0])
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _failure(name, "the argument is not valid Base64-encoded UTF-8 text") from None


def _fn_hash(name: str, args: list) -> str:
    data = _limited(name, args[0])
    algorithm = args[1]
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        raise _failure(
            name,
            f"the algorithm must be one of {', '.join(HASH_ALGORITHMS)}, got {_describe(algorithm)}",
        )
    return HASH_ALGORITHMS[algorithm](data.encode("utf-8")).hexdigest()


def _fn_json_merge(name: str, args: list) -> dict:
    left, right, deep = args
    for what, value in (("first", left), ("second", right)):
        if not isinstance(value, Mapping):
            raise _failure(
                name, f"the {what} argument must be a JSON object, got {_describe(value)}"
            )
    if not isinstance(deep, bool):
        raise _failure(name, f"the third argument must be the boolean false, got {_describe(deep)}")
    if deep:
        raise _failure(name, "deep merging is not supported; the third argument must be false")
    merged = dict(left)
    merged.update(right)
    return merged


def _fn_math_random(name: str, args: list) -> int:
    start = _integer(name, "start number", args[0])
    end = _integer(name, "end number", args[1])
    if start > end:
        raise _failure(name, f"the start number {start} is greater than the end number {end}")
    if len(args) == 3:
        seed = _integer(name, "seed", args[2])
        return random.Random(seed).randint(start, end)
    return random.randint(start, end)  # noqa: S311 - AWS documents this as not cryptographic


def _fn_math_add(name: str, args: list) -> int:
    return _integer(name, "first argument", args[0]) + _integer(name, "second argument", args[1])


def _fn_string_split(name: str, args: list) -> list[str]:
    text = _string(name, args[0], "first argument")
    delimiters = _string(name, args[1], "delimiter")
    if not delimiters:
        return [text] if text else []
    pattern = "[" + re.escape(delimiters) + "]"
    return [part for part in re.split(pattern, text) if part]


def _fn_uuid(name: str, args: list) -> str:
    return str(uuid.uuid4())


_IMPLEMENTATIONS: dict[str, Callable[[str, list], Any]] = {
    "States.StringToJson": _fn_string_to_json,
    "States.JsonToString": _fn_json_to_string,
    "States.Array": lambda name, args: list(args),
    "States.ArrayPartition": _fn_array_partition,
    "States.ArrayContains": _fn_array_contains,
    "States.ArrayRange": _fn_array_range,
    "States.ArrayGetItem": _fn_array_get_item,
    "States.ArrayLength": lambda name, args: len(_array(name, args[0], "argument")),
    "States.ArrayUnique": _fn_array_unique,
    "States.Base64Encode": _fn_base64_encode,
    "States.Base64Decode": _fn_base64_decode,
    "States.Hash": _fn_hash,
    "States.JsonMerge": _fn_json_merge,
    "States.MathRandom": _fn_math_random,
    "States.MathAdd": _fn_math_add,
    "States.StringSplit": _fn_string_split,
    "States.UUID": _fn_uuid,
}


def _compile_arg(arg: Literal | PathArg | Call) -> Arg:
    if isinstance(arg, Literal):
        value = arg.value
        return lambda data, context, variables: value
    if isinstance(arg, PathArg):
        path = arg.path
        getter = paths.compile_path(path)
        root = paths.parse_path(path).root
        if root == "$":
            return lambda data, context, variables: getter(data)
        if root == "$$":
            return lambda data, context, variables: getter(context)
        return lambda data, context, variables: paths.resolve(path, data, context, variables)
    return _compile_call(arg)


@lru_cache(maxsize=4096)
def _compile_call(call: Call) -> Arg:
    name = call.name
    arg_fns = tuple(_compile_arg(a) for a in call.args)
    if name == "States.Format":
        first = call.args[0]
        template = first.parts if isinstance(first, Literal) and first.parts is not None else None

        def run_format(data: Any, context: Any, variables: Any) -> Any:
            return _fn_format(name, [fn(data, context, variables) for fn in arg_fns], template)

        return run_format
    impl = _IMPLEMENTATIONS[name]

    def run(data: Any, context: Any, variables: Any) -> Any:
        return impl(name, [fn(data, context, variables) for fn in arg_fns])

    return run


@lru_cache(maxsize=4096)
def compile_intrinsic(text: str) -> Arg:
    """``fn(data, context, variables) -> value`` for ``text`` (parsed and compiled once)."""
    return _compile_call(parse(text))


def evaluate(
    text_or_ast: str | Call,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate a call against the state input ``data`` and the ``context`` object.

    Bad arguments raise StatesError("States.IntrinsicFailure", ...); a path argument that
    matches nothing raises paths.PathNotFound (States.Runtime).
    """
    if isinstance(text_or_ast, Call):
        return _compile_call(text_or_ast)(data, context, variables)
    return compile_intrinsic(text_or_ast)(data, context, variables)
