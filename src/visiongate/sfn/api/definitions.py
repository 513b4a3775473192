"""Definition checks as the API reports them: diagnostics and InvalidDefinition messages.

The engine's validator (:meth:`Engine.validate`) decides what is valid — every definition,
whatever its ``QueryLanguage``, goes to it untouched. This module only words the result the
way the API does:

* JSON syntax errors use Jackson's text and a ``[Source: ...]`` location (see jsonerrors);
* an empty definition is ``SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object``;
* the root location is ``/`` (``These fields are required: [StartAt] at /``);
* EXPRESS state machines add the checks of :mod:`express`.

Recorded against AWS in LocalStack's ``test_sfn_api_validation.snapshot.json``.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn.api.exceptions import InvalidDefinition
from visiongate.sfn.api.express import express_problems
from visiongate.sfn.api.jsonerrors import parse_error
from visiongate.sfn.errors import Problem

INVALID_JSON = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
SCHEMA = "SCHEMA_VALIDATION_FAILED"


def problems(engine: Any, definition: str, machine_type: str = "STANDARD") -> list[Problem]:
    """Every problem of ``definition``, worded as the API words it."""
    found = engine.validate(definition)
    worded: list[Problem] = []
    for problem in found:
        if problem.code == MISSING_DESCRIPTION or (
            problem.code == INVALID_JSON and not definition.strip()
        ):
            worded.append(Problem(SCHEMA, "Definition must be a valid JSON object", ""))
        elif problem.code == INVALID_JSON and (syntax := parse_error(definition)) is not None:
            worded.append(Problem(INVALID_JSON, syntax.with_location, syntax.source))
        else:
            worded.append(Problem(problem.code, problem.message, problem.location or "/"))
    if not found and machine_type == "EXPRESS":
        worded.extend(express_problems(definition))
    return worded


def diagnostic(problem: Problem) -> dict[str, Any]:
    """A ValidateStateMachineDefinitionDiagnostic."""
    item: dict[str, Any] = {"severity": "ERROR", "code": problem.code, "message": problem.message}
    if problem.location:
        item["location"] = problem.location
    return item


def assert_valid(engine: Any, definition: str, machine_type: str = "STANDARD") -> None:
    """InvalidDefinition (the API error) listing every problem, as CreateStateMachine reports."""
    found = problems(engine, definition, machine_type)
    if not found:
        return
    parts = []
    for problem in found:
        if problem.code == INVALID_JSON:
            parts.append(f"{problem.code}: {problem.message}")
        elif problem.location:
            parts.append(f"{problem.code}: {problem.message} at {problem.location}")
        else:
            parts.append(f"{problem.code}: {problem.message}")
    raise InvalidDefinition(f"Invalid State Machine Definition: '{', '.join(parts)}'")
