"""Definition validation: a golden corpus of AWS-documented cases plus property tests.

Every file in tests/sfn/golden/validation/ holds one definition, the AWS page it comes from, and
the complete list of problems (code, location and, where AWS documents or reports it, the
message). Run one case with ``pytest tests/sfn/test_validate.py -k <file stem>``.
Diagnostic codes: https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visiongate.sfn.errors import InvalidDefinition, Problem
from visiongate.sfn.validate import assert_valid, validate_definition

GOLDEN = Path(__file__).parent / "golden" / "validation"
CASES = sorted(GOLDEN.glob("*.json"))
WORKFLOWS = sorted((Path(__file__).parents[2] / "src" / "visiongate" / "workflows").glob("*.json"))


def _matches(problem: Problem, expected: dict) -> bool:
    return (
        problem.code == expected["code"]
        and problem.location == expected["location"]
        and ("message" not in expected or problem.message == expected["message"])
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_definition(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["source"].startswith("https://"), "every case cites the page it comes from"
    problems = validate_definition(case["definition"])
    if case["expect_valid"]:
        assert problems == [], f"{case['description']}: {[str(p) for p in problems]}"
        return
    unexplained = list(problems)
    missing = []
    for expected in case["expect_problems"]:
        found = next((p for p in unexplained if _matches(p, expected)), None)
        if found is None:
            missing.append(expected)
        else:
            unexplained.remove(found)
    assert not missing and not unexplained, (
        f"{case['description']}\nmissing: {missing}\nunexpected: {[str(p) for p in unexplained]}"
    )


def test_corpus_covers_both_outcomes() -> None:
    outcomes = {json.loads(p.read_text())["expect_valid"] for p in CASES}
    assert outcomes == {True, False} and len(CASES) >= 50


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_shipped_workflows_are_valid(path: Path) -> None:
    assert validate_definition(path.read_text()) == []


def test_json_text_and_dict_give_the_same_answer() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    assert validate_definition(json.dumps(definition)) == validate_definition(definition)


def test_every_problem_is_collected_not_just_the_first() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Next": "B"},
            "B": {"Type": "Wait", "Next": "Nowhere"},
            "C": {"Type": "Pass", "End": True, "Retry": []},
        },
    }
    codes = [(p.code, p.location) for p in validate_definition(definition)]
    assert ("SCHEMA_VALIDATION_FAILED", "/States/A") in codes
    assert ("SCHEMA_VALIDATION_FAILED", "/States/B") in codes
    assert ("MISSING_TRANSITION_TARGET", "/States/B/Next") in codes
    assert ("MISSING_TRANSITION_TARGET", "/States/C") in codes
    assert len(codes) >= 5


def test_assert_valid_returns_the_parsed_definition() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}'
    assert assert_valid(text) == {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}


def test_assert_valid_raises_with_every_problem_in_aws_style() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        assert_valid({"StartAt": "A", "States": {"A": {"Type": "Pass"}, "B": {"Type": "Nope"}}})
    error = caught.value
    assert len(error.problems) == 3
    assert error.message.startswith("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED")
    assert "at /States/A" in error.message


def test_validation_does_not_mutate_the_definition() -> None:
    definition = json.loads((GOLDEN / "valid_choice_dispatch_event.json").read_text())["definition"]
    before = copy.deepcopy(definition)
    validate_definition(definition)
    assert definition == before


def test_deeply_nested_definitions_are_refused_not_crashed() -> None:
    branch: dict = {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    for depth in range(400):
        branch = {
            "StartAt": f"P{depth}",
            "States": {f"P{depth}": {"Type": "Parallel", "Branches": [branch], "End": True}},
        }
    problems = validate_definition(branch)
    assert all(isinstance(p, Problem) for p in problems)
    assert validate_definition(json.dumps(branch)) == problems


def test_hostile_json_text_is_a_problem_not_an_exception() -> None:
    assert validate_definition("[" * 100_000)[0].code == "INVALID_JSON_DESCRIPTION"
    assert validate_definition("null")[0].code == "SCHEMA_VALIDATION_FAILED"
    assert validate_definition(b"\xff\xfe")[0].code == "INVALID_JSON_DESCRIPTION"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Type",
                    "Next",
                    "End",
                    "States",
                    "StartAt",
                    "Choices",
                    "Variable",
                    "Branches",
                    "x.$",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
state_types = st.sampled_from(
    ["Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]
)


@settings(max_examples=120, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=5),
        st.dictionaries(st.sampled_from(["Type", "Next", "End", "Choices", "Retry"]), json_values)
        | st.fixed_dictionaries({"Type": state_types}, optional={"Next": st.text(max_size=3)}),
        max_size=4,
    ),
    json_values,
)
def test_any_json_yields_problems_never_an_exception(states: dict, start: object) -> None:
    problems = validate_definition({"StartAt": start, "States": states})
    assert all(isinstance(p, Problem) for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_yields_problems_never_an_exception(text: str) -> None:
    assert all(isinstance(p, Problem) for p in validate_definition(text))
