"""Intrinsic functions: the AWS documentation's examples as a golden corpus, plus properties.

Each file in tests/sfn/golden/intrinsics/ is one call with its input and the result (or the
error name) the AWS page documents. Run one with ``pytest tests/sfn/test_intrinsics.py -k <stem>``.
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visiongate.sfn import intrinsics
from visiongate.sfn.errors import StatesError
from visiongate.sfn.intrinsics import Call, IntrinsicSyntaxError, Literal, PathArg, evaluate, parse

GOLDEN = Path(__file__).parent / "golden" / "intrinsics"
CASES = sorted(GOLDEN.glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_intrinsic(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["source"].startswith("https://")
    run = lambda: evaluate(case["expression"], case["input"], case.get("context"))  # noqa: E731
    if "expect_error" in case:
        with pytest.raises(StatesError) as caught:
            run()
        assert caught.value.error == case["expect_error"], caught.value.cause
        return
    result = run()
    if "expect" in case:
        assert result == case["expect"] and type(result) is type(case["expect"])
    elif "expect_range" in case:
        low, high = case["expect_range"]
        assert isinstance(result, int) and low <= result <= high
    else:
        assert re.fullmatch(case["expect_pattern"], result)


def test_every_documented_function_has_a_golden_case() -> None:
    used = {
        name
        for p in CASES
        for name in re.findall(r"States\.\w+", json.loads(p.read_text())["expression"])
    }
    assert intrinsics.FUNCTIONS.issubset(used)


def test_parse_builds_a_tree_of_calls_literals_and_paths() -> None:
    call = parse("States.Format('{} {}', $.a, States.Array(1, 2.5, true, null, $$.Execution.Id))")
    assert call == Call(
        "States.Format",
        (
            Literal("{} {}", ("", " ", "")),
            PathArg("$.a"),
            Call(
                "States.Array",
                (
                    Literal(1),
                    Literal(2.5),
                    Literal(True),
                    Literal(None),
                    PathArg("$$.Execution.Id"),
                ),
            ),
        ),
    )


def test_path_arguments_keep_their_brackets_and_filters() -> None:
    call = parse("States.Array($['a,b'], $.list[?(@.x > 1)].y, $.z[0])")
    assert [a.path for a in call.args] == ["$['a,b']", "$.list[?(@.x > 1)].y", "$.z[0]"]
    assert evaluate(call, {"a,b": 1, "list": [{"x": 2, "y": "y"}], "z": [9]}) == [1, ["y"], 9]


def test_variables_are_paths_too() -> None:
    assert evaluate("States.Array($total.n)", {}, None, {"total": {"n": 3}}) == [3]


@pytest.mark.parametrize(
    "text",
    [
        "States.Format(",
        "States.Format('unclosed)",
        "States.Array(1,)",
        "States.Array(1) trailing",
        "Foo.Bar(1)",
        "States.ArrayLength()",
        "States.UUID(1)",
        "States.Format(1)",
        "States.Array($.a b)",
        "States.Array(@.x)",
    ],
)
def test_malformed_calls_raise_a_clear_syntax_error(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        parse(text)
    assert caught.value.error == "States.IntrinsicFailure"
    assert text in caught.value.cause


def test_nesting_is_limited_to_ten_levels() -> None:
    ten = "States.Array(" * 10 + "1" + ")" * 10
    assert evaluate(ten, {}) == [[[[[[[[[[1]]]]]]]]]]
    with pytest.raises(IntrinsicSyntaxError, match="nested"):
        parse("States.Array(" * 11 + "1" + ")" * 11)


def test_is_intrinsic_is_a_shape_test() -> None:
    assert intrinsics.is_intrinsic("States.UUID()")
    assert not intrinsics.is_intrinsic("$.a")
    assert not intrinsics.is_intrinsic("States.UUID")
    assert not intrinsics.is_intrinsic(42)


def test_format_writes_values_like_java() -> None:
    # Java toString of the JSON values, as AWS prints them into States.Format.
    result = evaluate(
        "States.Format('{}|{}|{}|{}|{}', $.o, $.l, $.f, $.b, $.n)",
        {
            "o": {"a": 1, "b": "x"},
            "l": [1, "two", None],
            "f": 1e20,
            "b": True,
            "n": None,
        },
    )
    assert result == "{a=1, b=x}|[1, two, null]|1.0E20|true|null"


def test_parses_are_cached() -> None:
    assert parse("States.Array(1)") is parse("States.Array(1)")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="States.Format(ArrayGetItem'{}$.,)0123-\\ \"[]?@*truenl", max_size=60))
def test_any_text_parses_or_raises_the_documented_error(text: str) -> None:
    try:
        assert isinstance(parse(text), Call)
    except IntrinsicSyntaxError as exc:
        assert exc.error == "States.IntrinsicFailure"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_unicode_parses_or_raises_the_documented_error(text: str) -> None:
    try:
        parse("States.Format(" + text + ")")
    except IntrinsicSyntaxError:
        pass


json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(intrinsics.FUNCTIONS - {"States.UUID"})),
    st.lists(
        st.recursive(json_scalars, lambda c: st.lists(c, max_size=3), max_leaves=6), max_size=3
    ),
)
def test_any_arguments_give_a_result_or_a_states_error(name: str, values: list) -> None:
    args = ", ".join(f"$.a{i}" for i in range(len(values)))
    data = {f"a{i}": v for i, v in enumerate(values)}
    try:
        evaluate(f"{name}({args})", data)
    except StatesError as exc:
        assert exc.error == "States.IntrinsicFailure"
