"""Context object formats, names and ARNs, variable scopes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from visiongate.sfn.context import Arns, Scope, invalid_name_reason, iso_millis


def test_times_use_the_context_objects_format() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html"""
    assert (
        iso_millis(datetime(2019, 3, 26, 20, 14, 13, 192_999, tzinfo=UTC))
        == "2019-03-26T20:14:13.192Z"
    )


@pytest.mark.parametrize("name", ["ok", "with-dash_and_underscore", "x" * 80, "ünïcode"])
def test_valid_names(name: str) -> None:
    assert invalid_name_reason(name) is None


@pytest.mark.parametrize("name", ["", "x" * 81, "a b", "a:b", "a*b", "a{b}", "a$b", "a\tb", 'a"b'])
def test_invalid_names(name: str) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html"""
    assert invalid_name_reason(name) is not None


def test_arns_have_awss_shapes() -> None:
    arns = Arns("eu-west-1", "111122223333")
    assert arns.state_machine("M") == "arn:aws:states:eu-west-1:111122223333:stateMachine:M"
    assert arns.execution("M", "e") == "arn:aws:states:eu-west-1:111122223333:execution:M:e"
    assert arns.execution("M", "e", express=True).startswith(
        "arn:aws:states:eu-west-1:111122223333:express:M:e:"
    )
    assert arns.map_run("M", "Map", "id") == "arn:aws:states:eu-west-1:111122223333:mapRun:M/Map:id"


def test_child_scopes_see_parents_but_not_siblings() -> None:
    root = Scope(values={"a": 1})
    left, right = root.child(), root.child()
    left.values["b"] = 2
    assert left.lookup("a") == 1 and left.visible() == {"a": 1, "b": 2}
    with pytest.raises(KeyError):
        right.lookup("b")
