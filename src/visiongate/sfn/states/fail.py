"""Fail: stops the execution (or fails the branch/iteration) with an error and a cause.

``Error``/``Cause`` are literal; ``ErrorPath``/``CausePath`` are reference paths into the raw
input or intrinsic functions, and must produce strings.
https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import intrinsics, paths
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State, runtime_error


class FailState(State):
    kind = "Fail"
    entered_type = "FailStateEntered"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.error = spec.get("Error")
        self.cause = spec.get("Cause")
        self.error_path = spec.get("ErrorPath")
        self.cause_path = spec.get("CausePath")
        self.needs_context = any(
            isinstance(p, str) and "$$" in p for p in (self.error_path, self.cause_path)
        )

    def _dynamic(self, frame: Frame, raw: Any, path: str, field: str, entered_id: int) -> str:
        context = frame.context(self.name, None) if self.needs_context else None
        try:
            if intrinsics.is_intrinsic(path):
                value = intrinsics.evaluate(path, raw, context)
            else:
                value = paths.resolve(path, raw, context)
        except StatesError as err:
            if err.error == StatesErrorName.RUNTIME:
                raise runtime_error(self.name, entered_id, err.cause) from None
            raise
        if not isinstance(value, str):
            raise runtime_error(
                self.name,
                entered_id,
                f"The {field} '{path}' must resolve to a string, but resolved to '{dumps(value)}'.",
            )
        return value

    def run(self, frame: Frame, value: Any, text: str | None) -> tuple[str | None, Any, str]:
        if text is None:
            text = dumps(value)
        entered_id = frame.emit_raw(self.entered_type, self.entered_details, text)
        error = self.error
        cause = self.cause
        if self.error_path is not None:
            error = self._dynamic(frame, value, self.error_path, "ErrorPath", entered_id)
        if self.cause_path is not None:
            cause = self._dynamic(frame, value, self.cause_path, "CausePath", entered_id)
        raise StatesError(error or "", cause or "")
