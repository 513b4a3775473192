"""JSONPath as Step Functions applies it (Jayway semantics, AWS error wording).

https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
https://states-language.net/#path
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visiongate.sfn.errors import StatesError
from visiongate.sfn.paths import (
    InvalidPath,
    PathNotFound,
    get_path,
    is_reference_path,
    is_valid_path,
    resolve,
    set_path,
)

DOC_INPUT = {"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": True}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$.foo", 123), ("$.bar", ["a", "b", "c"]), ("$.car.cdr", True), ("$", DOC_INPUT)],
)
def test_reference_path_examples_from_the_paths_page(path: str, expected: object) -> None:
    assert is_reference_path(path)
    assert get_path(DOC_INPUT, path) == expected


def test_inputpath_slice_example() -> None:
    # "If you apply the path $.a[0:2], the result is [1, 2]" (InputPath section).
    assert get_path({"a": [1, 2, 3, 4]}, "$.a[0:2]") == [1, 2]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$['car']['cdr']", True),
        ("$.bar[1]", "b"),
        ("$.bar[-1]", "c"),
        ("$.bar[*]", ["a", "b", "c"]),
        ("$.bar[1:]", ["b", "c"]),
        ("$.bar[:1]", ["a"]),
        ("$.bar[0,2]", ["a", "c"]),
        ("$..cdr", [True]),
        ("$.*", [123, ["a", "b", "c"], {"cdr": True}]),
        ("$['foo','car']", {"foo": 123, "car": {"cdr": True}}),
    ],
)
def test_jsonpath_forms(path: str, expected: object) -> None:
    assert get_path(DOC_INPUT, path) == expected


# Filters and recursive descent as Step Functions Local answers them (reported in
# https://github.com/floci-io/floci/issues/3260, a comparison against amazon/aws-stepfunctions-local).
@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        (
            "$.list[?(@.keep)]",
            {"list": [{"keep": True}, {"keep": False}, {"other": 1}]},
            [{"keep": True}, {"keep": False}],
        ),
        (
            "$.list[?(@.keep == true)]",
            {"list": [{"keep": True}, {"keep": False}]},
            [{"keep": True}],
        ),
        ("$.d..a", {"d": {"x": {"a": [1, 2]}}}, [[1, 2]]),
        ("$.d..a[*]", {"d": {"x": {"a": [1, 2]}}}, [1, 2]),
    ],
)
def test_filters_and_deep_scan_match_step_functions_local(
    path: str, data: dict, expected: list
) -> None:
    assert get_path(data, path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.items[?(@.price < 10)].name", ["a"]),
        ("$.items[?(@.price >= 10 && @.tag == 'x')].name", ["b"]),
        ("$.items[?(@.price > 100 || @.name =~ /C.*/i)].name", ["c"]),
        ("$.items[?(@.tag in ['x', 'y'])].name", ["b", "c"]),
        ("$.items[?(!(@.price < 10))].name", ["b", "c"]),
        ("$.items[?(@.price == '5')].name", ["a"]),
        ("$.items[?(@.price > $.limit)].name", ["c"]),
    ],
)
def test_filter_expressions(path: str, expected: list) -> None:
    data = {
        "limit": 50,
        "items": [
            {"name": "a", "price": 5},
            {"name": "b", "price": 10, "tag": "x"},
            {"name": "c", "price": 90, "tag": "y"},
        ],
    }
    assert get_path(data, path) == expected


def test_indefinite_path_matching_nothing_is_an_empty_list() -> None:
    assert get_path({"items": [{"a": 1}]}, "$.items[*].b") == []


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("$.x", "Invalid path '$.x' : No results for path: $['x']"),
        ("$.a.x", "Invalid path '$.a.x' : No results for path: $['a']['x']"),
        ("$.x.y", "Invalid path '$.x.y' : Missing property in path $['x']"),
        ("$.l[5]", "Invalid path '$.l[5]' : No results for path: $['l'][5]"),
        ("$.n[0]", "Invalid path '$.n[0]' : The path $['n'] is null"),
    ],
)
def test_definite_path_matching_nothing_uses_aws_wording(path: str, cause: str) -> None:
    with pytest.raises(PathNotFound) as caught:
        get_path({"a": {}, "l": [1], "n": None}, path)
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == cause


def test_property_of_a_non_object_is_not_found() -> None:
    with pytest.raises(PathNotFound, match="Expected to find an object with property"):
        get_path({"s": "text"}, "$.s.length")


def test_callers_may_rename_the_error() -> None:
    error = PathNotFound("$.x", error="States.ItemReaderFailed")
    assert isinstance(error, StatesError) and error.error == "States.ItemReaderFailed"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "a.b",
        "$.",
        "$..",
        "$[",
        "$[0",
        "$['a'",
        "$.a b",
        "$.list.length()",
        "$.a[?(@.x",
        "$[1:2:3]",
    ],
)
def test_malformed_paths_are_invalid(path: str) -> None:
    assert not is_valid_path(path)
    with pytest.raises(InvalidPath):
        get_path({}, path)


@pytest.mark.parametrize(
    ("path", "reference"),
    [
        ("$", True),
        ("$.ledgers.branch[0].pending.count", True),
        ("$.ledgers[0][22][315].foo", True),
        ("$['store'][0]['book']", True),
        ("$$.Execution.Id", True),
        ("$myVariable.field", True),
        ("$.a[*]", False),
        ("$..a", False),
        ("$.a[0:1]", False),
        ("$.a[0,1]", False),
        ("$.a[?(@.b)]", False),
        ("$['a','b']", False),
        ("$.a[-1]", False),
    ],
)
def test_reference_paths_are_the_single_node_subset(path: str, reference: bool) -> None:
    assert is_reference_path(path) is reference
    assert is_valid_path(path)


def test_resolve_dispatches_context_variables_and_input() -> None:
    context = {"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Value": 7}}}
    assert resolve("$$.Execution.Id", {"Execution": "no"}, context) == "arn:exec"
    assert resolve("$$.Map.Item.Value", {}, context) == 7
    assert resolve("$.a", {"a": 1}, context) == 1
    assert resolve("$total.n", {}, context, {"total": {"n": 2}}) == 2
    with pytest.raises(PathNotFound):
        resolve("$missing", {}, context, {})


# ResultPath examples from https://states-language.net/#filters and
# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
def test_resultpath_overwrites_an_existing_field() -> None:
    data = {"master": {"detail": [1, 2, 3]}}
    assert set_path(data, "$.master.detail", 6) == {"master": {"detail": 6}}
    assert data == {"master": {"detail": [1, 2, 3]}}, "the input is never mutated"


def test_resultpath_creates_intermediate_objects() -> None:
    assert set_path({"master": {"detail": [1, 2, 3]}}, "$.master.result.sum", 6) == {
        "master": {"detail": [1, 2, 3], "result": {"sum": 6}}
    }
    assert set_path({"a": 1}, "$.b.greeting", "Hi!") == {"a": 1, "b": {"greeting": "Hi!"}}


def test_resultpath_dollar_replaces_the_input() -> None:
    assert set_path({"a": 1}, "$", "Hello, Step Functions!") == "Hello, Step Functions!"


def test_resultpath_into_an_array_element() -> None:
    assert set_path({"a": [1, 2]}, "$.a[1]", 9) == {"a": [1, 9]}


@pytest.mark.parametrize(
    ("data", "path"),
    [("foo", "$.x"), ({"a": 1}, "$.a.b"), ({"a": [1]}, "$.a[3]"), ({"a": {}}, "$.a[0]")],
)
def test_resultpath_that_cannot_apply_is_a_match_failure(data: object, path: str) -> None:
    # Spec: input "foo" with ResultPath "$.x" fails with States.ResultPathMatchFailure.
    with pytest.raises(StatesError) as caught:
        set_path(data, path, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"
    assert caught.value.cause.startswith(f"Unable to apply ReferencePath {path} to input ")


def test_resultpath_must_be_a_reference_path() -> None:
    with pytest.raises(InvalidPath):
        set_path({}, "$.a[*]", 1)
    with pytest.raises(InvalidPath):
        set_path({}, "$$.Execution.Id", 1)


json_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from("abc"), c, max_size=3),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="$.[]'\"*?@()=<>!&|:,-0123abc \\", max_size=30), json_data)
def test_any_string_is_a_result_or_a_documented_error(path: str, data: object) -> None:
    try:
        get_path(data, path)
    except (PathNotFound, InvalidPath) as exc:
        assert exc.error == "States.Runtime"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), json_data)
def test_any_unicode_path_is_a_result_or_a_documented_error(path: str, data: object) -> None:
    try:
        get_path(data, "$" + path)
    except (PathNotFound, InvalidPath):
        pass


@settings(max_examples=300, deadline=None)
@given(json_data, st.lists(st.sampled_from(["a", "b", 0, 1]), min_size=1, max_size=4), json_data)
def test_set_then_get_round_trips(data: object, steps: list, value: object) -> None:
    path = "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
    try:
        updated = set_path(data, path, value)
    except StatesError as exc:
        assert exc.error == "States.ResultPathMatchFailure"
        return
    assert get_path(updated, path) == value
