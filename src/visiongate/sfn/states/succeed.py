"""Succeed: ends the execution (or the branch/iteration) successfully.

https://docs.aws.amazon.com/step-functions/latest/dg/state-succeed.html
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State


class SucceedState(State):
    kind = "Succeed"
    entered_type = "SucceedStateEntered"
    exited_type = "SucceedStateExited"

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        context = self.context(frame, entered)
        effective = self.io.effective_input(raw, context, frame.scope)
        return None, self.io.pass_through(frame, raw, effective, context)
