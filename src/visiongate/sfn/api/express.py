"""What an EXPRESS state machine may not contain, checked on top of the engine's validator.

Express workflows run at most five minutes and keep no task tokens, so Step Functions rejects
``.waitForTaskToken`` and ``.sync`` integrations and Activity tasks in them. Wording recorded
against AWS (LocalStack snapshot ``test_sfn_api_express``), including AWS's double space:

    SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken'
    service integration  at /States/Publish/Resource

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from visiongate.sfn.errors import Problem

SCHEMA = "SCHEMA_VALIDATION_FAILED"


def _states(block: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, state) for every state of ``block`` and of the blocks nested in it."""
    if not isinstance(block, dict) or not isinstance(block.get("States"), dict):
        return
    for name, state in block["States"].items():
        if not isinstance(state, dict):
            continue
        location = f"{prefix}/States/{name}"
        yield location, state
        for index, branch in enumerate(state.get("Branches") or ()):
            yield from _states(branch, f"{location}/Branches[{index}]")
        for field in ("ItemProcessor", "Iterator"):
            if field in state:
                yield from _states(state[field], f"{location}/{field}")


def express_problems(definition: str) -> list[Problem]:
    """The problems an otherwise valid definition has when its type is EXPRESS."""
    try:
        parsed = json.loads(definition)
    except (ValueError, RecursionError):
        return []
    problems = []
    for location, state in _states(parsed, ""):
        resource = state.get("Resource")
        if state.get("Type") != "Task" or not isinstance(resource, str):
            continue
        where = f"{location}/Resource"
        if resource.endswith(".waitForTaskToken"):
            message = (
                "Express state machine does not support '.waitForTaskToken' service integration "
            )
            problems.append(Problem(SCHEMA, message, where))
        elif resource.endswith((".sync", ".sync:2")):
            message = "Express state machine does not support '.sync' service integration"
            problems.append(Problem(SCHEMA, message, where))
        elif ":activity:" in resource:
            problems.append(
                Problem(SCHEMA, "Express state machine does not support Activity ARN", where)
            )
    return problems
