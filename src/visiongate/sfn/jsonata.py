"""JSONata for Step Functions: ``{% %}`` expressions, ``$states``, variables and AWS's extras.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

* A field value (at any depth) that is a string starting with ``{%`` and ending with ``%}`` is a
  JSONata expression; any other value is a literal. Expressions see the reserved variable
  ``$states`` (``input``, ``result``, ``errorOutput``, ``context``) and every workflow variable
  as ``$name``; there is no context item (``$``).
* Step Functions adds ``$partition``, ``$range``, ``$hash``, ``$random`` (with an optional
  seed), ``$uuid`` and ``$parse``, and removes ``$eval``.
* An expression that returns nothing fails the state with ``States.QueryEvaluationError`` and
  AWS's cause ``The JSONata expression '<expr>' specified for the field '<field>' returned
  nothing (undefined).``; one that throws gets ``... threw an error during evaluation. <code>:
  <message>``. ``field`` is the location inside the state (``Output/a/b[0]``, ``Assign/x``).

The evaluator is jsonatapy, a Rust port of jsonata-js (its authors report the whole jsonata-js
test suite passing; benchmarks/jsonata_libraries.py checks a sample and compares it with
jsonata-python, see docs/engine.md). Its compiled expressions and converted data belong to the
thread that made them, so compiled forms are cached per thread, and the data a state's
expressions read (the ``$states`` fields and variables they name) is converted once per state
evaluation (:class:`Env`) into a per-thread slot. The extra functions are in
:mod:`visiongate.sfn.jsonata_functions`.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import weakref
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonatapy

from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.jsonata_functions import EXTRAS, OVERRIDES, UNDEFINED_MARK

# jsonata-python, the engine's previous JSONata library, raised the interpreter's recursion limit
# to 10,000 when imported; deeply nested definitions and payloads (validated and copied
# recursively) rely on that headroom, so it is kept.
if sys.getrecursionlimit() < 10_000:
    sys.setrecursionlimit(10_000)

QUERY_EVALUATION_ERROR = StatesErrorName.QUERY_EVALUATION_ERROR.value
_STATES_KEY = "__sfn_states__"
_VARIABLES_KEY = "__sfn_variables__"
_TIMEOUT_MS = 10_000  # AWS bounds evaluation too; the engine must never hang on one expression
# Names in an expression: $ followed by an identifier (string literals removed first).
_NAME = re.compile(r"\$([^\W\d]\w*)")
_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_HOST_PREFIX = re.compile(r"^host function raised \w+: ")
_CODED = re.compile(r"^[A-Z]\d{4}: ")


class _Undefined:
    """JSONata's *undefined* (no value), distinct from JSON ``null``."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()


class QueryEvaluationError(StatesError):
    """``States.QueryEvaluationError``: a JSONata field could not be evaluated.

    ``location`` is the field inside the state (``Output/a``); the state records it in an
    ``EvaluationFailed`` event once (``recorded``) and prefixes the cause as AWS does.
    """

    def __init__(self, cause: str, location: str | None = None) -> None:
        super().__init__(QUERY_EVALUATION_ERROR, cause)
        self.location = location
        self.recorded = False


class JsonataFailure(Exception):
    """The JSONata evaluator refused an expression; ``message`` is its ``CODE: text``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_expression(value: Any) -> bool:
    """True for a ``{% ... %}`` string (no whitespace allowed outside the delimiters)."""
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith("{%")
        and value.endswith("%}")
    )


def expression_text(value: str) -> str:
    """The JSONata source inside ``{% %}``, as AWS quotes it in error causes."""
    return value[2:-2].strip()


def strip_strings(text: str) -> str:
    """The expression with its string literals emptied (so their contents are not code)."""
    return _STRING.sub("''", text)


def referenced_names(text: str) -> frozenset[str]:
    """Variable names an expression may read (a superset: local names are included)."""
    return frozenset(_NAME.findall(_STRING.sub("", text))) - {"states"}


_LOCAL_BINDING = re.compile(r"\$([^\W\d]\w*)\s*:=")
_LAMBDA = re.compile(r"(?:function|λ)\s*\(([^)]*)\)")


def variable_references(text: str) -> list[str]:
    """The workflow variables an expression reads, in order of appearance: ``$name`` that is
    not ``$states``, not a function call, not a block's ``$name :=`` nor a lambda parameter."""
    code = strip_strings(text)
    local = set(_LOCAL_BINDING.findall(code))
    for params in _LAMBDA.findall(code):
        local.update(_NAME.findall(params))
    found: list[str] = []
    for match in _NAME.finditer(code):
        name = match.group(1)
        rest = code[match.end() :].lstrip()
        if name == "states" or name in local or rest.startswith("(") or name in found:
            continue
        found.append(name)
    return found


def parse_error(text: str) -> str | None:
    """The parse error of a JSONata expression (``S0202: ...``), or None when it parses."""
    try:
        jsonatapy.compile(text)
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics are BaseExceptions
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return _clean(str(exc))
    return None


def _clean(message: str) -> str:
    message = _HOST_PREFIX.sub("", message)
    if message.startswith("Parse error: "):
        message = message[len("Parse error: ") :]
    return message


# -- compiled forms, per thread -------------------------------------------------------------

_LOCAL = threading.local()


def _compiled(text: str, bound: tuple[str, ...], exists: bool) -> Any:
    cache: dict[Any, Any] | None = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    key = (text, bound, exists)
    compiled = cache.get(key)
    if compiled is None:
        if len(cache) >= 4096:
            cache.clear()
        bindings = "".join(f"${n} := $$.`{_VARIABLES_KEY}`.`{n}`; " for n in bound)
        body = f"$exists(({text}\n))" if exists else f"({text}\n)"
        compiled = jsonatapy.compile(
            f"($states := $$.`{_STATES_KEY}`; {bindings}{body})", timeout=_TIMEOUT_MS
        )
        for name, function in EXTRAS.items():
            if f"${name}" in text:
                compiled.register(name, function)
        for name, function in OVERRIDES.items():
            if f"${name}" in text:
                compiled.register_override(name, function)
        cache[key] = compiled
    return compiled


class Env:
    """What the expressions of one state evaluation read: ``$states`` and the variables.

    The data is converted for the evaluator once, on first use, and shared by every
    expression evaluated with this environment. The converted form belongs to the thread that
    made it (pyo3 refuses to drop it elsewhere), so it lives in a per-thread slot that holds
    the most recent environment only, never on this object.
    """

    __slots__ = ("states", "variables", "names", "__weakref__")

    def __init__(
        self,
        states: dict[str, Any],
        variables: Mapping[str, Any] | None,
        names: frozenset[str],
    ) -> None:
        self.states = states
        self.variables = variables
        self.names = names

    def data(self) -> tuple[Any, tuple[str, ...]]:
        current = getattr(_LOCAL, "current", None)
        if current is not None and current[0]() is self:
            return current[1], current[2]
        variables = self.variables
        bound = (
            tuple(sorted(n for n in self.names if n in variables))
            if variables is not None and self.names
            else ()
        )
        values = {n: variables[n] for n in bound} if bound else {}  # type: ignore[index]
        data = jsonatapy.JsonataData({_STATES_KEY: self.states, _VARIABLES_KEY: values})
        _LOCAL.current = (weakref.ref(self), data, bound)
        return data, bound


@lru_cache(maxsize=8192)
def compile_expression(source: str) -> Expression:
    """The expression in a ``{% %}`` string (cached by text)."""
    return Expression(source)


class Expression:
    """One ``{% %}`` expression."""

    __slots__ = (
        "source",
        "text",
        "names",
        "fields",
        "uses_context",
        "uses_execution_input",
        "error",
    )

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = expression_text(source)
        self.names = referenced_names(self.text)
        self.fields = states_fields(self.text)
        self.uses_context = "context" in self.fields
        # $states.context.Execution.Input is the whole execution input: convert it only for
        # expressions that may read it.
        code = strip_strings(self.text)
        self.uses_execution_input = self.uses_context and (
            "Execution" in code
            or re.search(r"context(?!\s*\.)|\$states\b(?!\s*\.)", code) is not None
        )
        self.error = parse_error(self.text)

    def evaluate(self, env: Env) -> Any:
        """The value, or UNDEFINED; raises JsonataFailure when the evaluator refuses."""
        if self.error is not None:
            raise JsonataFailure(self.error)
        data, bound = env.data()
        try:
            value = _compiled(self.text, bound, False).evaluate_with_data(data)
            if value is None and not _compiled(self.text, bound, True).evaluate_with_data(data):
                return UNDEFINED
        except BaseException as exc:  # noqa: BLE001 - pyo3 panics are BaseExceptions
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            message = _clean(str(exc))
            if UNDEFINED_MARK in message:
                return UNDEFINED
            raise JsonataFailure(message) from None
        if type(value) is float and not math.isfinite(value):
            # JSON has no literal for these: AWS writes JavaScript's names as strings.
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return value


STATES_FIELDS = frozenset({"input", "result", "errorOutput", "context"})


def states_fields(text: str) -> frozenset[str]:
    """The ``$states`` fields an expression may read (all of them when it uses ``$states``
    as a whole); only those are converted for the evaluator."""
    stripped = strip_strings(text)
    found: set[str] = set()
    for match in re.finditer(r"\$states\b", stripped):
        field = re.match(r"\s*\.\s*(\w+)", stripped[match.end() :])
        if field is None or field.group(1) not in STATES_FIELDS:
            return STATES_FIELDS
        found.add(field.group(1))
    return frozenset(found)


# -- evaluating fields ----------------------------------------------------------------------


def undefined_cause(text: str, location: str) -> str:
    return (
        f"The JSONata expression '{text}' specified for the field '{location}' returned "
        "nothing (undefined)."
    )


def failure_cause(text: str, location: str, message: str) -> str:
    separator = ". " if _CODED.match(message) else ": "
    return (
        f"The JSONata expression '{text}' specified for the field '{location}' threw an "
        f"error during evaluation{separator}{message}"
    )


def evaluate(expression: Expression, env: Env, location: str) -> Any:
    """A defined value for ``location``, or QueryEvaluationError with AWS's cause."""
    try:
        value = expression.evaluate(env)
    except JsonataFailure as failure:
        raise QueryEvaluationError(
            failure_cause(expression.text, location, failure.message), location
        ) from None
    if value is UNDEFINED:
        raise QueryEvaluationError(undefined_cause(expression.text, location), location)
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class Template:
    """A JSONata field value: literals with ``{% %}`` expressions at any depth.

    ``template.evaluate(env)`` builds the value; static parts are copied per call.
    """

    __slots__ = (
        "field",
        "expressions",
        "names",
        "fields",
        "uses_context",
        "uses_execution_input",
        "_build",
        "static",
    )

    def __init__(self, value: Any, field: str) -> None:
        self.field = field
        self.expressions: list[Expression] = []
        self.static, self._build = self._compile(value, field)
        self.names = frozenset().union(*(e.names for e in self.expressions))
        self.fields = frozenset().union(*(e.fields for e in self.expressions))
        self.uses_context = any(e.uses_context for e in self.expressions)
        self.uses_execution_input = any(e.uses_execution_input for e in self.expressions)

    def _compile(self, node: Any, location: str) -> tuple[bool, Any]:
        if is_expression(node):
            expression = compile_expression(node)
            self.expressions.append(expression)
            return False, lambda env: evaluate(expression, env, location)
        if isinstance(node, dict):  # definitions parse into a dict subclass
            entries = [(k, *self._compile(v, f"{location}/{k}")) for k, v in node.items()]
            if all(static for _, static, _ in entries):
                return True, node
            return False, lambda env: {
                k: (_copy(v) if static else v(env)) for k, static, v in entries
            }
        if isinstance(node, list):
            items = [self._compile(v, f"{location}[{i}]") for i, v in enumerate(node)]
            if all(static for static, _ in items):
                return True, node
            return False, lambda env: [(_copy(v) if static else v(env)) for static, v in items]
        return True, node

    def evaluate(self, env: Env) -> Any:
        return _copy(self._build) if self.static else self._build(env)


__all__ = [
    "UNDEFINED",
    "Env",
    "Expression",
    "JsonataFailure",
    "QueryEvaluationError",
    "Template",
    "compile_expression",
    "evaluate",
    "is_expression",
    "parse_error",
]
