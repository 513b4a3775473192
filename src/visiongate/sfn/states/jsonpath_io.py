"""Input and output processing for ``"QueryLanguage": "JSONPath"`` (the default).

The pipeline every state shares, each step precompiled once per state:

    raw input ─InputPath→ effective input ─Parameters→ task input ─(state body)→ result
    result ─ResultSelector→ selected ─ResultPath(into raw input)→ merged ─OutputPath→ output

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
Defaults are ``$`` for the three paths; ``null`` InputPath/OutputPath give ``{}``, ``null``
ResultPath discards the result and passes the raw input on. Paths starting with ``$$`` read the
Context object. Values are never mutated: ResultPath builds a new object.

This is the dispatch point for query languages: a JSONata processor (``Arguments``,
``Output``, ``Assign``) implements the same five methods and registers in ``QUERY_LANGUAGES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from visiongate.sfn import paths, payload

_MISSING = object()
Reader = Callable[[Any, Any], Any]


def mentions_context(template: Any) -> bool:
    """True when a template or rule reads the Context object (``$$``) anywhere."""
    return "$$" in json.dumps(template)


def path_reader(path: Any) -> tuple[Reader | None, bool]:
    """(reader(data, context), needs_context) for InputPath/OutputPath/ItemsPath-like fields.

    The reader is None for ``$`` (identity).
    """
    if path == "$":
        return None, False
    if path is None:
        return (lambda _data, _context: {}), False
    text = str(path)
    if text.startswith("$$"):
        return (lambda data, context: paths.resolve(text, data, context)), True
    compiled = paths.compile_path(text)
    return (lambda data, _context: compiled(data)), False


def template_reader(template: Any, field: str) -> tuple[Reader, bool]:
    compiled = payload.compile_template(template, field)
    return compiled, mentions_context(template)


class JsonPathIO:
    """The precompiled JSONPath fields of one state."""

    __slots__ = (
        "input_reader",
        "parameters",
        "result_selector",
        "result_path",
        "output_reader",
        "needs_context",
        "has_parameters",
    )

    def __init__(
        self, spec: dict[str, Any], *, parameters_field: str | None = "Parameters"
    ) -> None:
        self.input_reader, ctx_in = path_reader(spec.get("InputPath", "$"))
        self.output_reader, ctx_out = path_reader(spec.get("OutputPath", "$"))
        self.parameters: Reader | None = None
        self.result_selector: Reader | None = None
        ctx_params = ctx_sel = False
        if parameters_field is not None and parameters_field in spec:
            self.parameters, ctx_params = template_reader(spec[parameters_field], parameters_field)
        if "ResultSelector" in spec:
            self.result_selector, ctx_sel = template_reader(
                spec["ResultSelector"], "ResultSelector"
            )
        self.result_path = spec.get("ResultPath", "$")
        self.has_parameters = self.parameters is not None
        self.needs_context = ctx_in or ctx_out or ctx_params or ctx_sel

    def effective_input(self, raw: Any, context: Any = None) -> Any:
        reader = self.input_reader
        return raw if reader is None else reader(raw, context)

    def task_input(self, effective: Any, context: Any = None) -> Any:
        parameters = self.parameters
        return effective if parameters is None else parameters(effective, context)

    def select(self, result: Any, context: Any = None) -> Any:
        selector = self.result_selector
        return result if selector is None else selector(result, context)

    def merge(self, raw: Any, result: Any) -> Any:
        return merge_result(raw, result, self.result_path)

    def output(self, merged: Any, context: Any = None) -> Any:
        reader = self.output_reader
        return merged if reader is None else reader(merged, context)


def merge_result(raw: Any, result: Any, result_path: Any) -> Any:
    """ResultPath: where ``result`` goes in the raw input (a new value; nothing mutated)."""
    if result_path == "$":
        return result
    if result_path is None:
        return raw
    return paths.set_path(raw, result_path, result)


QUERY_LANGUAGES: dict[str, type] = {"JSONPath": JsonPathIO}
