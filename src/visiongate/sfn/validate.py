"""Static validation of state machine definitions: collect every problem AWS would report.

Codes and wording follow ``ValidateStateMachineDefinition`` / ``CreateStateMachine``
diagnostics: ``SCHEMA_VALIDATION_FAILED`` (``Field 'X' is not supported``, ``These fields are
required: [X]``, ``There should only be one of the following fields: [A, B]``, ``Value cannot
be empty``, ``Minimum value is N``), ``MISSING_TRANSITION_TARGET`` (``Missing 'Next' target:
X``, ``State "X" is not reachable.``), ``MISSING_END_STATE`` (``Workflow has no terminal
state``), ``DUPLICATE_STATE_NAME``, ``INVALID_JSON_DESCRIPTION``. Locations are JSON-pointer
like ``/States/Foo/Choices[0]/Next``; the root is ``""``.

Validation never stops at the first problem and never raises on hostile input: every
structural mistake becomes a :class:`Problem`. States are checked per query language
(``QueryLanguage`` JSONPath, the default, or JSONata), so JSONata-only fields (Arguments,
Output, Items, Condition) are refused in JSONPath states and JSONPath-only fields in JSONata
states.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
https://states-language.net/
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from visiongate.sfn import intrinsics, jsonata, paths
from visiongate.sfn.choice import BOOLEAN_OPERATORS, OPERATORS, PATH_COMPARISONS, wildcard_pattern
from visiongate.sfn.errors import InvalidDefinition, Problem
from visiongate.sfn.timestamps import is_timestamp
from visiongate.sfn.variables import is_valid_name

SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
DUPLICATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_NAME = "INVALID_STATE_NAME"
INVALID_JSON = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
INVALID_JSONATA = "INVALID_JSONATA_EXPRESSION"
UNSUPPORTED_JSONATA = "UNSUPPORTED_JSONATA_EXPRESSION"

JSONPATH, JSONATA = "JSONPath", "JSONata"
MAX_STATE_NAME = 80
MAX_SECONDS = 99_999_999
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

COMMON_FIELDS = frozenset({"Type", "Comment", "QueryLanguage"})
# Which fields each state type accepts (measured against ValidateStateMachineDefinition;
# anything else is "Field 'X' is not supported").
STATE_FIELDS: dict[str, frozenset[str]] = {
    "Pass": frozenset(
        {"InputPath", "OutputPath", "Result", "ResultPath", "Parameters", "Output", "Assign"}
        | {"Next", "End"}
    ),
    "Task": frozenset(
        {"InputPath", "OutputPath", "ResultPath", "Parameters", "Arguments", "Output", "Assign"}
        | {"Resource", "Credentials", "ResultSelector", "Retry", "Catch", "Next", "End"}
        | {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"}
    ),
    "Wait": frozenset(
        {"InputPath", "OutputPath", "Output", "Assign", "Next", "End"}
        | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}
    ),
    "Parallel": frozenset(
        {"InputPath", "OutputPath", "ResultPath", "Parameters", "Arguments", "Output", "Assign"}
        | {"ResultSelector", "Retry", "Catch", "Branches", "Next", "End"}
    ),
    "Map": frozenset(
        {"InputPath", "OutputPath", "ResultPath", "Parameters", "Output", "Assign"}
        | {"ResultSelector", "Retry", "Catch", "Next", "End", "Label"}
        | {"ItemProcessor", "Iterator", "ItemsPath", "Items", "ItemSelector"}
        | {"ItemReader", "ItemBatcher", "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath"}
        | {"ToleratedFailurePercentage", "ToleratedFailurePercentagePath"}
        | {"ToleratedFailureCount", "ToleratedFailureCountPath"}
    ),
    "Choice": frozenset({"InputPath", "OutputPath", "Output", "Assign", "Choices", "Default"}),
    "Succeed": frozenset({"InputPath", "OutputPath", "Output"}),
    "Fail": frozenset({"Error", "Cause", "ErrorPath", "CausePath"}),
}
JSONPATH_ONLY = frozenset(
    {"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Result"}
    | {"ItemsPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath"}
    | {"TimestampPath", "ErrorPath", "CausePath", "MaxConcurrencyPath"}
    | {"ToleratedFailurePercentagePath", "ToleratedFailureCountPath"}
    | {"MaxItemsPath", "MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath", "Variable"}
    | OPERATORS
    | BOOLEAN_OPERATORS
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items", "Condition"})
DISTRIBUTED_ONLY = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
)
TOP_LEVEL_FIELDS = frozenset(
    {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
)
SUB_MACHINE_FIELDS = frozenset({"Comment", "StartAt", "States"})
RETRIER_FIELDS = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds"}
    | {"JitterStrategy", "Comment"}
)
CATCHER_FIELDS = {
    JSONPATH: frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}),
    JSONATA: frozenset({"ErrorEquals", "Next", "Output", "Comment", "Assign"}),
}
WAIT_FIELDS = ("SecondsPath", "Seconds", "TimestampPath", "Timestamp")
CHOICE_SELECTORS = ("And", "Or", "Not", "Variable", "Condition")
_RESOURCE_ARN = re.compile(r"arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+")
_STATES_FIELD = re.compile(r"\$states\s*\.\s*(result|errorOutput)\b")
_ROOT = re.compile(r"\$\$")
# Fields of a JSONata state that hold no expressions of their own.
_STRUCTURAL = frozenset(
    {"Type", "Comment", "QueryLanguage", "Next", "End", "Default", "Resource", "Label"}
    | {"Branches", "ItemProcessor", "Iterator", "Choices", "Catch", "Retry", "Assign"}
)
_RESULT_FIELDS = frozenset({"Output", "Assign"})
_COUNTERS = ("Retry", "Catch")


def is_jsonata_expression(value: Any) -> bool:
    """True for a ``{% ... %}`` JSONata expression string ("The string must start with {% and
    end with %}" -- surrounding spaces make it a literal, as at run time)."""
    return jsonata.is_expression(value)


def _pointer(base: str, field: str | int) -> str:
    return f"{base}[{field}]" if isinstance(field, int) else f"{base}/{field}"


def _is_int(value: Any) -> bool:
    """A JSON integer: ``5`` is one, ``5.0`` (a double to AWS's parser) and ``true`` are not."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _DuplicateKeys(dict):
    """A JSON object that remembers keys it saw twice (DUPLICATE_STATE_NAME needs them)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict:
    obj = _DuplicateKeys()
    seen: list[str] = []
    for key, value in pairs:
        if key in obj:
            seen.append(key)
        obj[key] = value
    if seen:
        obj.duplicates = tuple(seen)
    return obj


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.state_names: dict[str, str] = {}  # name -> first location (uniqueness is global)
        self.top_language = JSONPATH
        self.scopes: list[set[str]] = []  # variables assigned in each enclosing scope

    # ------------------------------------------------------------------ helpers
    def add(self, code: str, message: str, location: str) -> None:
        self.problems.append(Problem(code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.add(SCHEMA, message, location)

    def unknown_fields(self, obj: Mapping, allowed: frozenset[str], location: str) -> None:
        for key in obj:
            if key not in allowed:
                self.schema(f"Field '{key}' is not supported", location)

    def required(self, obj: Mapping, fields: tuple[str, ...], location: str) -> None:
        missing = [f for f in fields if f not in obj]
        if missing:
            self.schema(f"These fields are required: [{', '.join(missing)}]", location)

    def exclusive(self, obj: Mapping, fields: tuple[str, ...], location: str) -> None:
        if sum(f in obj for f in fields) > 1:
            self.schema(
                f"There should only be one of the following fields: [{', '.join(fields)}]", location
            )

    def expect(self, value: Any, kind: str, location: str) -> bool:
        checks = {
            "String": lambda v: isinstance(v, str),
            "Object": lambda v: isinstance(v, Mapping),
            "Array": lambda v: isinstance(v, list),
            "Boolean": lambda v: isinstance(v, bool),
            "Integer": _is_int,
            "Number": _is_number,
        }
        if checks[kind](value):
            return True
        self.schema(f"Expected value of type {kind}", location)
        return False

    def integer(
        self,
        obj: Mapping,
        field: str,
        location: str,
        minimum: int | None = None,
        maximum: int | None = None,
        language: str = JSONPATH,
    ) -> None:
        if field not in obj:
            return
        value = obj[field]
        where = _pointer(location, field)
        if language == JSONATA and is_jsonata_expression(value):
            return
        if not self.expect(value, "Integer", where):
            return
        if minimum is not None and value < minimum:
            self.schema(f"Minimum value is {minimum}", where)
        if maximum is not None and value > maximum:
            self.schema(f"Maximum value is {maximum}", where)

    def enum(self, obj: Mapping, field: str, allowed: tuple[str, ...], location: str) -> None:
        if field in obj and obj[field] not in allowed:
            self.schema(
                f"Value should be one of the following: [{', '.join(allowed)}]",
                _pointer(location, field),
            )

    def json_path(self, obj: Mapping, field: str, location: str, nullable: bool = True) -> None:
        if field not in obj or (nullable and obj[field] is None):
            return
        if not paths.is_valid_path(obj[field]):
            self.schema(f"The value for the field '{field}' must be a valid JSONPath", location)

    def reference_path(
        self, obj: Mapping, field: str, location: str, *, allow_context: bool = True
    ) -> None:
        if field not in obj:
            return
        value = obj[field]
        ok = paths.is_reference_path(value)
        if ok and not allow_context:
            ok = paths.parse_path(value).root == "$"
        if not ok:
            self.schema(
                f"The value for the field '{field}' must be a valid ReferencePath", location
            )

    def jsonata(
        self, value: Any, location: str, *, result: bool = False, error_output: bool = False
    ) -> None:
        """Check the ``{% %}`` expressions inside ``value``: they parse, do not use ``$$``, and
        read ``$states.result`` / ``$states.errorOutput`` only where those exist."""
        if isinstance(value, str):
            if is_jsonata_expression(value):
                self.expression(jsonata.expression_text(value), location, result, error_output)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.jsonata(
                    item, _pointer(location, key), result=result, error_output=error_output
                )
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata(item, _pointer(location, i), result=result, error_output=error_output)

    def expression(self, text: str, location: str, result: bool, error_output: bool) -> None:
        message = _jsonata_error(text)
        if message:
            self.add(INVALID_JSONATA, message, location)
            return
        code = jsonata.strip_strings(text)
        if _ROOT.search(code):
            self.add(UNSUPPORTED_JSONATA, "Reference to '$$' is not supported.", location)
        for match in _STATES_FIELD.finditer(code):
            field = match.group(1)
            if (field == "result" and not result) or (field == "errorOutput" and not error_output):
                self.add(UNSUPPORTED_JSONATA, f"Field '$states.{field}' does not exist.", location)

    # ------------------------------------------------------------------ machine
    def machine(self, definition: Any) -> None:
        if not isinstance(definition, Mapping):
            self.schema("Expected value of type Object", "")
            return
        self.unknown_fields(definition, TOP_LEVEL_FIELDS, "")
        if "Version" in definition and definition["Version"] != "1.0":
            self.schema("Value should be one of the following: [1.0]", "/Version")
        if "Comment" in definition:
            self.expect(definition["Comment"], "String", "/Comment")
        self.integer(definition, "TimeoutSeconds", "", minimum=0, maximum=MAX_SECONDS)
        language = definition.get("QueryLanguage", JSONPATH)
        self.enum(definition, "QueryLanguage", (JSONPATH, JSONATA), "")
        self.top_language = JSONATA if language == JSONATA else JSONPATH
        self.scope(definition, "")

    def scope(self, machine: Mapping, location: str) -> None:
        """StartAt + States of the top level, a Parallel branch or a Map processor."""
        self.required(machine, ("StartAt", "States"), location)
        states = machine.get("States")
        start = machine.get("StartAt")
        if "StartAt" in machine:
            self.expect(start, "String", _pointer(location, "StartAt"))
        if "States" not in machine or not self.expect(
            states, "Object", _pointer(location, "States")
        ):
            return
        for name in getattr(states, "duplicates", ()):
            self.add(
                DUPLICATE_NAME,
                f"Duplicate State name: {name}",
                _pointer(_pointer(location, "States"), name),
            )
        assigned = self.assigned_variables(states, _pointer(location, "States"))
        for name, where in assigned.items():
            if any(name in outer for outer in self.scopes):
                # "a variable assigned in an inner scope cannot have the same name as one
                # assigned in an outer scope" (workflow-variables.html)
                self.schema(
                    f"The variable '{name}' is assigned in an outer scope: states inside a "
                    "Map or Parallel state cannot assign it",
                    where,
                )
        self.scopes.append(set(assigned))
        try:
            for name, state in states.items():
                self.state(name, state, _pointer(_pointer(location, "States"), name))
        finally:
            self.scopes.pop()
        self.graph(states, start, location)

    def assigned_variables(self, states: Mapping, location: str) -> dict[str, str]:
        """The variables the states of one scope assign: name -> first Assign location."""
        found: dict[str, str] = {}
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            where = _pointer(location, name)
            blocks = [(state.get("Assign"), _pointer(where, "Assign"))]
            for field in ("Choices", "Catch"):
                entries = state.get(field)
                if isinstance(entries, list):
                    blocks += [
                        (e.get("Assign"), f"{_pointer(where, field)}[{i}]/Assign")
                        for i, e in enumerate(entries)
                        if isinstance(e, Mapping)
                    ]
            for assign, at in blocks:
                if isinstance(assign, Mapping):
                    for key in assign:
                        variable = key[:-2] if isinstance(key, str) and key.endswith(".$") else key
                        found.setdefault(variable, at)
        return found

    def graph(self, states: Mapping, start: Any, location: str) -> None:
        """Transitions stay inside this scope, every state is reachable, something ends."""
        states_at = _pointer(location, "States")
        if isinstance(start, str) and states and start not in states:
            self.add(
                MISSING_TARGET, f"Missing 'Next' target: {start}", _pointer(location, "StartAt")
            )
        edges: dict[str, list[str]] = {}
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            where = _pointer(states_at, name)
            targets: list[tuple[str, str]] = []
            if isinstance(state.get("Next"), str):
                targets.append((state["Next"], _pointer(where, "Next")))
            if isinstance(state.get("Default"), str):
                targets.append((state["Default"], _pointer(where, "Default")))
            for field in ("Choices", "Catch"):
                entries = state.get(field)
                if isinstance(entries, list):
                    for i, entry in enumerate(entries):
                        if isinstance(entry, Mapping) and isinstance(entry.get("Next"), str):
                            targets.append(
                                (entry["Next"], _pointer(_pointer(where, field), i) + "/Next")
                            )
            for target, at in targets:
                if target not in states:
                    self.add(MISSING_TARGET, f"Missing 'Next' target: {target}", at)
            edges[name] = [t for t, _ in targets if t in states]
        terminal = any(
            isinstance(s, Mapping)
            and (s.get("End") is True or s.get("Type") in ("Succeed", "Fail"))
            for s in states.values()
        )
        if not terminal:
            # AWS reports the top level without a location; nested scopes get theirs.
            self.add(MISSING_END, "Workflow has no terminal state", location)
            return  # AWS skips the reachability walk when nothing can end
        if not isinstance(start, str) or start not in states:
            return
        seen = {start}
        stack = [start]
        while stack:
            for target in edges.get(stack.pop(), []):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        for name in states:
            if name not in seen:
                self.add(
                    MISSING_TARGET, f'State "{name}" is not reachable.', _pointer(states_at, name)
                )

    # ------------------------------------------------------------------ states
    def state(self, name: Any, state: Any, location: str) -> None:
        if not isinstance(name, str):  # only possible for dicts built in Python
            self.add(INVALID_NAME, "State names must be strings", location)
            return
        if name in self.state_names:
            self.add(DUPLICATE_NAME, f"Duplicate State name: {name}", location)
        else:
            self.state_names[name] = location
        if not name:
            self.add(INVALID_NAME, "State name must not be empty", location)
        elif len(name) > MAX_STATE_NAME:
            self.add(
                INVALID_NAME,
                f"State name is {len(name)} characters long; the maximum is {MAX_STATE_NAME}",
                location,
            )
        if not isinstance(state, Mapping):
            self.schema("Expected value of type Object", location)
            return
        if "Type" not in state:
            self.required(state, ("Type",), location)
            return
        kind = state["Type"]
        if kind not in STATE_TYPES:
            self.schema(
                f"Value should be one of the following: [{', '.join(STATE_TYPES)}]",
                _pointer(location, "Type"),
            )
            return
        language = self.language_of(state, location)
        if "Comment" in state:
            self.expect(state["Comment"], "String", _pointer(location, "Comment"))
        allowed = STATE_FIELDS[kind] | COMMON_FIELDS
        for key in state:
            if key not in allowed:
                self.schema(f"Field '{key}' is not supported", location)
            elif language == JSONPATH and key in JSONATA_ONLY:
                self.wrong_language(key, JSONPATH, JSONATA, location)
            elif language == JSONATA and key in JSONPATH_ONLY:
                self.wrong_language(key, JSONATA, JSONPATH, location)
        if kind not in ("Choice", "Succeed", "Fail"):
            self.transition(state, location)
        if language == JSONPATH:
            self.json_path(state, "InputPath", location)
            self.json_path(state, "OutputPath", location)
            if "ResultPath" in state and state["ResultPath"] is not None:
                self.reference_path(state, "ResultPath", location, allow_context=False)
            for field in ("Parameters", "ResultSelector"):
                if field in state:
                    self.template(state[field], _pointer(location, field))
        else:
            results = kind in ("Task", "Map", "Parallel")
            for field, value in state.items():
                if field not in _STRUCTURAL:
                    self.jsonata(
                        value,
                        _pointer(location, field),
                        result=results and field in _RESULT_FIELDS,
                    )
        if "Assign" in state:
            self.assign(
                state["Assign"],
                _pointer(location, "Assign"),
                language,
                result=kind in ("Task", "Map", "Parallel"),
            )
        getattr(self, f"state_{kind.lower()}")(state, location, language)

    def language_of(self, state: Mapping, location: str) -> str:
        if "QueryLanguage" not in state:
            return self.top_language
        value = state["QueryLanguage"]
        if value not in (JSONPATH, JSONATA):
            self.enum(state, "QueryLanguage", (JSONPATH, JSONATA), location)
            return self.top_language
        if value == JSONPATH and self.top_language == JSONATA:
            self.schema(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                location,
            )
        return value

    def wrong_language(self, field: str, language: str, other: str, location: str) -> None:
        self.schema(
            f"The QueryLanguage is set to '{language}', but field '{field}' is only supported "
            f"for the '{other}' QueryLanguage",
            location,
        )

    def transition(self, state: Mapping, location: str) -> None:
        has_next = "Next" in state
        end = state.get("End")
        if "End" in state and not isinstance(end, bool):
            self.expect(end, "Boolean", _pointer(location, "End"))
        if has_next and end is True:
            self.schema("There should only be one of the following fields: [Next, End]", location)
        elif not has_next and end is not True:
            self.schema(
                "This object should have only one of the following fields: [Next, End]", location
            )
        if has_next:
            self.expect(state["Next"], "String", _pointer(location, "Next"))

    def template(self, template: Any, location: str) -> None:
        """A JSONPath payload template: ``.$`` values are paths or intrinsic calls."""
        if isinstance(template, list):
            for i, item in enumerate(template):
                self.template(item, _pointer(location, i))
            return
        if not isinstance(template, Mapping):
            return
        stripped: set[str] = set()
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$"):
                name = key[:-2]
                if not _valid_dynamic(value):
                    self.schema(
                        f"The value for the field '{key}' must be a valid JSONPath", location
                    )
            else:
                name = key
                self.template(value, _pointer(location, key))
            if name in stripped:
                self.schema(
                    f"The field '{name}' appears twice once the '.$' suffix is removed",
                    location,
                )
            stripped.add(name)

    def assign(
        self,
        assign: Any,
        location: str,
        language: str,
        *,
        result: bool = False,
        error_output: bool = False,
    ) -> None:
        if not self.expect(assign, "Object", location):
            return
        for key in assign:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            if not is_valid_name(name):
                self.schema(
                    f"Invalid variable name '{name}': variable names are Unicode identifiers "
                    "of at most 80 characters, and 'states' is reserved",
                    _pointer(location, key),
                )
        if language == JSONPATH:
            self.template(assign, location)
        else:
            self.jsonata(assign, location, result=result, error_output=error_output)

    # ------------------------------------------------------------------ state types
    def state_pass(self, state: Mapping, location: str, language: str) -> None:
        return

    def state_succeed(self, state: Mapping, location: str, language: str) -> None:
        return

    def state_task(self, state: Mapping, location: str, language: str) -> None:
        self.required(state, ("Resource",), location)
        resource = state.get("Resource")
        if "Resource" in state and self.expect(resource, "String", _pointer(location, "Resource")):
            pending_substitution = "${" in resource
            if not pending_substitution and not _RESOURCE_ARN.fullmatch(resource):
                self.schema("Value is not a valid resource ARN", _pointer(location, "Resource"))
        for field, path_field in (
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
        ):
            self.exclusive(state, (field, path_field), location)
            self.integer(state, field, location, 1, MAX_SECONDS, language)
            if language == JSONPATH:
                self.reference_path(state, path_field, location)
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        if _is_int(timeout) and _is_int(heartbeat) and heartbeat >= timeout:
            self.schema(
                "The value of HeartbeatSeconds must be smaller than the value of TimeoutSeconds",
                _pointer(location, "HeartbeatSeconds"),
            )
        if "Credentials" in state:
            credentials = state["Credentials"]
            where = _pointer(location, "Credentials")
            if self.expect(credentials, "Object", where):
                if "RoleArn" not in credentials and "RoleArn.$" not in credentials:
                    self.schema("The field 'RoleArn' is required but was missing", where)
                if language == JSONPATH:
                    self.template(credentials, where)
        self.error_handling(state, location, language)

    def state_wait(self, state: Mapping, location: str, language: str) -> None:
        present = [f for f in WAIT_FIELDS if f in state]
        if len(present) > 1:
            self.schema(
                f"There should only be one of the following fields: [{', '.join(WAIT_FIELDS)}]",
                location,
            )
        elif not present:
            self.schema(
                f"This object should have only one of the following fields: [{', '.join(WAIT_FIELDS)}]",
                location,
            )
        self.integer(state, "Seconds", location, 0, MAX_SECONDS, language)
        if "Timestamp" in state:
            value = state["Timestamp"]
            if not (language == JSONATA and is_jsonata_expression(value)) and not is_timestamp(
                value
            ):
                self.schema(
                    "String does not match RFC3339 timestamp", _pointer(location, "Timestamp")
                )
        if language == JSONPATH:
            self.reference_path(state, "SecondsPath", location)
            self.reference_path(state, "TimestampPath", location)

    def state_fail(self, state: Mapping, location: str, language: str) -> None:
        for field in ("Error", "Cause"):
            path_field = f"{field}Path"
            self.exclusive(state, (field, path_field), location)
            if field in state:
                self.expect(state[field], "String", _pointer(location, field))
            if path_field in state and language == JSONPATH:
                value = state[path_field]
                if not (paths.is_reference_path(value) or _valid_intrinsic(value)):
                    self.schema(
                        f"The value for the field '{path_field}' must be a valid ReferencePath "
                        "or a valid intrinsic function call",
                        location,
                    )

    def state_choice(self, state: Mapping, location: str, language: str) -> None:
        self.required(state, ("Choices",), location)
        if "Default" in state:
            self.expect(state["Default"], "String", _pointer(location, "Default"))
        choices = state.get("Choices")
        where = _pointer(location, "Choices")
        if "Choices" not in state or not self.expect(choices, "Array", where):
            return
        if not choices:
            self.schema("Value cannot be empty", where)
        for i, rule in enumerate(choices):
            self.choice_rule(rule, _pointer(where, i), language, top=True)

    def choice_rule(
        self, rule: Any, location: str, language: str, top: bool, depth: int = 0
    ) -> None:
        if not self.expect(rule, "Object", location):
            return
        if depth > 50:
            self.schema("Choice rules are nested too deeply", location)
            return
        if top:
            self.required(rule, ("Next",), location)
            if "Next" in rule:
                self.expect(rule["Next"], "String", _pointer(location, "Next"))
        elif "Next" in rule:
            self.schema("Field 'Next' is not supported", location)
        if "Assign" in rule:
            if top:
                self.assign(rule["Assign"], _pointer(location, "Assign"), language)
            else:
                self.schema("Field 'Assign' is not supported", location)
        if language == JSONATA:
            allowed = {"Condition", "Next", "Comment", "Assign", "Output"}
            for key in rule:
                if key in JSONPATH_ONLY:
                    self.wrong_language(key, JSONATA, JSONPATH, location)
                elif key not in allowed:
                    self.schema(f"Field '{key}' is not supported", location)
            self.required(rule, ("Condition",), location)
            condition = rule.get("Condition")
            if "Condition" in rule and not isinstance(condition, bool):
                if not is_jsonata_expression(condition):
                    self.schema(
                        "The value for the field 'Condition' must be a JSONata expression",
                        _pointer(location, "Condition"),
                    )
                else:
                    self.jsonata(condition, _pointer(location, "Condition"))
            if "Output" in rule:
                if top:
                    self.jsonata(rule["Output"], _pointer(location, "Output"))
                else:
                    self.schema("Field 'Output' is not supported", location)
            return
        selectors = [k for k in CHOICE_SELECTORS if k in rule]
        if len(selectors) != 1:
            self.schema(
                "The object must have only one of the following fields, "
                f"[{', '.join(CHOICE_SELECTORS)}]",
                location,
            )
        allowed_extra = {"Next", "Comment", "Assign", "Output"}
        for key in rule:
            if key == "Condition" or key == "Output":
                self.wrong_language(key, JSONPATH, JSONATA, location)
            elif key not in OPERATORS and key not in CHOICE_SELECTORS and key not in allowed_extra:
                self.schema(f"Field '{key}' is not supported", location)
        if "And" in rule or "Or" in rule:
            for name in ("And", "Or"):
                if name not in rule:
                    continue
                parts = rule[name]
                where = _pointer(location, name)
                if self.expect(parts, "Array", where):
                    if not parts:
                        self.schema("Value cannot be empty", where)
                    for i, part in enumerate(parts):
                        self.choice_rule(part, _pointer(where, i), language, False, depth + 1)
        if "Not" in rule:
            self.choice_rule(rule["Not"], _pointer(location, "Not"), language, False, depth + 1)
        operators = [k for k in rule if k in OPERATORS]
        if "Variable" in rule:
            self.reference_path(rule, "Variable", location)
            if len(operators) > 1:
                self.schema(
                    f"There should only be one of the following fields: [{', '.join(operators)}]",
                    location,
                )
            elif not operators:
                self.schema(
                    "A Choice Rule with a Variable needs a comparison operator such as "
                    "StringEquals, NumericEquals, BooleanEquals, TimestampEquals or IsPresent",
                    location,
                )
        elif operators:
            self.required(rule, ("Variable",), location)
        for operator in operators:
            self.operand(rule, operator, location)

    def operand(self, rule: Mapping, operator: str, location: str) -> None:
        value = rule[operator]
        where = _pointer(location, operator)
        if operator in PATH_COMPARISONS:
            self.reference_path(rule, operator, location)
        elif operator.startswith("Is") or operator == "BooleanEquals":
            self.expect(value, "Boolean", where)
        elif operator.startswith("Numeric"):
            self.expect(value, "Number", where)
        elif operator.startswith("Timestamp"):
            if self.expect(value, "String", where) and not is_timestamp(value):
                self.schema("String does not match RFC3339 timestamp", where)
        elif self.expect(value, "String", where) and operator == "StringMatches":
            try:
                wildcard_pattern(value)
            except ValueError:
                self.schema(
                    "Invalid escape sequence in StringMatches: only \\* and \\\\ are escapes", where
                )

    def state_parallel(self, state: Mapping, location: str, language: str) -> None:
        self.required(state, ("Branches",), location)
        branches = state.get("Branches")
        where = _pointer(location, "Branches")
        if "Branches" in state and self.expect(branches, "Array", where):
            if not branches:
                self.schema("Value cannot be empty", where)
            for i, branch in enumerate(branches):
                at = _pointer(where, i)
                if self.expect(branch, "Object", at):
                    self.unknown_fields(branch, SUB_MACHINE_FIELDS, at)
                    self.scope(branch, at)
        self.error_handling(state, location, language)

    def state_map(self, state: Mapping, location: str, language: str) -> None:
        present = [f for f in ("ItemProcessor", "Iterator") if f in state]
        if len(present) > 1:
            self.exclusive(state, ("ItemProcessor", "Iterator"), location)
        elif not present:
            self.schema(
                "This object should have only one of the following fields: [ItemProcessor, Iterator]",
                location,
            )
        mode = "INLINE"
        for field in present:
            processor = state[field]
            where = _pointer(location, field)
            if not self.expect(processor, "Object", where):
                continue
            self.unknown_fields(processor, SUB_MACHINE_FIELDS | {"ProcessorConfig"}, where)
            config = processor.get("ProcessorConfig")
            if "ProcessorConfig" in processor:
                mode = self.processor_config(config, _pointer(where, "ProcessorConfig")) or mode
            self.scope(processor, where)
        if mode != "DISTRIBUTED":
            for field in DISTRIBUTED_ONLY:
                if field in state:
                    self.schema(f"Field '{field}' is not supported", location)
        self.exclusive(state, ("ItemSelector", "Parameters"), location)
        if language == JSONPATH:
            self.json_path(state, "ItemsPath", location, nullable=False)
            if "ItemSelector" in state:
                self.template(state["ItemSelector"], _pointer(location, "ItemSelector"))
        self.exclusive(state, ("MaxConcurrency", "MaxConcurrencyPath"), location)
        self.integer(state, "MaxConcurrency", location, 0, None, language)
        self.exclusive(
            state, ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"), location
        )
        self.exclusive(state, ("ToleratedFailureCount", "ToleratedFailureCountPath"), location)
        self.integer(state, "ToleratedFailureCount", location, 0, None, language)
        if "ToleratedFailurePercentage" in state:
            value = state["ToleratedFailurePercentage"]
            where = _pointer(location, "ToleratedFailurePercentage")
            if not (language == JSONATA and is_jsonata_expression(value)) and self.expect(
                value, "Number", where
            ):
                if value < 0:
                    self.schema("Minimum value is 0.0", where)
                elif value > 100:
                    self.schema("Maximum value is 100.0", where)
        if language == JSONPATH:
            for field in (
                "MaxConcurrencyPath",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCountPath",
            ):
                self.reference_path(state, field, location)
        if "Label" in state:
            self.expect(state["Label"], "String", _pointer(location, "Label"))
        self.map_reader_batcher(state, location, language)
        self.error_handling(state, location, language)

    def processor_config(self, config: Any, location: str) -> str | None:
        if not self.expect(config, "Object", location):
            return None
        self.unknown_fields(config, frozenset({"Mode", "ExecutionType"}), location)
        self.enum(config, "Mode", ("INLINE", "DISTRIBUTED"), location)
        mode = config.get("Mode", "INLINE")
        if mode == "DISTRIBUTED":
            self.required(config, ("ExecutionType",), location)
            self.enum(config, "ExecutionType", ("STANDARD", "EXPRESS"), location)
        elif "ExecutionType" in config:
            self.schema("Field 'ExecutionType' is not supported", location)
        return mode if mode in ("INLINE", "DISTRIBUTED") else None

    def map_reader_batcher(self, state: Mapping, location: str, language: str) -> None:
        if isinstance(state.get("ItemReader"), Mapping):
            reader = state["ItemReader"]
            where = _pointer(location, "ItemReader")
            self.unknown_fields(
                reader, frozenset({"Resource", "ReaderConfig", "Parameters", "Arguments"}), where
            )
            self.required(reader, ("Resource",), where)
            self.payload_language(reader, where, language)
            config = reader.get("ReaderConfig")
            if isinstance(config, Mapping):
                at = _pointer(where, "ReaderConfig")
                if language == JSONATA and "MaxItemsPath" in config:
                    self.wrong_language("MaxItemsPath", JSONATA, JSONPATH, at)
                self.exclusive(config, ("MaxItems", "MaxItemsPath"), at)
                self.integer(config, "MaxItems", at, 0, 100_000_000, language)
                if config.get("InputType") == "CSV" and "CSVHeaderLocation" not in config:
                    self.schema("The field 'CSVHeaderLocation' is required", at)
                if config.get("CSVHeaderLocation") == "GIVEN":
                    self.required(config, ("CSVHeaders",), at)
        elif "ItemReader" in state:
            self.expect(state["ItemReader"], "Object", _pointer(location, "ItemReader"))
        if isinstance(state.get("ItemBatcher"), Mapping):
            batcher = state["ItemBatcher"]
            where = _pointer(location, "ItemBatcher")
            for field in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
                self.exclusive(batcher, (field, f"{field}Path"), where)
                self.integer(batcher, field, where, 0, None, language)
                if language == JSONPATH:
                    self.reference_path(batcher, f"{field}Path", where)
                elif f"{field}Path" in batcher:
                    self.wrong_language(f"{field}Path", JSONATA, JSONPATH, where)
        if "ResultWriter" in state:
            where = _pointer(location, "ResultWriter")
            if self.expect(state["ResultWriter"], "Object", where):
                self.payload_language(state["ResultWriter"], where, language)

    def payload_language(self, spec: Mapping, location: str, language: str) -> None:
        """ItemReader/ResultWriter take Parameters (JSONPath) or Arguments (JSONata)."""
        if language == JSONATA and "Parameters" in spec:
            self.wrong_language("Parameters", JSONATA, JSONPATH, location)
        elif language == JSONPATH and "Arguments" in spec:
            self.wrong_language("Arguments", JSONPATH, JSONATA, location)

    # ------------------------------------------------------------------ Retry / Catch
    def error_handling(self, state: Mapping, location: str, language: str) -> None:
        for field in _COUNTERS:
            if field not in state:
                continue
            entries = state[field]
            where = _pointer(location, field)
            if not self.expect(entries, "Array", where):
                continue
            for i, entry in enumerate(entries):
                at = _pointer(where, i)
                if not self.expect(entry, "Object", at):
                    continue
                allowed = RETRIER_FIELDS if field == "Retry" else CATCHER_FIELDS[language]
                for key in entry:
                    if key in allowed:
                        continue
                    if (
                        field == "Catch"
                        and key in CATCHER_FIELDS[JSONATA if language == JSONPATH else JSONPATH]
                    ):
                        other = JSONATA if language == JSONPATH else JSONPATH
                        self.wrong_language(key, language, other, at)
                    else:
                        self.schema(f"Field '{key}' is not supported", at)
                self.error_equals(entry, at, last=i == len(entries) - 1)
                if field == "Retry":
                    self.retrier(entry, at)
                else:
                    self.required(entry, ("Next",), at)
                    if "Next" in entry:
                        self.expect(entry["Next"], "String", _pointer(at, "Next"))
                    if language == JSONPATH and entry.get("ResultPath") is not None:
                        self.reference_path(entry, "ResultPath", at, allow_context=False)
                    if "Assign" in entry:
                        self.assign(
                            entry["Assign"], _pointer(at, "Assign"), language, error_output=True
                        )
                    if language == JSONATA and "Output" in entry:
                        self.jsonata(entry["Output"], _pointer(at, "Output"), error_output=True)

    def error_equals(self, entry: Mapping, location: str, last: bool) -> None:
        self.required(entry, ("ErrorEquals",), location)
        names = entry.get("ErrorEquals")
        where = _pointer(location, "ErrorEquals")
        if "ErrorEquals" not in entry or not self.expect(names, "Array", where):
            return
        if not names:
            self.schema("Value cannot be empty", where)
        for j, error_name in enumerate(names):
            self.expect(error_name, "String", _pointer(where, j))
            if error_name == "States.ALL" and (len(names) > 1 or not last):
                self.schema("States.ALL must appear alone and at end of list", _pointer(where, j))

    def retrier(self, entry: Mapping, location: str) -> None:
        self.integer(entry, "IntervalSeconds", location, 1, MAX_SECONDS)
        self.integer(entry, "MaxAttempts", location, 0, MAX_SECONDS)
        self.integer(entry, "MaxDelaySeconds", location, 1, 31_622_400)
        if "BackoffRate" in entry:
            where = _pointer(location, "BackoffRate")
            if self.expect(entry["BackoffRate"], "Number", where) and entry["BackoffRate"] < 1.0:
                self.schema("Minimum value is 1.0", where)
        self.enum(entry, "JitterStrategy", ("NONE", "FULL"), location)


def _valid_intrinsic(value: Any) -> bool:
    if not intrinsics.is_intrinsic(value):
        return False
    try:
        intrinsics.parse(value)
    except intrinsics.IntrinsicSyntaxError:
        return False
    return True


def _valid_dynamic(value: Any) -> bool:
    """A ``.$`` value: a path (``$``, ``$$``, ``$variable``) or a well-formed intrinsic call."""
    if not isinstance(value, str):
        return False
    if value.startswith("$"):
        return paths.is_valid_path(value)
    return _valid_intrinsic(value)


def _jsonata_error(expression: str) -> str | None:
    """The parse error of a JSONata expression (the evaluator's ``S0201: ...``), or None."""
    return jsonata.parse_error(expression)


def _load(definition: dict | str) -> tuple[Any, list[Problem]]:
    if isinstance(definition, (bytes, bytearray)):
        try:
            definition = definition.decode("utf-8")
        except UnicodeDecodeError:
            return None, [Problem(INVALID_JSON, "The definition is not UTF-8 text", "")]
    if definition is None or (isinstance(definition, str) and not definition.strip()):
        return None, [Problem(MISSING_DESCRIPTION, "Received a null or empty workflow input.", "")]
    if not isinstance(definition, str):
        return definition, []
    try:
        return json.loads(definition, object_pairs_hook=_object_pairs), []
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return None, [Problem(INVALID_JSON, message, "")]
    except RecursionError:
        return None, [Problem(INVALID_JSON, "The definition is nested too deeply", "")]


def validate_definition(definition: dict | str) -> list[Problem]:
    """Every problem with ``definition`` (a dict or JSON text); an empty list means valid."""
    loaded, problems = _load(definition)
    if problems:
        return problems
    validator = _Validator()
    try:
        validator.machine(loaded)
    except RecursionError:
        validator.schema("The definition is nested too deeply", "")
    return validator.problems


def assert_valid(definition: dict | str) -> dict:
    """The parsed definition, or InvalidDefinition carrying every problem."""
    loaded, problems = _load(definition)
    if not problems:
        problems = validate_definition(loaded)
    if problems:
        raise InvalidDefinition(problems)
    return loaded
