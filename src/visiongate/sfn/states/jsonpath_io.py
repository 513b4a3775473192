"""Input and output processing for ``"QueryLanguage": "JSONPath"`` (the default).

The pipeline every state shares, each step precompiled once per state:

    raw input ─InputPath→ effective input ─Parameters→ task input ─(state body)→ result
    result ─ResultSelector→ selected ─ResultPath(into raw input)→ merged ─OutputPath→ output

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
Defaults are ``$`` for the three paths; ``null`` InputPath/OutputPath give ``{}``, ``null``
ResultPath discards the result and passes the raw input on. Paths starting with ``$$`` read the
Context object, ``$name`` paths a workflow variable (``variables``: the frame's scope). Values
are never mutated: ResultPath builds a new object.

``Assign`` (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html) is a
payload template evaluated "at the same time as the ResultSelector": ``$`` is the result for
Task, Map, Parallel and Pass states, the effective input for Choice and Wait states, and the
error output in a Catch. Its values go to ``frame.pending`` and are stored when the state
exits.

This is the dispatch point for query languages: :mod:`visiongate.sfn.states.jsonata_io`
implements the same methods for JSONata and both register in ``QUERY_LANGUAGES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from visiongate.sfn import paths, payload

if TYPE_CHECKING:
    from visiongate.sfn.runtime import Frame

_MISSING = object()
Reader = Callable[[Any, Any, Any], Any]


def mentions_context(template: Any) -> bool:
    """True when a template or rule reads the Context object (``$$``) anywhere."""
    return "$$" in json.dumps(template)


def path_reader(path: Any) -> tuple[Reader | None, bool]:
    """(reader(data, context, variables), needs_context) for InputPath/OutputPath/ItemsPath.

    The reader is None for ``$`` (identity).
    """
    if path == "$":
        return None, False
    if path is None:
        return (lambda _data, _context, _variables: {}), False
    text = str(path)
    if text.startswith("$$"):
        return (lambda data, context, _variables: paths.resolve(text, data, context)), True
    compiled = paths.compile_path(text)
    if paths.parse_path(text).root != "$":  # $name...: a workflow variable
        return (lambda data, context, variables: paths.resolve(text, data, context, variables)), (
            False
        )
    return (lambda data, _context, _variables: compiled(data)), False


def template_reader(template: Any, field: str) -> tuple[Reader, bool]:
    compiled = payload.compile_template(template, field)
    return compiled, mentions_context(template)


class JsonPathIO:
    """The precompiled JSONPath fields of one state."""

    jsonata = False
    __slots__ = (
        "input_reader",
        "parameters",
        "result_selector",
        "result_path",
        "output_reader",
        "needs_context",
        "has_parameters",
        "assign",
        "catchers",
    )

    def __init__(
        self, spec: dict[str, Any], *, parameters_field: str | None = "Parameters"
    ) -> None:
        self.input_reader, ctx_in = path_reader(spec.get("InputPath", "$"))
        self.output_reader, ctx_out = path_reader(spec.get("OutputPath", "$"))
        self.parameters: Reader | None = None
        self.result_selector: Reader | None = None
        ctx_params = ctx_sel = ctx_assign = False
        if parameters_field is not None and parameters_field in spec:
            self.parameters, ctx_params = template_reader(spec[parameters_field], parameters_field)
        if "ResultSelector" in spec:
            self.result_selector, ctx_sel = template_reader(
                spec["ResultSelector"], "ResultSelector"
            )
        self.assign: Reader | None = None
        if "Assign" in spec:
            self.assign, ctx_assign = template_reader(spec["Assign"], "Assign")
        self.catchers = [
            (
                catcher.get("ResultPath", "$"),
                template_reader(catcher["Assign"], "Assign")[0] if "Assign" in catcher else None,
            )
            for catcher in spec.get("Catch", ())
        ]
        self.result_path = spec.get("ResultPath", "$")
        self.has_parameters = self.parameters is not None
        self.needs_context = (
            ctx_in
            or ctx_out
            or ctx_params
            or ctx_sel
            or ctx_assign
            or mentions_context([c.get("Assign") for c in spec.get("Catch", ())])
        )

    def effective_input(self, raw: Any, context: Any = None, variables: Any = None) -> Any:
        reader = self.input_reader
        return raw if reader is None else reader(raw, context, variables)

    def task_input(self, effective: Any, context: Any = None, variables: Any = None) -> Any:
        parameters = self.parameters
        return effective if parameters is None else parameters(effective, context, variables)

    def select(self, result: Any, context: Any = None, variables: Any = None) -> Any:
        selector = self.result_selector
        return result if selector is None else selector(result, context, variables)

    def merge(self, raw: Any, result: Any) -> Any:
        return merge_result(raw, result, self.result_path)

    def output(self, merged: Any, context: Any = None, variables: Any = None) -> Any:
        reader = self.output_reader
        return merged if reader is None else reader(merged, context, variables)

    # -- whole steps, as the states call them ------------------------------------------------

    def finish(self, frame: Frame, raw: Any, result: Any, context: Any) -> Any:
        """Assign, ResultSelector, ResultPath, OutputPath: the state's output."""
        variables = frame.scope
        if self.assign is not None:
            frame.pending = self.assign(result, context, variables)
        selector = self.result_selector
        if selector is not None:
            result = selector(result, context, variables)
        merged = merge_result(raw, result, self.result_path)
        reader = self.output_reader
        return merged if reader is None else reader(merged, context, variables)

    def pass_through(
        self, frame: Frame, raw: Any, effective: Any, context: Any, assign: bool = True
    ) -> Any:
        """Choice, Wait, Succeed: Assign on the effective input, then OutputPath."""
        variables = frame.scope
        if assign and self.assign is not None:
            frame.pending = self.assign(effective, context, variables)
        reader = self.output_reader
        return effective if reader is None else reader(effective, context, variables)

    def catch(self, frame: Frame, index: int, raw: Any, error_output: Any, context: Any) -> Any:
        """A catcher took the error: its Assign (on the error output) and ResultPath."""
        result_path, assign = self.catchers[index]
        if assign is not None:
            frame.pending = assign(error_output, context, frame.scope)
        return merge_result(raw, error_output, result_path)


def merge_result(raw: Any, result: Any, result_path: Any) -> Any:
    """ResultPath: where ``result`` goes in the raw input (a new value; nothing mutated)."""
    if result_path == "$":
        return result
    if result_path is None:
        return raw
    return paths.set_path(raw, result_path, result)


# "JSONata" is registered by visiongate.sfn.states.jsonata_io (imported by the compiler).
QUERY_LANGUAGES: dict[str, type] = {"JSONPath": JsonPathIO}
