"""Wait: delays for ``Seconds``/``SecondsPath`` or until ``Timestamp``/``TimestampPath``.

The delay goes through the engine's clock (instant under ``--fast-time``) and honours
StopExecution and the execution timeout. https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
In JSONata states ``Seconds`` and ``Timestamp`` may be ``{% %}`` expressions.
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import paths, timestamps
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State
from visiongate.sfn.states.jsonata_io import unexpected_value


class WaitState(State):
    kind = "Wait"
    entered_type = "WaitStateEntered"
    exited_type = "WaitStateExited"
    aborted_type = "WaitStateAborted"
    blocking = True
    pure = False

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.seconds = spec.get("Seconds")
        self.seconds_path = spec.get("SecondsPath")
        self.timestamp = spec.get("Timestamp")
        self.timestamp_path = spec.get("TimestampPath")
        self.seconds_field = self.timestamp_field = None
        if self.io.jsonata:
            self.seconds_field = self.io.field(spec, "Seconds")
            self.timestamp_field = self.io.field(spec, "Timestamp")
            self.needs_context = self.io.needs_context
        if any(
            isinstance(p, str) and p.startswith("$$")
            for p in (self.seconds_path, self.timestamp_path)
        ):
            self.needs_context = True

    def _delay(self, frame: Frame, raw: Any, effective: Any, context: Any) -> float:
        variables = frame.scope
        if self.seconds_field is not None or self.timestamp_field is not None:
            env = self.io.env(frame, raw, context)
            if self.seconds_field is not None:
                return float(self.seconds_field.integer(env, 0))
            text = self.timestamp_field.value(env)  # type: ignore[union-attr]
            moment = timestamps.parse_timestamp(text)
            if moment is None:
                raise unexpected_value(
                    self.timestamp_field.expression or text,  # type: ignore[union-attr]
                    "Timestamp",
                    f"an ISO-8601 extended offset date-time string, but evaluated to {dumps(text)}",
                )
            return timestamps.seconds_until(moment, frame.run.clock.now())
        if self.seconds is not None:
            return float(self.seconds)
        if self.seconds_path is not None:
            value = paths.resolve(self.seconds_path, effective, context, variables)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or value < 0
                or value != int(value)
            ):
                raise StatesError(
                    StatesErrorName.RUNTIME,
                    f"The SecondsPath parameter does not reference a valid integer value: "
                    f"{dumps(value)}",
                )
            return float(value)
        text = self.timestamp
        if self.timestamp_path is not None:
            text = paths.resolve(self.timestamp_path, effective, context, variables)
        moment = timestamps.parse_timestamp(text)
        if moment is None:
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"The TimestampPath parameter does not reference a valid ISO-8601 extended "
                f"offset date-time format string: {dumps(text)}",
            )
        return timestamps.seconds_until(moment, frame.run.clock.now())

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        io = self.io
        context = self.context(frame, entered)
        effective = io.effective_input(raw, context, frame.scope)
        delay = self._delay(frame, raw, effective, context)
        if delay > 0:
            frame.run.flush()  # a long wait: let other processes see the history so far
            frame.run.sleep(delay)
        frame.check()
        return self.next, io.pass_through(frame, raw, effective, context)
