"""Workflow variables: names, the ``Assign`` commit at the end of a state, quotas, history.

https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html

* Names follow Unicode identifiers (first character ID_Start, then ID_Continue), at most 80
  characters; ``states`` is reserved (``$states``).
* "All variable references in Step Functions states use the values as they were on state
  entry": a state evaluates every ``Assign`` value first, then :func:`commit` stores them when
  the state exits (after its output is computed), so the new values are visible from the next
  state on.
* Quotas: 256 KiB for one variable, 256 KiB for everything one ``Assign`` field assigns, 10 MiB
  for all the variables an execution holds. Exceeding one fails the state with
  ``States.DataLimitExceeded`` (like the payload quota, no Retry or Catch takes it).
* The ``<Type>StateExited`` event records ``assignedVariables`` (name -> the value as JSON
  text) and ``assignedVariablesDetails: {"truncated": false}``, as GetExecutionHistory shows.
* :func:`references` lists the variables each state reads, DescribeStateMachine's
  ``variableReferences``.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import TYPE_CHECKING, Any

from visiongate.sfn import intrinsics, jsonata, paths
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import NOT_TRUNCATED, dumps, payload_size

if TYPE_CHECKING:
    from visiongate.sfn.context import Scope
    from visiongate.sfn.runtime import Frame

MAX_NAME_LENGTH = 80
MAX_VARIABLE_BYTES = 262_144
MAX_ASSIGN_BYTES = 262_144
MAX_EXECUTION_BYTES = 10 * 1024 * 1024
RESERVED = frozenset({"states"})
_LOCK = threading.Lock()


def is_valid_name(name: Any) -> bool:
    """A Unicode identifier of 1-80 characters that is not ``states``."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        return False
    if name in RESERVED:
        return False
    # str.isidentifier() is Python's ID_Start/ID_Continue test (plus "_", which JSONata and
    # JavaScript accept too); NFKC keeps it honest for compatibility characters.
    return unicodedata.normalize("NFKC", name).isidentifier()


def _limit_error(state: str, what: str, limit: int) -> StatesError:
    return StatesError(
        StatesErrorName.DATA_LIMIT_EXCEEDED,
        f"The state/task '{state}' assigned {what} exceeding the maximum number of bytes "
        f"service limit ({limit} bytes).",
    )


def commit(frame: Frame, state: str, pending: dict[str, Any]) -> str:
    """Store ``pending`` in the frame's scope; returns the details JSON of the Exited event."""
    texts = {name: dumps(value) for name, value in pending.items()}
    sizes = {name: payload_size(text) for name, text in texts.items()}
    for name, size in sizes.items():
        if size > MAX_VARIABLE_BYTES:
            raise _limit_error(state, f"the variable '{name}' a value", MAX_VARIABLE_BYTES)
    if sum(sizes.values()) > MAX_ASSIGN_BYTES:
        raise _limit_error(state, "variables", MAX_ASSIGN_BYTES)
    scope = frame.scope
    run = frame.run
    with _LOCK:
        delta = sum(size - scope.sizes.get(name, 0) for name, size in sizes.items())
        total = run.variable_bytes + delta
        if total > MAX_EXECUTION_BYTES:
            raise _limit_error(state, "variables that bring the execution", MAX_EXECUTION_BYTES)
        run.variable_bytes = total
        scope.values.update(pending)
        scope.sizes.update(sizes)
    return dumps(
        {
            "stateExitedEventDetails": {
                "name": state,
                "assignedVariables": texts,
                "assignedVariablesDetails": NOT_TRUNCATED,
                "outputDetails": NOT_TRUNCATED,
            }
        }
    )


def release(frame: Frame, scope: Scope) -> None:
    """A Map iteration or Parallel branch ended: its variables no longer count."""
    if scope.sizes:
        with _LOCK:
            frame.run.variable_bytes -= sum(scope.sizes.values())
            scope.sizes.clear()


def restore(scope: Scope, values: dict[str, Any]) -> int:
    """Fill a top-level scope from a checkpoint; returns the bytes it holds."""
    scope.values.update(values)
    scope.sizes.update({name: payload_size(dumps(value)) for name, value in values.items()})
    return sum(scope.sizes.values())


def to_checkpoint(scope: Scope) -> str | None:
    """The top-level variables as JSON for a checkpoint (None when there are none)."""
    return dumps(scope.values) if scope.values else None


# -- which variables each state reads (DescribeStateMachine.variableReferences) ---------------

_NESTED = frozenset({"Branches", "ItemProcessor", "Iterator"})


def _path_variable(text: Any) -> str | None:
    if not isinstance(text, str) or not text.startswith("$") or text.startswith(("$$", "$.", "$[")):
        return None
    try:
        root = paths.parse_path(text).root
    except paths.InvalidPath:
        return None
    return root[1:] if root not in ("$", "$$") else None


def _intrinsic_variables(call: Any, found: list[str]) -> None:
    for arg in getattr(call, "args", ()):
        if isinstance(arg, intrinsics.PathArg):
            name = _path_variable(arg.path)
            if name is not None and name not in found:
                found.append(name)
        else:
            _intrinsic_variables(arg, found)


def _jsonpath_value(key: Any, value: Any, found: list[str]) -> None:
    """A field of a JSONPath state: ``.$`` templates, ``...Path`` fields, Choice rules."""
    if isinstance(value, dict):
        for k, v in value.items():
            _jsonpath_value(k, v, found)
    elif isinstance(value, list):
        for v in value:
            _jsonpath_value(key, v, found)
    elif isinstance(key, str) and (key.endswith((".$", "Path")) or key == "Variable"):
        name = _path_variable(value)
        if name is not None:
            if name not in found:
                found.append(name)
        elif intrinsics.is_intrinsic(value):
            try:
                _intrinsic_variables(intrinsics.parse(value), found)
            except intrinsics.IntrinsicSyntaxError:
                pass


def _jsonata_value(value: Any, found: list[str]) -> None:
    if jsonata.is_expression(value):
        for name in jsonata.variable_references(jsonata.expression_text(value)):
            if name not in found:
                found.append(name)
    elif isinstance(value, dict):
        for v in value.values():
            _jsonata_value(v, found)
    elif isinstance(value, list):
        for v in value:
            _jsonata_value(v, found)


def references(definition: dict[str, Any]) -> dict[str, list[str]]:
    """State name -> the variables it reads, for every state (nested ones too) that reads any."""
    result: dict[str, list[str]] = {}
    top = definition.get("QueryLanguage", "JSONPath")

    def walk(block: Any) -> None:
        states = block.get("States") if isinstance(block, dict) else None
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            found: list[str] = []
            language = state.get("QueryLanguage", top)
            for key, value in state.items():
                if key in _NESTED:
                    continue
                if language == "JSONata":
                    _jsonata_value(value, found)
                else:
                    _jsonpath_value(key, value, found)
            if found:
                result[name] = found
            for key in ("ItemProcessor", "Iterator"):
                walk(state.get(key))
            for branch in state.get("Branches") or ():
                walk(branch)

    walk(definition)
    return result
