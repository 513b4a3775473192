"""Payload templates (Parameters, ResultSelector, ItemSelector).

https://states-language.net/#payload-template
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
"""

from __future__ import annotations

import pytest

from visiongate.sfn.errors import StatesError
from visiongate.sfn.payload import compile_template, evaluate_template


def test_specification_example() -> None:
    template = {
        "flagged": True,
        "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"},
        "weekday.$": "$$.DayOfWeek",
        "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)",
    }
    data = {"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]}
    assert evaluate_template(template, data, {"DayOfWeek": "TUESDAY"}) == {
        "flagged": True,
        "parts": {"first": 0, "last3": [30, 40, 50]},
        "weekday": "TUESDAY",
        "formattedOutput": "Today is TUESDAY",
    }


def test_parameters_page_example() -> None:
    data = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    template = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert evaluate_template(template, data) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_map_item_selector_reads_the_context_object() -> None:
    template = {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"}
    context = {"Map": {"Item": {"Index": 0, "Value": {"prod": "R31"}}}}
    assert evaluate_template(template, {"delivery-partner": "UQS"}, context, "ItemSelector") == {
        "parcel": {"prod": "R31"},
        "courier": "UQS",
    }


def test_objects_inside_arrays_are_templates_too() -> None:
    template = {"list": [{"x.$": "$.a"}, 2, [{"y.$": "$.a"}]]}
    assert evaluate_template(template, {"a": 1}) == {"list": [{"x": 1}, 2, [{"y": 1}]]}


def test_values_without_dollar_suffix_are_kept_literally() -> None:
    assert evaluate_template({"not-evaluated": "$.a"}, {"a": 1}) == {"not-evaluated": "$.a"}


def test_workflow_variables() -> None:
    template = {"name.$": "$customerName", "static": "$customerName"}
    assert evaluate_template(template, {}, variables={"customerName": "María"}) == {
        "name": "María",
        "static": "$customerName",
    }


def test_missing_path_is_states_runtime_with_aws_message() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_template({"missing.$": "$.nope.deep"}, {"other": 1})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.nope.deep' specified for the field 'missing.$' could not be found in "
        "the input '{\"other\":1}'"
    )


def test_missing_path_inside_an_intrinsic_names_the_field() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_template({"f.$": "States.Format('{}', $.nope)"}, {})
    assert caught.value.error == "States.Runtime"
    assert "'$.nope' specified for the field 'f.$'" in caught.value.cause


def test_failing_intrinsic_is_intrinsic_failure() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_template({"x.$": "States.ArrayGetItem($.a, 5)"}, {"a": []})
    assert caught.value.error == "States.IntrinsicFailure"


@pytest.mark.parametrize("value", [3, None, "not a path", "States.Nope()", "$.a["])
def test_invalid_dynamic_values_fail_at_run_time(value: object) -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_template({"x.$": value}, {"a": 1})
    assert caught.value.error == "States.Runtime"


def test_compiled_templates_return_fresh_copies() -> None:
    template = {"static": {"list": [1]}, "dynamic.$": "$.a"}
    build = compile_template(template, "ResultSelector")
    first = build({"a": {"k": 1}})
    first["static"]["list"].append(2)
    assert build({"a": {"k": 1}}) == {"static": {"list": [1]}, "dynamic": {"k": 1}}
    assert template == {"static": {"list": [1]}, "dynamic.$": "$.a"}
    constant = compile_template({"a": [1]})
    constant({})["a"].append(2)
    assert constant({}) == {"a": [1]}
