"""Choice: picks the next state from the first matching rule, else ``Default``.

No rule matching and no Default fails with ``States.NoChoiceMatched``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import choice as rules
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State
from visiongate.sfn.states.jsonpath_io import mentions_context


class ChoiceState(State):
    kind = "Choice"
    entered_type = "ChoiceStateEntered"
    exited_type = "ChoiceStateExited"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.choices = list(spec.get("Choices", ()))
        self.default: str | None = spec.get("Default")
        self.decide = rules.compile_choices(self.choices, self.default)
        self.needs_context = self.needs_context or mentions_context(self.choices)

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        io = self.io
        context = self.context(frame, entered)
        effective = io.effective_input(raw, context)
        return self.decide(effective, context), io.output(effective, context)
