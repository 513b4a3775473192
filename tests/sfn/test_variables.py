"""Workflow variables: names, scopes, the commit at state exit, quotas, variableReferences.

https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
Behaviour through executions is in tests/sfn/golden/variables; these tests pin the parts.
"""

from __future__ import annotations

import pytest

from visiongate.sfn.context import Scope
from visiongate.sfn.errors import StatesError
from visiongate.sfn.variables import (
    MAX_EXECUTION_BYTES,
    is_valid_name,
    references,
)


# "Variable names follow the rules for Unicode Identifiers ... maximum length ... 80"
@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("productName", True),
        ("_private", True),
        ("café", True),
        ("x1", True),
        ("1x", False),
        ("x.y", False),
        ("x[2]", False),
        ("my-var", False),
        ("states", False),
        ("v" * 80, True),
        ("v" * 81, False),
        ("", False),
    ],
)
def test_variable_names(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid


def test_a_child_scope_reads_its_parents_and_keeps_its_own() -> None:
    outer = Scope(values={"x": 1})
    inner = outer.child()
    inner.values["y"] = 2
    assert ("x" in inner, inner["x"], "y" in outer) == (True, 1, False)
    sibling = outer.child()
    assert "y" not in sibling and sibling.get("y", "none") == "none"
    assert inner.visible() == {"x": 1, "y": 2}


def test_all_assignments_of_one_assign_fit_in_256_kib(engine) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Pass",
                "Assign": {
                    "a": "{% $pad('', 140000, 'x') %}",
                    "b": "{% $pad('', 140000, 'y') %}",
                },
                "End": True,
            }
        },
    }
    result = engine.run(definition, {})
    assert result.error == "States.DataLimitExceeded"


def test_the_execution_holds_at_most_10_mib_of_variables(engine) -> None:
    # 41 variables of ~250 KiB each exceed 10 MiB; each Assign alone is within its quota.
    states = {
        f"S{i}": {
            "Type": "Pass",
            "Assign": {f"v{i}": "{% $pad('', 250000, 'x') %}"},
            "Next": f"S{i + 1}",
        }
        for i in range(45)
    }
    states["S45"] = {"Type": "Succeed"}
    result = engine.run({"QueryLanguage": "JSONata", "StartAt": "S0", "States": states}, {})
    assert result.error == "States.DataLimitExceeded"
    assert 40 <= sum(1 for e in result.history if e["type"] == "PassStateExited") <= 42
    assert MAX_EXECUTION_BYTES == 10 * 1024 * 1024


def test_reassigning_a_variable_counts_its_new_size_only(engine) -> None:
    states = {
        f"S{i}": {
            "Type": "Pass",
            "Assign": {"same": "{% $pad('', 250000, 'x') %}"},
            "Next": f"S{i + 1}",
        }
        for i in range(50)
    }
    states["S50"] = {"Type": "Succeed"}
    result = engine.run({"QueryLanguage": "JSONata", "StartAt": "S0", "States": states}, {})
    assert result.succeeded, result.cause


def test_map_iterations_release_their_variables(engine) -> None:
    # 60 iterations x 250 KB would exceed 10 MiB if finished iterations still counted.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% [1..60] %}",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Pass",
                            "Assign": {"blob": "{% $pad('', 250000, 'x') %}"},
                            "Output": 1,
                            "End": True,
                        }
                    },
                },
                "Output": "{% $count($states.result) %}",
                "End": True,
            }
        },
    }
    result = engine.run(definition, {})
    assert (result.status, result.output) == ("SUCCEEDED", 60)


def test_references_cover_both_languages_and_nested_states() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$limit", "NumericGreaterThanPath": "$other.v", "Next": "M"}
                ],
                "Default": "M",
            },
            "M": {
                "Type": "Map",
                "ItemsPath": "$list",
                "ItemProcessor": {
                    "StartAt": "In",
                    "States": {
                        "In": {
                            "Type": "Pass",
                            "QueryLanguage": "JSONata",
                            "Output": "{% $base + $states.input %}",
                            "End": True,
                        }
                    },
                },
                "End": True,
            },
        },
    }
    assert references(definition) == {"A": ["limit", "other"], "M": ["list"], "In": ["base"]}


def test_a_states_error_is_what_quotas_raise() -> None:
    assert issubclass(StatesError, Exception)
