"""Payload templates: Parameters, ResultSelector, ItemSelector (JSONPath states).

"If any field within the Payload Template (however deeply nested) has a name ending with the
characters ".$", its value is transformed ... and the field is renamed to strip the ".$"
suffix." A value beginning with ``$$`` reads the context object, ``$name`` a workflow
variable, ``$`` the input; any other value must be an intrinsic function.
https://states-language.net/#payload-template
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html

A path that matches nothing fails the state with ``States.Runtime`` and AWS's cause
``The JSONPath '$.x' specified for the field 'y.$' could not be found in the input '{...}'``
(the specification names ``States.ParameterPathFailure``; AWS reports States.Runtime).
Templates compile once into closures (:func:`compile_template`) so hot loops pay no parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from visiongate.sfn import intrinsics, paths
from visiongate.sfn.errors import StatesError, StatesErrorName

Template = Callable[..., Any]


def _copy_json(value: Any) -> Any:
    """A fresh copy of static JSON so callers may mutate what they get back."""
    if type(value) is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_json(v) for v in value]
    return value


def _not_found(path: str, key: str, document: Any) -> StatesError:
    return StatesError(
        StatesErrorName.RUNTIME,
        f"The JSONPath '{path}' specified for the field '{key}' could not be found in the input "
        f"'{_json(document)}'",
    )


def _json(value: Any) -> str:
    try:
        return paths.to_json(value)
    except (TypeError, ValueError):
        return repr(value)


def _invalid_value(key: str) -> StatesError:
    return StatesError(
        StatesErrorName.RUNTIME,
        f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call",
    )


def _compile_dynamic(key: str, expression: Any) -> Template:
    """The evaluator for one ``key.$`` entry."""
    if not isinstance(expression, str):
        error = _invalid_value(key)

        def invalid(data: Any, context: Any, variables: Any) -> Any:
            raise error

        return invalid
    if expression.startswith("$"):
        try:
            root = paths.parse_path(expression).root
            getter = paths.compile_path(expression)
        except paths.InvalidPath:
            error = _invalid_value(key)

            def bad_path(data: Any, context: Any, variables: Any) -> Any:
                raise error

            return bad_path

        def read(data: Any, context: Any, variables: Any) -> Any:
            if root == "$":
                document = data
            elif root == "$$":
                document = context
            else:
                name = root[1:]
                if variables is None or name not in variables:
                    raise _not_found(expression, key, data)
                document = variables[name]
            try:
                return getter(document)
            except paths.PathNotFound:
                raise _not_found(expression, key, document) from None

        return read
    try:
        call = intrinsics.compile_intrinsic(expression)
    except intrinsics.IntrinsicSyntaxError:
        error = _invalid_value(key)

        def bad_call(data: Any, context: Any, variables: Any) -> Any:
            raise error

        return bad_call

    def invoke(data: Any, context: Any, variables: Any) -> Any:
        try:
            return call(data, context, variables)
        except paths.PathNotFound as exc:
            document = context if exc.path.startswith("$$") else data
            raise _not_found(exc.path, key, document) from None

    return invoke


def _compile(node: Any) -> tuple[bool, Any]:
    """(is_static, value-or-evaluator). Static subtrees are copied, never re-evaluated."""
    if type(node) is dict or isinstance(node, Mapping):
        entries: list[tuple[str, bool, Any]] = []
        all_static = True
        for key, value in node.items():
            if isinstance(key, str) and key.endswith(".$"):
                entries.append((key[:-2], False, _compile_dynamic(key, value)))
                all_static = False
            else:
                static, compiled = _compile(value)
                entries.append((key, static, compiled))
                all_static = all_static and static
        if all_static:
            return True, node

        def build_object(data: Any, context: Any, variables: Any) -> dict:
            out = {}
            for name, static, compiled in entries:
                out[name] = _copy_json(compiled) if static else compiled(data, context, variables)
            return out

        return False, build_object
    if type(node) is list:
        items = [_compile(v) for v in node]
        if all(static for static, _ in items):
            return True, node

        def build_array(data: Any, context: Any, variables: Any) -> list:
            return [
                _copy_json(compiled) if static else compiled(data, context, variables)
                for static, compiled in items
            ]

        return False, build_array
    return True, node


def compile_template(template: Any, field: str = "Parameters") -> Template:
    """Precompile ``template`` into ``fn(data, context=None, variables=None) -> payload``.

    ``field`` names the template in messages (Parameters, ResultSelector, ItemSelector).
    Compile once per state and call the result for every execution.
    """
    static, compiled = _compile(template)
    if static:

        def constant(data: Any, context: Any = None, variables: Any = None) -> Any:
            return _copy_json(compiled)

        return constant

    def evaluate(data: Any, context: Any = None, variables: Any = None) -> Any:
        return compiled(data, context, variables)

    evaluate.__doc__ = f"Evaluate the {field} template."
    return evaluate


def evaluate_template(
    template: Any,
    data: Any,
    context: Any = None,
    field: str = "Parameters",
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Build the payload for ``template`` from ``data``, the ``context`` object and variables.

    A ``.$`` path that matches nothing raises StatesError("States.Runtime", AWS's message
    "The JSONPath '$.x' specified for the field 'y.$' could not be found in the input '...'");
    a failing intrinsic raises States.IntrinsicFailure.
    """
    cached = _RECENT.get(id(template))
    if cached is None or cached[0] is not template:
        if len(_RECENT) >= _RECENT_SIZE:
            _RECENT.clear()
        cached = (template, compile_template(template, field))
        _RECENT[id(template)] = cached
    return cached[1](data, context, variables)


# Templates are dicts (unhashable), so evaluate_template remembers recent ones by identity; the
# cached entry holds the template itself, so its id cannot be reused while it is cached. A
# template mutated after its first use must go through compile_template again.
_RECENT: dict[int, tuple[Any, Template]] = {}
_RECENT_SIZE = 1024
