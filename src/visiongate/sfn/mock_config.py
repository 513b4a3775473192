"""Mocked service integrations, read from AWS Step Functions Local's ``MockConfigFile.json``.

The format is AWS's, unchanged (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html)::

    {"StateMachines": {"<state machine name>": {"TestCases": {"<test case>": {
         "<state name>": "<mocked response name>", ...}}}},
     "MockedResponses": {"<mocked response name>": {
         "0":   {"Return": <the service's response>},
         "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}}}}

A Task state listed in the chosen test case never calls its resource: its n-th attempt
(0 = first try, 1 = first retry, ...) takes the response numbered n; attempts past the last
number reuse the last response. ``Return`` is the *service* response (for ``lambda:invoke``:
``{"StatusCode": 200, "Payload": ...}``), which then goes through ResultSelector/ResultPath as a
real one would. States the test case does not list run for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visiongate.errors import VisiongateError


class InvalidMockConfig(VisiongateError):
    """The mock configuration file does not follow Step Functions Local's format."""


@dataclass(frozen=True)
class MockedResponse:
    """One numbered entry: ``Return`` a value or ``Throw`` an error."""

    returns: Any = None
    error: str | None = None
    cause: str = ""

    @property
    def throws(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class MockTestCase:
    """The mocked responses of one test case, by state name."""

    state_machine: str
    name: str
    responses: dict[str, tuple[MockedResponse, ...]]

    def response_for(self, state_name: str, attempt: int) -> MockedResponse | None:
        """The response for ``attempt`` (0-based) of ``state_name``; None when not mocked."""
        sequence = self.responses.get(state_name)
        if not sequence:
            return None
        return sequence[min(attempt, len(sequence) - 1)]


def _range(key: str, where: str) -> tuple[int, int]:
    parts = key.strip().split("-")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2 and 0 <= numbers[0] < numbers[1]:
        return numbers[0], numbers[1]
    raise InvalidMockConfig(
        f"{where}: response key {key!r} is not an invocation number or range",
        hint='use "0", "1", ... or a range such as "1-2"',
    )


def _response(entry: Any, where: str) -> MockedResponse:
    if not isinstance(entry, dict) or len(entry.keys() & {"Return", "Throw"}) != 1:
        raise InvalidMockConfig(
            f"{where}: each numbered response needs exactly one of Return or Throw",
            hint='e.g. {"0": {"Return": {"StatusCode": 200, "Payload": {}}}}',
        )
    if "Return" in entry:
        return MockedResponse(returns=entry["Return"])
    throw = entry["Throw"]
    if not isinstance(throw, dict) or not isinstance(throw.get("Error"), str):
        raise InvalidMockConfig(
            f"{where}: Throw needs an Error string",
            hint='e.g. {"Throw": {"Error": "X", "Cause": "y"}}',
        )
    return MockedResponse(error=throw["Error"], cause=str(throw.get("Cause", "")))


def _sequence(name: str, spec: Any) -> tuple[MockedResponse, ...]:
    where = f"MockedResponses.{name}"
    if not isinstance(spec, dict) or not spec:
        raise InvalidMockConfig(f"{where} must be a non-empty object of numbered responses")
    ranged = sorted(
        (_range(key, where), _response(value, f"{where}.{key}")) for key, value in spec.items()
    )
    sequence: list[MockedResponse] = []
    for (start, end), response in ranged:
        if start != len(sequence):
            raise InvalidMockConfig(
                f"{where}: responses must be numbered consecutively from 0; "
                f"expected {len(sequence)}, found {start}",
                hint='number them "0", "1", "2-3", ... without gaps',
            )
        sequence.extend([response] * (end - start + 1))
    return tuple(sequence)


class MockConfig:
    """A parsed MockConfigFile.json."""

    def __init__(self, document: Any, source: str = "mock config") -> None:
        if not isinstance(document, dict):
            raise InvalidMockConfig(f"{source}: the top level must be a JSON object")
        self.source = source
        self.document = document
        machines = document.get("StateMachines", {})
        responses = document.get("MockedResponses", {})
        if not isinstance(machines, dict) or not isinstance(responses, dict):
            raise InvalidMockConfig(
                f"{source}: StateMachines and MockedResponses must be objects",
                hint="see https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html",
            )
        self._responses = {name: _sequence(name, spec) for name, spec in responses.items()}
        self._machines = machines

    @classmethod
    def load(cls, path: str | Path) -> MockConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidMockConfig(f"cannot read mock config {path}: {exc.strerror}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidMockConfig(
                f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        return cls(document, source=str(path))

    def state_machines(self) -> list[str]:
        return sorted(self._machines)

    def test_cases(self, state_machine: str) -> list[str]:
        machine = self._machines.get(state_machine) or {}
        return sorted((machine.get("TestCases") or {}).keys())

    def test_case(self, state_machine: str, name: str) -> MockTestCase:
        machine = self._machines.get(state_machine)
        if not isinstance(machine, dict):
            known = ", ".join(self.state_machines()) or "none"
            raise InvalidMockConfig(
                f"{self.source}: no state machine {state_machine!r} in StateMachines",
                hint=f"state machines in the file: {known}",
            )
        cases = machine.get("TestCases")
        case = cases.get(name) if isinstance(cases, dict) else None
        if not isinstance(case, dict):
            known = ", ".join(self.test_cases(state_machine)) or "none"
            raise InvalidMockConfig(
                f"{self.source}: state machine {state_machine!r} has no test case {name!r}",
                hint=f"test cases: {known}",
            )
        responses: dict[str, tuple[MockedResponse, ...]] = {}
        for state, response_name in case.items():
            if response_name not in self._responses:
                raise InvalidMockConfig(
                    f"{self.source}: test case {name!r} maps state {state!r} to "
                    f"{response_name!r}, which MockedResponses does not define"
                )
            responses[str(state)] = self._responses[response_name]
        return MockTestCase(state_machine=state_machine, name=name, responses=responses)
