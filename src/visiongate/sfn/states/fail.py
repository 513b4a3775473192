"""Fail: stops the execution (or fails the branch/iteration) with an error and a cause.

``Error``/``Cause`` are literal; ``ErrorPath``/``CausePath`` are reference paths into the raw
input (or a workflow variable) or intrinsic functions, and must produce strings. In JSONata
states ``Error`` and ``Cause`` may be ``{% %}`` expressions that evaluate to strings.
https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import intrinsics, paths
from visiongate.sfn.errors import StatesError
from visiongate.sfn.history import dumps
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State, record_failure
from visiongate.sfn.states.jsonata_io import unexpected_value


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
        self.error_field = self.cause_field = None
        if self.io.jsonata:
            self.error_field = self.io.field(spec, "Error")
            self.cause_field = self.io.field(spec, "Cause")
            self.needs_context = self.io.needs_context

    def _dynamic(self, frame: Frame, raw: Any, path: str, field: str) -> str:
        context = frame.context(self.name, None) if self.needs_context else None
        if intrinsics.is_intrinsic(path):
            value = intrinsics.evaluate(path, raw, context, frame.scope)
        else:
            value = paths.resolve(path, raw, context, frame.scope)
        if not isinstance(value, str):
            raise StatesError(
                "States.Runtime",
                f"The {field} '{path}' must resolve to a string, but resolved to '{dumps(value)}'.",
            )
        return value

    def _jsonata(self, frame: Frame, raw: Any) -> tuple[Any, Any]:
        context = frame.context(self.name, None) if self.needs_context else None
        env = self.io.env(frame, raw, context)
        values = []
        for field in (self.error_field, self.cause_field):
            if field is None:
                values.append(None)
                continue
            value = field.value(env)
            if not isinstance(value, str):
                raise unexpected_value(
                    field.expression or value,
                    field.name,
                    f"a string, but evaluated to {dumps(value)}",
                )
            values.append(value)
        return values[0], values[1]

    def run(self, frame: Frame, value: Any, text: str | None) -> tuple[str | None, Any, str]:
        if text is None:
            text = dumps(value)
        frame.entered_prev = frame.prev
        frame.entered_id = frame.emit_raw(self.entered_type, self.entered_details, text)
        error = self.error
        cause = self.cause
        try:
            if self.error_field is not None or self.cause_field is not None:
                error, cause = self._jsonata(frame, value)
            if self.error_path is not None:
                error = self._dynamic(frame, value, self.error_path, "ErrorPath")
            if self.cause_path is not None:
                cause = self._dynamic(frame, value, self.cause_path, "CausePath")
        except StatesError as err:
            failed = record_failure(frame, self.name, err)
            if failed is err:
                raise
            raise failed from None
        raise StatesError(error or "", cause or "")
