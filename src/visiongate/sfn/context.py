"""The Context object (``$$``), ARNs, and the variable scope of a thread of control.

Context object (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html)::

    {"Execution": {"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount"},
     "State": {"EnteredTime", "Name", "RetryCount"},
     "StateMachine": {"Id", "Name"},
     "Task": {"Token"},                  # only in a .waitForTaskToken Task's Parameters
     "Map": {"Item": {"Index", "Value"}}} # only in a Map's ItemSelector / Parameters

Times are ISO 8601 UTC with milliseconds, e.g. ``2019-03-26T20:14:13.192Z``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

# Names of state machines and executions: 1-80 characters, none of AWS's forbidden ones.
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
_FORBIDDEN_NAME = re.compile(r"[\s?*<>{}\[\]:;,\\|^~$#%&`\"\u0000-\u001f\u007f-\u009f]")


def iso_millis(moment: datetime) -> str:
    """``2019-03-26T20:14:13.192Z``: the Context object's time format."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def invalid_name_reason(name: Any) -> str | None:
    """Why ``name`` cannot name a state machine or execution, or None when it can."""
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        return "must be 1-80 characters long"
    if _FORBIDDEN_NAME.search(name):
        return (
            'must not contain whitespace, brackets, wildcards or any of : ; , \\ | ^ ~ $ # % & ` "'
        )
    return None


def new_execution_name() -> str:
    return str(uuid.uuid4())


class Arns:
    """The ARNs AWS gives to state machines, executions, map runs and functions."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account

    def state_machine(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def execution(self, state_machine_name: str, name: str, express: bool = False) -> str:
        if express:
            return (
                f"arn:aws:states:{self.region}:{self.account}:express:{state_machine_name}:"
                f"{name}:{uuid.uuid4()}"
            )
        return f"arn:aws:states:{self.region}:{self.account}:execution:{state_machine_name}:{name}"

    def map_run(self, state_machine_name: str, label: str, run_id: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:mapRun:{state_machine_name}/{label}:{run_id}"

    def map_run_child(self, state_machine_name: str, label: str, name: str) -> str:
        return (
            f"arn:aws:states:{self.region}:{self.account}:execution:"
            f"{state_machine_name}/{label}:{name}"
        )

    def default_role(self) -> str:
        return f"arn:aws:iam::{self.account}:role/service-role/visiongate-local-StepFunctions"


class Scope:
    """Workflow variables visible to one thread of control.

    A Parallel branch or Map iteration gets a child scope: it reads its parents' variables
    and assigns its own, which siblings never see (AWS's scoping rules). A scope reads like a
    read-only mapping of every visible variable (``name in scope``, ``scope[name]``), which
    is what the JSONPath readers take as ``variables``. ``sizes`` holds the JSON size of each
    of its own values, for the 10 MiB-per-execution quota.
    """

    __slots__ = ("parent", "values", "sizes")

    def __init__(self, parent: Scope | None = None, values: dict[str, Any] | None = None) -> None:
        self.parent = parent
        self.values = values if values is not None else {}
        self.sizes: dict[str, int] = {}

    def child(self) -> Scope:
        return Scope(self)

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            scope = scope.parent
        raise KeyError(name)

    __getitem__ = lookup

    def __contains__(self, name: object) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return True
            scope = scope.parent
        return False

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self.lookup(name)
        except KeyError:
            return default

    def visible(self) -> dict[str, Any]:
        chain: list[Scope] = []
        scope: Scope | None = self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        merged: dict[str, Any] = {}
        for item in reversed(chain):
            merged.update(item.values)
        return merged
