"""Choice rules: the AWS documentation's examples as a golden corpus, plus the edge rules.

Each file in tests/sfn/golden/choice/ is a rule (or a Choices list with its Default), an input
and the documented outcome. Run one with ``pytest tests/sfn/test_choice.py -k <stem>``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visiongate.sfn.choice import (
    OPERATORS,
    choose,
    compile_choices,
    compile_rule,
    evaluate_rule,
    java_compare,
)
from visiongate.sfn.errors import StatesError

GOLDEN = Path(__file__).parent / "golden" / "choice"
CASES = sorted(GOLDEN.glob("*.json"))


def _run(case: dict) -> object:
    if "rule" in case:
        return evaluate_rule(case["rule"], case["input"], case.get("context"))
    return choose(case["choices"], case.get("default"), case["input"], case.get("context"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_choice(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["source"].startswith("https://")
    if "expect_error" in case:
        with pytest.raises(StatesError) as caught:
            _run(case)
        assert caught.value.error == case["expect_error"]
        return
    expected = case["expect_next"] if "expect_next" in case else case["expect"]
    assert _run(case) == expected


def test_missing_variable_message_is_aws_wording() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_rule({"Variable": "$.value", "NumericEquals": 1}, {})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "Invalid path '$.value': The choice state's condition path references an invalid value."
    )


@pytest.mark.parametrize("operator", sorted(op for op in OPERATORS if op != "IsPresent"))
def test_every_operator_fails_on_a_missing_variable(operator: str) -> None:
    value = "$.other" if operator.endswith("Path") else True if operator.startswith("Is") else 1
    with pytest.raises(StatesError, match="condition path references an invalid value"):
        evaluate_rule({"Variable": "$.missing", operator: value}, {"other": 1})


@pytest.mark.parametrize(
    ("operator", "value", "data", "expected"),
    [
        ("NumericLessThan", 10, 9.5, True),
        ("NumericGreaterThanEquals", 10, 10, True),
        ("NumericLessThanEquals", 10, 10.0, True),
        ("NumericGreaterThan", 10, True, False),
        ("StringLessThanEquals", "b", "b", True),
        ("StringGreaterThanEquals", "b", "a", False),
        ("TimestampLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59.999999999Z", True),
        ("TimestampGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.000000001Z", True),
        ("TimestampLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", True),
        ("TimestampGreaterThanEquals", "2020-01-01T00:00:00Z", "not a timestamp", False),
        ("BooleanEquals", False, False, True),
        ("BooleanEquals", False, 0, False),
    ],
)
def test_comparisons_are_typed(operator: str, value: object, data: object, expected: bool) -> None:
    assert evaluate_rule({"Variable": "$.v", operator: value}, {"v": data}) is expected


def test_path_operators_compare_two_values_of_the_input() -> None:
    rule = {"Variable": "$.a", "StringEqualsPath": "$.b"}
    assert evaluate_rule(rule, {"a": "x", "b": "x"})
    assert not evaluate_rule(rule, {"a": "x", "b": 1})


def test_nested_boolean_rules() -> None:
    rule = {
        "Or": [
            {"Not": {"Variable": "$.a", "IsPresent": True}},
            {
                "And": [
                    {"Variable": "$.a", "IsNumeric": True},
                    {"Variable": "$.a", "NumericEquals": 3},
                ]
            },
        ]
    }
    assert evaluate_rule(rule, {})
    assert evaluate_rule(rule, {"a": 3})
    assert not evaluate_rule(rule, {"a": "3"})


def test_variables_can_be_tested() -> None:
    rule = {"Variable": "$count", "NumericGreaterThan": 1}
    assert evaluate_rule(rule, {}, variables={"count": 2})
    assert evaluate_rule({"Variable": "$count", "IsPresent": False}, {}, variables={})


def test_compiled_rules_and_choices_agree_with_the_interpreted_ones() -> None:
    case = json.loads((GOLDEN / "doc_example_value_in_twenties.json").read_text())
    decide = compile_choices(case["choices"], case["default"])
    assert decide(case["input"]) == "ValueInTwenties"
    assert decide({"type": "x", "value": 1}) == "Public"
    rule = compile_rule({"Variable": "$.v", "StringMatches": "*.png"})
    assert rule({"v": "a.png"}) and not rule({"v": "a.jpg"})


def test_jsonata_condition_is_delegated_to_the_engine() -> None:
    seen = []

    def condition(expression: str) -> bool:
        seen.append(expression)
        return True

    choices = [{"Condition": "{% $states.input.ok %}", "Next": "Yes"}]
    assert choose(choices, None, {}, condition=condition) == "Yes"
    assert seen == ["{% $states.input.ok %}"]


def test_open_escape_in_string_matches_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate_rule({"Variable": "$.v", "StringMatches": "a\\b"}, {"v": "ab"})
    assert caught.value.error == "States.Runtime"


def test_java_compare_uses_utf16_code_units() -> None:
    assert java_compare("a", "b") < 0
    assert java_compare("\U0001f600", "\uff5e") < 0  # surrogates sort below U+FF5E
    assert java_compare("same", "same") == 0
