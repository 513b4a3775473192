"""Choice rules: every comparison operator, And/Or/Not, and the Choice decision itself.

Semantics (https://states-language.net/#choice-state,
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html):

* a comparison whose values are not both of the operator's type is simply false
  ("Step Functions doesn't attempt to match a numeric field to a string value");
* a ``Variable`` (or ``...Path`` operand) that matches nothing fails the state with
  States.Runtime, ``Invalid path '$.x': The choice state's condition path references an
  invalid value.`` -- except ``IsPresent``, which answers false;
* strings compare like Java's ``String.compareTo`` (UTF-16 code units, no normalisation);
* ``StringMatches`` treats ``*`` as "zero or more characters"; ``\\*`` and ``\\\\`` escape;
* no rule matches and no ``Default``: States.NoChoiceMatched.

Rules compile once into closures (:func:`compile_rule`, :func:`compile_choices`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from visiongate.sfn import paths
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.timestamps import timestamp_key

Rule = Callable[..., bool]
ConditionEvaluator = Callable[[str], bool]

_TYPES = ("String", "Numeric", "Boolean", "Timestamp")
_RELATIONS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
COMPARISONS: frozenset[str] = frozenset(
    f"{t}{r}" for t in _TYPES for r in _RELATIONS if t != "Boolean" or r == "Equals"
)
PATH_COMPARISONS: frozenset[str] = frozenset(f"{op}Path" for op in COMPARISONS)
TYPE_TESTS: frozenset[str] = frozenset(
    {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
)
OPERATORS: frozenset[str] = COMPARISONS | PATH_COMPARISONS | TYPE_TESTS | {"StringMatches"}
BOOLEAN_OPERATORS: frozenset[str] = frozenset({"And", "Or", "Not"})

_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
_MISSING = object()


def _invalid_value(path: str) -> StatesError:
    return StatesError(
        StatesErrorName.RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def java_compare(left: str, right: str) -> int:
    """Java's String.compareTo sign: UTF-16 code-unit order (differs above U+FFFF)."""
    if _NON_BMP.search(left) or _NON_BMP.search(right):
        left_units, right_units = left.encode("utf-16-be"), right.encode("utf-16-be")
        return (left_units > right_units) - (left_units < right_units)
    return (left > right) - (left < right)


def wildcard_pattern(pattern: str) -> re.Pattern[str]:
    """StringMatches pattern -> regex; raises ValueError on an open escape backslash."""
    return _wildcard(pattern)


@lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt not in ("*", "\\"):
                raise ValueError(
                    f"open escape backslash in StringMatches pattern {pattern!r}: only \\* and "
                    "\\\\ are escapes"
                )
            out.append(re.escape(nxt))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


_RELATION_TEST: dict[str, Callable[[int], bool]] = {
    "Equals": lambda c: c == 0,
    "LessThan": lambda c: c < 0,
    "GreaterThan": lambda c: c > 0,
    "LessThanEquals": lambda c: c <= 0,
    "GreaterThanEquals": lambda c: c >= 0,
}


def _comparator(operator: str) -> Callable[[Any, Any], bool]:
    """``fn(variable_value, operand_value) -> bool`` for a comparison operator (no Path)."""
    for kind in _TYPES:
        if operator.startswith(kind):
            relation = operator[len(kind) :]
            break
    else:
        raise ValueError(f"unknown comparison operator {operator}")
    test = _RELATION_TEST[relation]
    if kind == "String":
        return lambda a, b: isinstance(a, str) and isinstance(b, str) and test(java_compare(a, b))
    if kind == "Numeric":
        return lambda a, b: _is_number(a) and _is_number(b) and test((a > b) - (a < b))
    if kind == "Boolean":
        return lambda a, b: isinstance(a, bool) and isinstance(b, bool) and a is b

    def timestamps(a: Any, b: Any) -> bool:
        ka, kb = timestamp_key(a), timestamp_key(b)
        return ka is not None and kb is not None and test((ka > kb) - (ka < kb))

    return timestamps


_TYPE_TEST: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: timestamp_key(v) is not None,
}


def _reader(path: str) -> Callable[[Any, Any, Any], Any]:
    """``fn(data, context, variables)`` -> value at ``path`` or _MISSING."""
    try:
        parsed = paths.parse_path(path)
        getter = paths.compile_path(path)
    except (paths.InvalidPath, TypeError):
        error = StatesError(StatesErrorName.RUNTIME, f"Invalid path '{path}': not a valid path")

        def invalid(data: Any, context: Any, variables: Any) -> Any:
            raise error

        return invalid
    root = parsed.root
    if root == "$":

        def read_input(data: Any, context: Any, variables: Any) -> Any:
            try:
                return getter(data)
            except paths.PathNotFound:
                return _MISSING

        return read_input

    def read(data: Any, context: Any, variables: Any) -> Any:
        if root == "$":
            document = data
        elif root == "$$":
            document = context
        else:
            name = root[1:]
            if variables is None or name not in variables:
                return _MISSING
            document = variables[name]
        try:
            return getter(document)
        except paths.PathNotFound:
            return _MISSING

    return read


def _compile(rule: Any, condition: ConditionEvaluator | None) -> Callable[[Any, Any, Any], bool]:
    if not isinstance(rule, Mapping):
        raise ValueError("a Choice rule must be a JSON object")
    if "And" in rule or "Or" in rule:
        name = "And" if "And" in rule else "Or"
        parts = rule[name]
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"the value of {name} must be a non-empty array of Choice rules")
        compiled = tuple(_compile(part, condition) for part in parts)
        if name == "And":

            def all_of(d: Any, c: Any, v: Any) -> bool:
                # A plain loop: all() with a generator costs ~1 us per call on this hot path.
                for fn in compiled:  # noqa: SIM110
                    if not fn(d, c, v):
                        return False
                return True

            return all_of

        def any_of(d: Any, c: Any, v: Any) -> bool:
            for fn in compiled:  # noqa: SIM110
                if fn(d, c, v):
                    return True
            return False

        return any_of
    if "Not" in rule:
        inner = _compile(rule["Not"], condition)
        return lambda d, c, v: not inner(d, c, v)
    if "Condition" in rule:
        expression = rule["Condition"]
        if isinstance(expression, bool):
            return lambda d, c, v: expression
        if condition is None:
            raise ValueError("a JSONata Condition needs a condition evaluator")
        return lambda d, c, v: bool(condition(expression))
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise ValueError("a Choice rule needs a Variable, And, Or, Not or Condition")
    operators = [key for key in rule if key in OPERATORS]
    if len(operators) != 1:
        raise ValueError(f"a Choice rule needs exactly one comparison operator, found {operators}")
    operator = operators[0]
    operand = rule[operator]
    read = _reader(variable)

    if operator == "IsPresent":
        expected = operand is True
        return lambda d, c, v: (read(d, c, v) is not _MISSING) is expected

    def value_of(d: Any, c: Any, v: Any) -> Any:
        value = read(d, c, v)
        if value is _MISSING:
            raise _invalid_value(variable)
        return value

    if operator in _TYPE_TEST:
        test = _TYPE_TEST[operator]
        expected = operand is True
        return lambda d, c, v: test(value_of(d, c, v)) is expected
    if operator == "StringMatches":
        if not isinstance(operand, str):  # validation refuses this; at run time it never matches

            def never(d: Any, c: Any, v: Any) -> bool:
                value_of(d, c, v)  # a missing Variable still fails the state
                return False

            return never
        try:
            regex = wildcard_pattern(operand)
        except ValueError as exc:
            error = StatesError(StatesErrorName.RUNTIME, str(exc))

            def open_escape(d: Any, c: Any, v: Any) -> bool:
                raise error

            return open_escape

        def matches(d: Any, c: Any, v: Any) -> bool:
            value = value_of(d, c, v)
            return isinstance(value, str) and regex.fullmatch(value) is not None

        return matches
    if operator in PATH_COMPARISONS:
        compare = _comparator(operator[: -len("Path")])
        read_other = _reader(operand) if isinstance(operand, str) else None

        def compare_paths(d: Any, c: Any, v: Any) -> bool:
            left = value_of(d, c, v)
            if read_other is None:
                raise _invalid_value(str(operand))
            right = read_other(d, c, v)
            if right is _MISSING:
                raise _invalid_value(operand)
            return compare(left, right)

        return compare_paths
    compare = _comparator(operator)
    return lambda d, c, v: compare(value_of(d, c, v), operand)


def compile_rule(rule: dict, condition: ConditionEvaluator | None = None) -> Rule:
    """Precompile a Choice rule into ``fn(data, context=None, variables=None) -> bool``.

    ``condition`` evaluates a JSONata ``Condition`` string (the engine supplies it); JSONPath
    rules never call it. Raises ValueError for a malformed rule (validation reports those).
    """
    compiled = _compile(rule, condition)

    def evaluate(data: Any, context: Any = None, variables: Any = None) -> bool:
        return compiled(data, context, variables)

    return evaluate


def evaluate_rule(
    rule: dict,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
    condition: ConditionEvaluator | None = None,
) -> bool:
    """True when ``rule`` matches. A missing Variable raises States.Runtime (except IsPresent);
    a type mismatch is simply false."""
    return _compile(rule, condition)(data, context, variables)


def _no_match() -> StatesError:
    return StatesError(
        StatesErrorName.NO_CHOICE_MATCHED,
        "No Choice Rule matched and no Default was specified",
    )


def no_choice_matched() -> StatesError:
    """``States.NoChoiceMatched``: no rule matched and the Choice state has no Default."""
    return _no_match()


def compile_choice_index(choices: list[dict]) -> Callable[..., int]:
    """``fn(data, context=None, variables=None) -> index`` of the first matching rule, or -1
    (the caller takes ``Default``). Used when the matched rule's own ``Assign`` matters."""
    compiled = [_compile(rule, None) for rule in choices]

    def decide(data: Any, context: Any = None, variables: Any = None) -> int:
        for index, fn in enumerate(compiled):
            if fn(data, context, variables):
                return index
        return -1

    return decide


def compile_choices(
    choices: list[dict], default: str | None, condition: ConditionEvaluator | None = None
) -> Callable[..., str]:
    """Precompile a Choice state into ``fn(data, context=None, variables=None) -> next state``."""
    compiled = [(_compile(rule, condition), rule.get("Next")) for rule in choices]

    def decide(data: Any, context: Any = None, variables: Any = None) -> str:
        for fn, target in compiled:
            if fn(data, context, variables):
                return target
        if default is None:
            raise _no_match()
        return default

    return decide


def choose(
    choices: list[dict],
    default: str | None,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
    condition: ConditionEvaluator | None = None,
) -> str:
    """The ``Next`` of the first matching rule, else ``default``; else States.NoChoiceMatched."""
    for rule in choices:
        if _compile(rule, condition)(data, context, variables):
            return rule["Next"]
    if default is None:
        raise _no_match()
    return default
