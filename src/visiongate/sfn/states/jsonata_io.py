"""Input and output processing for ``"QueryLanguage": "JSONata"`` states.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

    state input ──Arguments──▶ task input ──(state body)──▶ result
    ($states.input)                                        ($states.result)
                    ┌── Assign  ──▶ variables (stored when the state exits)
    input, result ──┤
                    └── Output  ──▶ state output (default: the result; the input for states
                                    without one; the error output in a Catch)

Assign and Output are evaluated "in parallel": both read the variables as they were when the
state was entered. ``$states.context`` is the Context object, ``$states.errorOutput`` the
``{"Error", "Cause"}`` of a Catch. Fields of specific states (Items, Seconds, ...) are compiled
with :meth:`JsonataIO.field` so their variables and context needs are known up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from visiongate.sfn.history import dumps
from visiongate.sfn.jsonata import (
    Env,
    QueryEvaluationError,
    Template,
    compile_expression,
    evaluate,
    is_expression,
)
from visiongate.sfn.states.jsonpath_io import QUERY_LANGUAGES

if TYPE_CHECKING:
    from visiongate.sfn.runtime import Frame


def _states(
    fields: frozenset[str],
    input_value: Any,
    context: Any,
    execution_input: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """``$states`` with only the fields the expressions can read (each one is converted for the
    evaluator; the Map's input or the execution input can be large)."""
    states: dict[str, Any] = {}
    if "input" in fields:
        states["input"] = input_value
    if context is not None and "context" in fields:
        if not execution_input and "Execution" in context:
            execution = {k: v for k, v in context["Execution"].items() if k != "Input"}
            context = {**context, "Execution": execution}
        states["context"] = context
    for key, value in extra.items():
        if key in fields:
            states[key] = value
    return states


def unexpected_value(value: Any, field: str, requirement: str) -> QueryEvaluationError:
    """A field's value has the wrong type (e.g. ``Seconds`` not a non-negative integer)."""
    source = value.text if hasattr(value, "text") else None
    what = f"The JSONata expression '{source}'" if source is not None else "The value"
    return QueryEvaluationError(
        f"{what} specified for the field '{field}' must evaluate to {requirement}", field
    )


class Field:
    """A state field that is a literal or one ``{% %}`` expression (Seconds, MaxConcurrency)."""

    __slots__ = ("name", "literal", "expression")

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.expression = compile_expression(value) if is_expression(value) else None
        self.literal = value

    @property
    def names(self) -> frozenset[str]:
        return self.expression.names if self.expression is not None else frozenset()

    @property
    def fields(self) -> frozenset[str]:
        return self.expression.fields if self.expression is not None else frozenset()

    @property
    def uses_context(self) -> bool:
        return self.expression is not None and self.expression.uses_context

    @property
    def uses_execution_input(self) -> bool:
        return self.expression is not None and self.expression.uses_execution_input

    def value(self, env: Env) -> Any:
        if self.expression is None:
            return self.literal
        return evaluate(self.expression, env, self.name)

    def integer(self, env: Env, minimum: int) -> int:
        """The value as an integer >= ``minimum`` (JSONata numbers: 5.0 counts as 5)."""
        value = self.value(env)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != int(value)
            or value < minimum
        ):
            requirement = (
                "a positive integer" if minimum > 0 else "a non-negative integer"
            ) + f", but evaluated to {dumps(value)}"
            raise unexpected_value(self.expression or value, self.name, requirement)
        return int(value)


class JsonataIO:
    """The precompiled JSONata fields of one state."""

    jsonata = True

    def __init__(self, spec: dict[str, Any], *, parameters_field: str | None = None) -> None:
        self.arguments = Template(spec["Arguments"], "Arguments") if "Arguments" in spec else None
        self.has_parameters = self.arguments is not None
        self.output_template = Template(spec["Output"], "Output") if "Output" in spec else None
        self.assign = Template(spec["Assign"], "Assign") if "Assign" in spec else None
        self.catchers = [
            (
                Template(c["Output"], f"Catch[{i}]/Output") if "Output" in c else None,
                Template(c["Assign"], f"Catch[{i}]/Assign") if "Assign" in c else None,
            )
            for i, c in enumerate(spec.get("Catch", ()))
        ]
        self.names: frozenset[str] = frozenset()
        self.fields: frozenset[str] = frozenset()
        self.needs_context = False
        self.execution_input = False
        for part in (self.arguments, self.output_template, self.assign):
            self._register(part)
        for output, assign in self.catchers:
            self._register(output)
            self._register(assign)

    def _register(self, part: Any) -> Any:
        if part is not None:
            self.names = self.names | part.names
            self.fields = self.fields | part.fields
            self.needs_context = self.needs_context or part.uses_context
            self.execution_input = self.execution_input or part.uses_execution_input
        return part

    def template(self, value: Any, name: str) -> Template:
        """Compile a state-specific template field (Items, ItemSelector, ...)."""
        return self._register(Template(value, name))

    def field(self, spec: dict[str, Any], name: str, location: str | None = None) -> Field | None:
        """Compile a state-specific single-value field, or None when ``spec`` lacks it."""
        if name not in spec:
            return None
        return self._register(Field(location or name, spec[name]))

    def own_env(self, part: Any, frame: Frame, input_value: Any, context: Any) -> Env:
        """An environment for one template evaluated on its own (ItemSelector per item)."""
        states = _states(part.fields, input_value, context, part.uses_execution_input)
        return Env(states, frame.scope, part.names)

    def env(self, frame: Frame, input_value: Any, context: Any, **extra: Any) -> Env:
        states = _states(self.fields, input_value, context, self.execution_input, **extra)
        return Env(states, frame.scope, self.names)

    # -- the steps, as the states call them ----------------------------------------------------

    def effective_input(self, raw: Any, context: Any = None, variables: Any = None) -> Any:
        return raw

    def task_input(self, effective: Any, context: Any = None, variables: Any = None) -> Any:
        """``Arguments`` (default: the state input)."""
        arguments = self.arguments
        if arguments is None:
            return effective
        states = _states(arguments.fields, effective, context, arguments.uses_execution_input)
        return arguments.evaluate(Env(states, variables, arguments.names))

    def finish(self, frame: Frame, raw: Any, result: Any, context: Any) -> Any:
        """Assign and Output with ``$states.result`` (default output: the result)."""
        if self.assign is None and self.output_template is None:
            return result
        env = self.env(frame, raw, context, result=result)
        if self.assign is not None:
            frame.pending = self.assign.evaluate(env)
        return result if self.output_template is None else self.output_template.evaluate(env)

    def pass_through(
        self, frame: Frame, raw: Any, effective: Any, context: Any, assign: bool = True
    ) -> Any:
        """Choice, Wait, Succeed: Assign and Output (default output: the input)."""
        if (not assign or self.assign is None) and self.output_template is None:
            return raw
        env = self.env(frame, raw, context)
        if assign and self.assign is not None:
            frame.pending = self.assign.evaluate(env)
        return raw if self.output_template is None else self.output_template.evaluate(env)

    def catch(self, frame: Frame, index: int, raw: Any, error_output: Any, context: Any) -> Any:
        """A catcher took the error: its Assign and Output (default: the error output)."""
        output, assign = self.catchers[index]
        if output is None and assign is None:
            return error_output
        env = self.env(frame, raw, context, errorOutput=error_output)
        if assign is not None:
            frame.pending = assign.evaluate(env)
        return error_output if output is None else output.evaluate(env)


QUERY_LANGUAGES["JSONata"] = JsonataIO
