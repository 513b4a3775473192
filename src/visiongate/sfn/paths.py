"""JSONPath for Amazon States Language: InputPath, OutputPath, ItemsPath, ResultPath, ``$$``.

AWS evaluates paths with Jayway JsonPath semantics, which this module reproduces:

* a *definite* path (only names and single indexes) yields one value, or fails with Jayway's
  message (``No results for path: $['x']``, ``Missing property in path $['a']``);
* an *indefinite* path (``*``, ``..``, slices, unions, filters) yields a list, possibly empty;
* ResultPath and Choice ``Variable`` accept only *reference paths* (the definite subset);
* ``$$.x`` reads the context object; ``$name.x`` reads the workflow variable ``name``.

https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
https://states-language.net/#path
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from visiongate.sfn.errors import StatesError, StatesErrorName


class PathNotFound(StatesError):
    """A path matched nothing. ``error`` is States.Runtime unless the caller picks another name.

    ``reason`` is Jayway's own text (``No results for path: $['x']``); the cause follows AWS's
    InputPath/OutputPath wording ``Invalid path '$.x' : <reason>``.
    """

    def __init__(self, path: str, reason: str = "", error: str = StatesErrorName.RUNTIME) -> None:
        self.path = path
        self.reason = reason or f"No results for path: {path}"
        super().__init__(error, f"Invalid path '{path}' : {self.reason}")


class InvalidPath(StatesError, ValueError):
    """The text is not a JSONPath AWS accepts. Error name States.Runtime."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(StatesErrorName.RUNTIME, f"Invalid path '{path}': {reason}")


# ---------------------------------------------------------------------------- syntax tree

KEY, INDEX, WILDCARD, SLICE, KEYS, INDEXES, FILTER = range(7)


@dataclass(frozen=True, slots=True)
class Step:
    """One path segment. ``kind`` is one of KEY, INDEX, WILDCARD, SLICE, KEYS, INDEXES, FILTER."""

    kind: int
    arg: Any = None
    deep: bool = False  # reached through ``..`` (recursive descent)

    def fragment(self) -> str:
        """Jayway's normalized spelling, used in error messages: ``['a']``, ``[0]``, ``[*]``."""
        prefix = ".." if self.deep else ""
        if self.kind == KEY:
            return f"{prefix}['{self.arg}']"
        if self.kind == INDEX:
            return f"{prefix}[{self.arg}]"
        if self.kind == WILDCARD:
            return f"{prefix}[*]"
        if self.kind == SLICE:
            start, stop = self.arg
            return f"{prefix}[{'' if start is None else start}:{'' if stop is None else stop}]"
        if self.kind == KEYS:
            return prefix + "[" + ", ".join(f"'{k}'" for k in self.arg) + "]"
        if self.kind == INDEXES:
            return prefix + "[" + ",".join(str(i) for i in self.arg) + "]"
        return f"{prefix}[?({self.arg.text})]"


@dataclass(frozen=True, slots=True)
class ParsedPath:
    """A parsed path. ``root`` is ``$`` (data), ``$$`` (context) or ``$name`` (variable)."""

    text: str
    root: str
    steps: tuple[Step, ...]
    definite: bool
    reference: bool

    def normalized(self, upto: int | None = None) -> str:
        steps = self.steps if upto is None else self.steps[:upto]
        return "$" + "".join(step.fragment() for step in steps)


# ---------------------------------------------------------------------------- parser


class _Parser:
    """Recursive-descent reader of Jayway's path grammar (the subset AWS documents)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str) -> InvalidPath:
        return InvalidPath(self.text, reason)

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def parse(self) -> ParsedPath:
        text = self.text
        if not isinstance(text, str) or not text.startswith("$"):
            raise self.fail("a path must begin with '$'")
        root = "$"
        self.pos = 1
        if text.startswith("$$"):
            root, self.pos = "$$", 2
        elif self.peek().isalpha() or self.peek() == "_":
            start = self.pos
            while self.peek().isalnum() or self.peek() == "_":
                self.pos += 1
            root = text[: self.pos]
            if root == "$" or not text[start : self.pos]:
                raise self.fail("invalid variable name")
        steps: list[Step] = []
        while self.pos < len(text):
            steps.extend(self.segment())
        # Jayway counts a trailing multi-property selection ['a','b'] as definite: it yields
        # one object holding the properties found.
        definite = all(
            (s.kind in (KEY, INDEX) or (s.kind == KEYS and i == len(steps) - 1)) and not s.deep
            for i, s in enumerate(steps)
        )
        reference = definite and all(s.kind == KEY or s.kind == INDEX and s.arg >= 0 for s in steps)
        return ParsedPath(text, root, tuple(steps), definite, reference)

    def segment(self) -> list[Step]:
        c = self.peek()
        if c == "[":
            return [self.bracket(deep=False)]
        if c != ".":
            raise self.fail(f"character '{c}' at position {self.pos} is not valid")
        if self.peek(1) == ".":
            self.pos += 2
            if self.pos >= len(self.text):
                raise self.fail("path must not end with a '..'")
            if self.peek() == "[":
                return [self.bracket(deep=True)]
            return [self.dot_name(deep=True)]
        self.pos += 1
        if self.pos >= len(self.text):
            raise self.fail("path must not end with a '.'")
        if self.peek() == "[":
            return [self.bracket(deep=False)]
        if self.peek() == ".":
            raise self.fail(f"character '.' at position {self.pos} is not valid")
        return [self.dot_name(deep=False)]

    def dot_name(self, deep: bool) -> Step:
        start = self.pos
        text = self.text
        while (
            self.pos < len(text) and text[self.pos] not in ".[()" and not text[self.pos].isspace()
        ):
            self.pos += 1
        name = text[start : self.pos]
        if self.peek() == "(":
            raise self.fail(f"functions such as '{name}()' are not supported")
        if self.peek() == ")" or self.peek().isspace():
            raise self.fail(f"character '{self.peek()}' at position {self.pos} is not valid")
        if not name:
            raise self.fail(f"empty property name at position {start}")
        if name == "*":
            return Step(WILDCARD, deep=deep)
        return Step(KEY, name, deep)

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def bracket(self, deep: bool) -> Step:
        self.pos += 1  # '['
        self.skip_spaces()
        c = self.peek()
        if c == "?":
            step = Step(FILTER, self.filter_expression(), deep)
        elif c == "*":
            self.pos += 1
            step = Step(WILDCARD, deep=deep)
        elif c and c in "'\"":
            keys = [self.quoted()]
            self.skip_spaces()
            while self.peek() == ",":
                self.pos += 1
                self.skip_spaces()
                if self.peek() not in ("'", '"'):
                    raise self.fail(f"expected a quoted property name at position {self.pos}")
                keys.append(self.quoted())
                self.skip_spaces()
            step = Step(KEY, keys[0], deep) if len(keys) == 1 else Step(KEYS, tuple(keys), deep)
        else:
            step = self.array_selector(deep)
        self.skip_spaces()
        if self.peek() != "]":
            raise self.fail(f"expected ']' at position {self.pos}")
        self.pos += 1
        if step.kind == KEYS and self.pos < len(self.text):
            raise self.fail("multi properties can only be used as path leafs")
        return step

    def quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        while True:
            c = self.peek()
            if c == "":
                raise self.fail("property name is not closed with a quote")
            self.pos += 1
            if c == "\\" and self.peek() != "":
                out.append(self.peek())
                self.pos += 1
            elif c == quote:
                return "".join(out)
            else:
                out.append(c)

    def integer(self) -> int | None:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        while "0" <= self.peek() <= "9":
            self.pos += 1
        digits = self.text[start : self.pos]
        if digits in ("", "-"):
            self.pos = start
            return None
        return int(digits)

    def array_selector(self, deep: bool) -> Step:
        first = self.integer()
        self.skip_spaces()
        if self.peek() == ":":
            self.pos += 1
            self.skip_spaces()
            second = self.integer()
            if self.peek() == ":":
                raise self.fail("slice steps are not supported")
            return Step(SLICE, (first, second), deep)
        if first is None:
            raise self.fail(f"could not parse token at position {self.pos}")
        indexes = [first]
        while self.peek() == ",":
            self.pos += 1
            self.skip_spaces()
            value = self.integer()
            if value is None:
                raise self.fail(f"expected an array index at position {self.pos}")
            indexes.append(value)
            self.skip_spaces()
        if len(indexes) == 1:
            return Step(INDEX, first, deep)
        return Step(INDEXES, tuple(indexes), deep)

    def filter_expression(self) -> Filter:
        self.pos += 1  # '?'
        if self.peek() != "(":
            raise self.fail(f"expected '(' after '?' at position {self.pos}")
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    body = self.text[start + 1 : self.pos - 1]
                    try:
                        return Filter(body)
                    except ValueError as exc:
                        raise self.fail(f"invalid filter [?({body})]: {exc}") from None
            self.pos += 1
        raise self.fail("filter is not closed with ')'")


def _parse_relative(text: str) -> ParsedPath:
    """Parse an ``@...`` or ``$...`` path inside a filter (``@`` reads the current item)."""
    if text.startswith("@"):
        result = parse_path("$" + text[1:])
        return ParsedPath(result.text, "@", result.steps, result.definite, result.reference)
    return parse_path(text)


# ---------------------------------------------------------------------------- filters

_UNDEFINED = object()
_FILTER_TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>==|!=|<=|>=|=~|&&|\|\||[<>!()])
    | (?P<word>(?:in|nin|subsetof|anyof|noneof|size|empty|contains)(?![\w]))
    | (?P<lit>true|false|null)(?![\w])
    | (?P<num>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<str>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
    | (?P<regex>/(?:\\.|[^/\\])*/[a-z]*)
    | (?P<json>\[[^\]]*\])
    | (?P<path>[@$](?:\.\.?[^\s.\[\]()=!<>&|~,]*|\[(?:'[^']*'|"[^"]*"|[^\]])*\])*)
    )""",
    re.VERBOSE,
)
_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "=~")
_WORDS = ("in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains")


class Filter:
    """A compiled ``[?(...)]`` predicate with Jayway's typed comparisons.

    Comparisons between values of different JSON types are false (a numeric string equals
    the number it spells, as in Jayway); a relative path that matches nothing makes the
    comparison false and an existence test (``[?(@.x)]``) false.
    """

    __slots__ = ("text", "_tokens", "_pos", "_tree")

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens = self._tokenize(text)
        self._pos = 0
        self._tree = self._or()
        if self._pos != len(self._tokens):
            raise ValueError(f"unexpected '{self._tokens[self._pos][1]}'")

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _FILTER_TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ValueError(f"cannot read the filter at position {pos}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        if not tokens:
            raise ValueError("empty filter")
        return tokens

    def _peek(self) -> tuple[str, str]:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else ("", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if not token[0]:
            raise ValueError("the filter ends too early")
        self._pos += 1
        return token

    def _or(self) -> Any:
        node = self._and()
        while self._peek() == ("op", "||"):
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._unary()
        while self._peek() == ("op", "&&"):
            self._take()
            node = ("and", node, self._unary())
        return node

    def _unary(self) -> Any:
        token = self._peek()
        if token == ("op", "!"):
            self._take()
            return ("not", self._unary())
        if token == ("op", "("):
            self._take()
            node = self._or()
            if self._take() != ("op", ")"):
                raise ValueError("missing ')'")
            return node
        left = self._operand()
        op = self._peek()
        if (op[0] == "op" and op[1] in _COMPARE) or op[0] == "word":
            self._take()
            return ("cmp", op[1], left, self._operand())
        if left[0] != "path":
            raise ValueError("a filter term must be a path or a comparison")
        return ("exists", left)

    def _operand(self) -> Any:
        kind, text = self._take()
        if kind == "path":
            return ("path", _parse_relative(text))
        if kind == "num":
            return ("value", json.loads(text))
        if kind == "lit":
            return ("value", {"true": True, "false": False, "null": None}[text])
        if kind == "str":
            body = text[1:-1]
            return ("value", re.sub(r"\\(.)", r"\1", body))
        if kind == "json":
            return ("value", json.loads(text.replace("'", '"')))
        if kind == "regex":
            end = text.rindex("/")
            flags = re.IGNORECASE if "i" in text[end:] else 0
            return ("regex", re.compile(text[1:end], flags))
        raise ValueError(f"unexpected '{text}'")

    def matches(self, item: Any, root: Any) -> bool:
        try:
            return bool(self._eval(self._tree, item, root))
        except (TypeError, ValueError, RecursionError):
            return False

    def _value(self, node: Any, item: Any, root: Any) -> Any:
        if node[0] != "path":
            return node[1]
        parsed = node[1]
        try:
            return compile_path(parsed.text)(item if parsed.root == "@" else root)
        except StatesError:
            return _UNDEFINED

    def _eval(self, node: Any, item: Any, root: Any) -> bool:
        tag = node[0]
        if tag == "or":
            return self._eval(node[1], item, root) or self._eval(node[2], item, root)
        if tag == "and":
            return self._eval(node[1], item, root) and self._eval(node[2], item, root)
        if tag == "not":
            return not self._eval(node[1], item, root)
        if tag == "exists":
            return self._value(node[1], item, root) is not _UNDEFINED
        _, op, left_node, right_node = node
        left = self._value(left_node, item, root)
        if left is _UNDEFINED:
            return op in ("!=", "nin", "noneof")
        if right_node[0] == "regex":
            if op != "=~" or isinstance(left, (dict, list)) or left is None:
                return False
            return right_node[1].fullmatch(_filter_text(left)) is not None
        right = self._value(right_node, item, root)
        if right is _UNDEFINED:
            return op in ("!=",)
        return _compare(op, left, right)


def _filter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _filter_equal(left: Any, right: Any) -> bool:
    if _is_number(left) and isinstance(right, str) or isinstance(left, str) and _is_number(right):
        number, text = (left, right) if _is_number(left) else (right, left)
        try:
            return float(text) == number
        except ValueError:
            return False
    return json_equal(left, right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _filter_equal(left, right)
    if op == "!=":
        return not _filter_equal(left, right)
    if op in ("<", "<=", ">", ">="):
        if (
            _is_number(left)
            and _is_number(right)
            or isinstance(left, str)
            and isinstance(right, str)
        ):
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        return False
    if op in ("in", "nin"):
        found = isinstance(right, list) and any(_filter_equal(left, r) for r in right)
        return found if op == "in" else not found
    if op == "contains":
        if isinstance(left, str) and isinstance(right, str):
            return right in left
        return isinstance(left, list) and any(_filter_equal(v, right) for v in left)
    if op in ("subsetof", "anyof", "noneof"):
        if not isinstance(left, list) or not isinstance(right, list):
            return False
        hits = [any(_filter_equal(v, r) for r in right) for v in left]
        return {"subsetof": all(hits), "anyof": any(hits), "noneof": not any(hits)}[op]
    if op == "size":
        return isinstance(left, (str, list)) and _is_number(right) and len(left) == right
    if op == "empty":
        return (
            isinstance(left, (str, list)) and isinstance(right, bool) and (len(left) == 0) is right
        )
    return False


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: booleans never equal numbers (Python's ``True == 1`` does not apply)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if _is_number(left) and _is_number(right):
        return left == right
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return left == right


@lru_cache(maxsize=4096)
def parse_path(path: str) -> ParsedPath:
    """Parse ``path`` (cached). Raises InvalidPath with the reason when it is not valid."""
    if not isinstance(path, str):
        raise InvalidPath(repr(path), "a path must be a string")
    return _Parser(path).parse()


def is_valid_path(path: Any) -> bool:
    """True when ``path`` is a JSONPath AWS accepts (``$``, ``$$`` or ``$variable`` rooted)."""
    try:
        parse_path(path)
    except (InvalidPath, TypeError):
        return False
    return True


def is_reference_path(path: Any) -> bool:
    """True for the reference-path subset: names and single non-negative ``[n]`` indexes only."""
    try:
        return parse_path(path).reference
    except (InvalidPath, TypeError):
        return False


# ---------------------------------------------------------------------------- evaluation

_JAVA_TYPES = {
    str: "java.lang.String",
    bool: "java.lang.Boolean",
    int: "java.lang.Integer",
    float: "java.lang.Double",
    list: "net.minidev.json.JSONArray",
    dict: "net.minidev.json.JSONObject",
}
_PROVIDER = "com.jayway.jsonpath.spi.json.JsonSmartJsonProvider"


def _java_type(value: Any) -> str:
    return "null" if value is None else _JAVA_TYPES.get(type(value), type(value).__name__)


def to_json(value: Any) -> str:
    """Compact JSON text, as AWS prints payloads inside error causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _not_an_object(parsed: ParsedPath, i: int, node: Any) -> PathNotFound:
    return PathNotFound(
        parsed.text,
        f"Expected to find an object with property {parsed.steps[i].fragment()} in path "
        f"{parsed.normalized(i)} but found '{_java_type(node)}'. This is not a json object "
        f"according to the JsonProvider: '{_PROVIDER}'.",
    )


def _definite_getter(parsed: ParsedPath) -> Callable[[Any], Any]:
    merge = parsed.steps[-1].arg if parsed.steps[-1].kind == KEYS else None
    steps = tuple((s.kind == KEY, s.arg) for s in parsed.steps if s.kind != KEYS)
    last = len(steps) - 1 if merge is None else len(steps)

    def get(data: Any) -> Any:
        cur = data
        for i, (is_key, arg) in enumerate(steps):
            if is_key:
                if type(cur) is dict or isinstance(cur, Mapping):
                    try:
                        cur = cur[arg]
                        continue
                    except KeyError:
                        if i == last:
                            raise PathNotFound(
                                parsed.text, f"No results for path: {parsed.normalized()}"
                            ) from None
                        raise PathNotFound(
                            parsed.text, f"Missing property in path {parsed.normalized(i + 1)}"
                        ) from None
                raise _not_an_object(parsed, i, cur)
            if type(cur) is list:
                index = arg if arg >= 0 else len(cur) + arg
                if 0 <= index < len(cur):
                    cur = cur[index]
                    continue
                raise PathNotFound(parsed.text, f"No results for path: {parsed.normalized()}")
            if cur is None:
                raise PathNotFound(parsed.text, f"The path {parsed.normalized(i)} is null")
            raise PathNotFound(
                parsed.text,
                f"Filter: [{arg}] can only be applied to arrays. Current context is: {_safe_json(cur)}",
            )
        if merge is not None:
            if not isinstance(cur, Mapping):
                raise _not_an_object(parsed, len(steps), cur)
            return {key: cur[key] for key in merge if key in cur}
        return cur

    return get


def _safe_json(value: Any) -> str:
    try:
        return to_json(value)
    except (TypeError, ValueError):
        return repr(value)


def _children(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if type(value) is list:
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    """``value`` and everything below it, pre-order (Jayway's deep scan visiting order)."""
    out = [value]
    stack = list(reversed(_children(value)))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(_children(node)))
    return out


def _apply_step(
    step: Step, node: Any, root: Any, strict: bool, parsed: ParsedPath, i: int
) -> list[Any]:
    kind = step.kind
    if kind == KEY:
        if isinstance(node, Mapping):
            if step.arg in node:
                return [node[step.arg]]
            if strict and i < len(parsed.steps) - 1:
                raise PathNotFound(
                    parsed.text, f"Missing property in path {parsed.normalized(i + 1)}"
                )
            return []
        if strict:
            raise _not_an_object(parsed, i, node)
        return []
    if kind == KEYS:
        if isinstance(node, Mapping):
            return [{k: node[k] for k in step.arg if k in node}]
        return []
    if kind == WILDCARD:
        return _children(node)
    if kind == FILTER:
        items = node if type(node) is list else [node] if isinstance(node, Mapping) else []
        return [item for item in items if step.arg.matches(item, root)]
    if type(node) is not list:
        if strict:
            if node is None:
                raise PathNotFound(parsed.text, f"The path {parsed.normalized(i)} is null")
            raise PathNotFound(
                parsed.text,
                f"Filter: {step.fragment()} can only be applied to arrays. Current context is: "
                f"{_safe_json(node)}",
            )
        return []
    size = len(node)
    if kind in (INDEX, INDEXES):
        indexes = (step.arg,) if kind == INDEX else step.arg
        out = []
        for index in indexes:
            effective = index if index >= 0 else size + index
            if 0 <= effective < size:
                out.append(node[effective])
        return out
    start, stop = step.arg  # SLICE, with Jayway's clamping
    if start is None:
        start = 0
    elif start < 0:
        start = max(0, size + start)
    if stop is None:
        stop = size
    elif stop < 0:
        stop = size + stop
    return node[start : min(stop, size)]


def _indefinite_getter(parsed: ParsedPath) -> Callable[[Any], Any]:
    def get(data: Any) -> Any:
        nodes = [data]
        strict = True  # Jayway raises only while every token so far was definite
        for i, step in enumerate(parsed.steps):
            if step.deep:
                strict = False
                nodes = [d for node in nodes for d in _descendants(node)]
                if step.kind == KEY:  # ``..name`` looks the name up in objects only
                    nodes = [n for n in nodes if isinstance(n, Mapping)]
                elif step.kind in (INDEX, INDEXES, SLICE):
                    nodes = [n for n in nodes if type(n) is list]
            out: list[Any] = []
            for node in nodes:
                out.extend(_apply_step(step, node, data, strict, parsed, i))
            nodes = out
            if step.kind not in (KEY, INDEX):
                strict = False
        return nodes

    return get


@lru_cache(maxsize=4096)
def compile_path(path: str) -> Callable[[Any], Any]:
    """Parse once (cached) and return ``fn(data) -> value``; raises InvalidPath / PathNotFound.

    The returned function reads ``data`` as the path's root: callers pick the document
    (input, context object or variable value) through :func:`resolve`.
    """
    parsed = parse_path(path)
    if not parsed.steps:
        return _identity
    if parsed.definite:
        return _definite_getter(parsed)
    return _indefinite_getter(parsed)


def _identity(data: Any) -> Any:
    return data


def get_path(data: Any, path: str) -> Any:
    """Value(s) at ``path`` in ``data``; a definite path gives one value, an indefinite a list.

    ``path`` is applied to ``data`` whatever its root (``$``, ``$$``); use :func:`resolve` to
    dispatch ``$$`` to the context object. Raises PathNotFound (States.Runtime, AWS's
    ``Invalid path '$.x' : No results for path: $['x']``) when a definite path matches nothing,
    InvalidPath when ``path`` is malformed.
    """
    return compile_path(path)(data)


def resolve(path: str, data: Any, context: Any, variables: Mapping[str, Any] | None = None) -> Any:
    """``$$...`` against the context object, ``$name...`` against a variable, ``$...`` against data."""
    getter = compile_path(path)
    root = parse_path(path).root
    if root == "$":
        return getter(data)
    if root == "$$":
        return getter(context)
    name = root[1:]
    if variables is None or name not in variables:
        raise PathNotFound(path, f"The variable '{name}' is not defined")
    return getter(variables[name])


# ---------------------------------------------------------------------------- ResultPath


def _result_path_failure(reference_path: str, data: Any) -> StatesError:
    return StatesError(
        StatesErrorName.RESULT_PATH_MATCH_FAILURE,
        f"Unable to apply ReferencePath {reference_path} to input {_safe_json(data)}",
    )


def set_path(data: Any, reference_path: str, value: Any) -> Any:
    """ResultPath: a copy of ``data`` with ``value`` placed at ``reference_path``.

    ``$`` replaces the whole input; missing intermediate objects are created; ``data`` is not
    mutated (containers along the path are copied, untouched subtrees are shared). ResultPath
    ``null`` (discard the result) is the caller's job. Raises
    StatesError(States.ResultPathMatchFailure) when the path cannot be applied, e.g. through a
    string or past the end of an array.
    """
    parsed = parse_path(reference_path)
    if not parsed.reference or parsed.root != "$":
        raise InvalidPath(reference_path, "ResultPath must be a reference path rooted at '$'")
    if not parsed.steps:
        return value

    def place(node: Any, depth: int) -> Any:
        step = parsed.steps[depth]
        last = depth == len(parsed.steps) - 1
        if step.kind == KEY:
            if not isinstance(node, Mapping):
                raise _result_path_failure(reference_path, data)
            copy = dict(node)
            if last:
                copy[step.arg] = value
            else:
                child = node.get(step.arg)
                if step.arg not in node:
                    child = {} if parsed.steps[depth + 1].kind == KEY else None
                copy[step.arg] = place(child, depth + 1)
            return copy
        if type(node) is not list or not 0 <= step.arg < len(node):
            raise _result_path_failure(reference_path, data)
        copy_list = list(node)
        copy_list[step.arg] = value if last else place(node[step.arg], depth + 1)
        return copy_list

    return place(data, 0)
