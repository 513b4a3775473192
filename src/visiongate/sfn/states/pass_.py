"""Pass: passes its input on, optionally injecting ``Result`` or shaping it with Parameters
(JSONPath) or ``Output`` (JSONata).

https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html
"""

from __future__ import annotations

import copy
from typing import Any

from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State


class PassState(State):
    kind = "Pass"
    entered_type = "PassStateEntered"
    exited_type = "PassStateExited"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.has_result = "Result" in spec
        self.result = spec.get("Result")
        # A constant result that is a container is shared between executions: copy it so a
        # later mutation (a handler changing its event) can never leak into the definition.
        self.result_is_container = isinstance(self.result, dict | list)

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        io = self.io
        context = self.context(frame, entered)
        variables = frame.scope
        effective = io.effective_input(raw, context, variables)
        if self.has_result:
            result = copy.deepcopy(self.result) if self.result_is_container else self.result
        else:
            result = io.task_input(effective, context, variables)
        return self.next, io.finish(frame, raw, result, context)
