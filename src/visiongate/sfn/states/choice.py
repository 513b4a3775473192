"""Choice: picks the next state from the first matching rule, else ``Default``.

No rule matching and no Default fails with ``States.NoChoiceMatched``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html

JSONPath rules compare a ``Variable`` (a path into the input, the Context object or a workflow
variable); JSONata rules evaluate a ``Condition`` that must be a boolean. A matching rule's own
``Assign`` (and, in JSONata, ``Output``) applies; the state's ``Assign``/``Output`` apply when
``Default`` is taken (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import choice as rules
from visiongate.sfn.history import dumps
from visiongate.sfn.jsonata import Env, compile_expression, evaluate, is_expression
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import State
from visiongate.sfn.states.jsonata_io import unexpected_value
from visiongate.sfn.states.jsonpath_io import mentions_context, template_reader


class _JsonataRule:
    """One JSONata Choice rule: ``Condition``, ``Next``, its own ``Assign`` and ``Output``."""

    __slots__ = ("location", "literal", "expression", "next", "assign", "output")

    def __init__(self, index: int, rule: dict[str, Any], io: Any) -> None:
        self.location = f"Choices[{index}]/Condition"
        condition = rule.get("Condition")
        self.expression = compile_expression(condition) if is_expression(condition) else None
        self.literal = condition
        if self.expression is not None:
            io.names = io.names | self.expression.names
            io.fields = io.fields | self.expression.fields
            io.needs_context = io.needs_context or self.expression.uses_context
            io.execution_input = io.execution_input or self.expression.uses_execution_input
        self.next = rule.get("Next")
        self.assign = (
            io.template(rule["Assign"], f"Choices[{index}]/Assign") if "Assign" in rule else None
        )
        self.output = (
            io.template(rule["Output"], f"Choices[{index}]/Output") if "Output" in rule else None
        )

    def matches(self, env: Env) -> bool:
        if self.expression is None:
            return self.literal is True
        value = evaluate(self.expression, env, self.location)
        if not isinstance(value, bool):
            raise unexpected_value(
                self.expression, self.location, f"a boolean, but evaluated to {dumps(value)}"
            )
        return value


class ChoiceState(State):
    kind = "Choice"
    entered_type = "ChoiceStateEntered"
    exited_type = "ChoiceStateExited"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.choices = list(spec.get("Choices", ()))
        self.default: str | None = spec.get("Default")
        self.jsonata = self.io.jsonata
        self.decide = None
        self.decide_index = None
        self.rule_assigns: list[Any] = []
        self.jsonata_rules: list[_JsonataRule] = []
        if self.jsonata:
            self.jsonata_rules = [_JsonataRule(i, r, self.io) for i, r in enumerate(self.choices)]
            self.needs_context = self.io.needs_context
        elif "Assign" in spec or any("Assign" in rule for rule in self.choices):
            self.decide_index = rules.compile_choice_index(self.choices)
            self.rule_assigns = [
                template_reader(rule["Assign"], "Assign")[0] if "Assign" in rule else None
                for rule in self.choices
            ]
        else:
            self.decide = rules.compile_choices(self.choices, self.default)
        if not self.jsonata:
            self.needs_context = self.needs_context or mentions_context(self.choices)

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        io = self.io
        context = self.context(frame, entered)
        if self.jsonata:
            return self._jsonata(frame, raw, context)
        variables = frame.scope
        effective = io.effective_input(raw, context, variables)
        if self.decide is not None:
            return self.decide(effective, context, variables), io.pass_through(
                frame, raw, effective, context
            )
        index = self.decide_index(effective, context, variables)  # type: ignore[misc]
        if index < 0:
            if self.default is None:
                raise rules.no_choice_matched()
            return self.default, io.pass_through(frame, raw, effective, context)
        assign = self.rule_assigns[index]
        if assign is not None:
            frame.pending = assign(effective, context, variables)
        output = io.pass_through(frame, raw, effective, context, assign=False)
        return self.choices[index]["Next"], output

    def _jsonata(self, frame: Frame, raw: Any, context: Any) -> tuple[str | None, Any]:
        io = self.io
        env = io.env(frame, raw, context)
        for rule in self.jsonata_rules:
            if rule.matches(env):
                if rule.assign is not None:
                    frame.pending = rule.assign.evaluate(env)
                output = raw if rule.output is None else rule.output.evaluate(env)
                return rule.next, output
        if self.default is None:
            raise rules.no_choice_matched()
        return self.default, io.pass_through(frame, raw, raw, context)


__all__ = ["ChoiceState"]
