"""The JSONata layer: expressions, templates, the Step Functions functions, error causes.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
End-to-end behaviour is in the golden corpus (tests/sfn/golden/jsonata); these tests pin the
building blocks and the properties the engine relies on.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visiongate.sfn.jsonata import (
    UNDEFINED,
    Env,
    JsonataFailure,
    QueryEvaluationError,
    Template,
    compile_expression,
    is_expression,
    parse_error,
    variable_references,
)


def evaluate(source: str, states: dict | None = None, variables: dict | None = None):
    expression = compile_expression(source)
    return expression.evaluate(Env(states or {}, variables or {}, expression.names))


# "The string must start with {% (no leading spaces) and end with %}" (transforming-data.html)
@pytest.mark.parametrize(
    ("value", "expected"),
    [("{% 1 %}", True), ("{%1%}", True), (" {% 1 %}", False), ("{% 1 %} ", False), ("{%}", False)],
)
def test_expression_delimiters(value: str, expected: bool) -> None:
    assert is_expression(value) is expected


def test_undefined_and_null_are_different() -> None:
    assert evaluate("{% $states.input.missing %}", {"input": {}}) is UNDEFINED
    assert evaluate("{% $states.input.n %}", {"input": {"n": None}}) is None


def test_variables_are_bound_by_name_and_states_is_reserved() -> None:
    assert evaluate("{% $x + $states.input.y %}", {"input": {"y": 2}}, {"x": 40}) == 42
    assert evaluate("{% $exists($nope) %}", {"input": {}}, {"x": 1}) is False


def test_a_variable_named_like_a_function_does_not_shadow_it_unless_assigned() -> None:
    assert evaluate("{% $sum([1, 2]) %}", {}, {}) == 3


def test_evaluation_errors_carry_jsonatas_code() -> None:
    with pytest.raises(JsonataFailure) as caught:
        evaluate("{% 'a' + 1 %}")
    assert caught.value.message.startswith("T2001: ")


def test_non_finite_numbers_become_javascripts_names() -> None:
    assert evaluate("{% 1/0 %}") == "Infinity"
    assert evaluate("{% -1/0 %}") == "-Infinity"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% $partition([1, 2, 3, 4, 5], 2) %}", [[1, 2], [3, 4], [5]]),
        ("{% $partition([1, 2, 3], 2.9) %}", [[1, 2], [3]]),  # rounded towards zero
        ("{% $range(0, 10, 2) %}", [0, 2, 4, 6, 8, 10]),
        ("{% $range(1, 1, 1) %}", 1),  # a one-element range is the bare number
        ("{% $hash('input data', 'SHA-256') %}", None),
        ("{% $parse('[1, {\"a\": null}]') %}", [1, {"a": None}]),
        ("{% $random(7) = $random(7) %}", True),
    ],
)
def test_step_functions_functions(source: str, expected: object) -> None:
    value = evaluate(source)
    if expected is None:
        assert isinstance(value, str) and len(value) == 64
    else:
        assert value == expected


@pytest.mark.parametrize(
    "source",
    ["{% $partition([], 2) %}", "{% $range(1, 5, -1) %}", "{% $hash('a') %}"],
)
def test_functions_whose_aws_result_is_undefined(source: str) -> None:
    assert evaluate(source) is UNDEFINED


def test_eval_is_disabled_and_parse_refuses_bad_json() -> None:
    with pytest.raises(JsonataFailure, match="T1006"):
        evaluate("{% $eval('1') %}")
    with pytest.raises(JsonataFailure, match="not valid JSON"):
        evaluate("{% $parse('{') %}")


def test_template_names_locations_in_causes() -> None:
    template = Template({"a": [{"b": "{% $states.input.nope %}"}]}, "Output")
    with pytest.raises(QueryEvaluationError) as caught:
        template.evaluate(Env({"input": {}}, {}, template.names))
    assert caught.value.location == "Output/a[0]/b"
    assert caught.value.cause == (
        "The JSONata expression '$states.input.nope' specified for the field 'Output/a[0]/b' "
        "returned nothing (undefined)."
    )


def test_template_static_parts_are_fresh_copies() -> None:
    template = Template({"a": [1], "b": "{% 2 %}"}, "Output")
    first = template.evaluate(Env({}, {}, template.names))
    first["a"].append(99)
    assert template.evaluate(Env({}, {}, template.names)) == {"a": [1], "b": 2}


def test_compiled_expressions_work_from_any_thread() -> None:
    # jsonatapy's compiled forms are bound to the thread that made them: the cache is per thread.
    results: list[object] = []

    def work() -> None:
        results.append(evaluate("{% $x * 2 %}", {}, {"x": 21}))

    evaluate("{% $x * 2 %}", {}, {"x": 1})
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4


def test_variable_references_ignore_locals_functions_and_states() -> None:
    text = "($t := $sum($prices); $map($items, function($i){ $i * $rate }) ~> $join(','); $t)"
    assert variable_references(text) == ["prices", "items", "rate"]
    assert variable_references("$states.input.a & '$notAVariable'") == []


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_expression_text_gives_a_value_or_a_documented_failure(text: str) -> None:
    source = "{%" + text + "%}"
    expression = compile_expression(source)
    assert (expression.error is None) == (parse_error(expression.text) is None)
    try:
        evaluate(source, {"input": {"a": [1, 2]}}, {"x": 1})
    except JsonataFailure as failure:
        assert failure.message
    else:
        assert expression.error is None
