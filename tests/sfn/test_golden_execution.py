"""Golden executions: AWS documentation examples as data, run end to end through the engine.

Each file in tests/sfn/golden/execution/, golden/jsonata/ and golden/variables/ holds
``description``, ``source`` (the AWS page the expectation comes from), ``definition``, ``input``
and ``expect`` (``status`` plus ``output`` / ``output_subset``, or ``error`` / ``cause``);
optionally ``mock`` (a MockConfigFile.json document for the state machine "Golden") with
``test_case``, and ``functions`` ({name: "module:handler"}, handlers from tests/sfn/handlers.py
only; the usual ones are always registered). JSONata and variable cases may also expect
``assigned_variables`` (the ``assignedVariables`` of each StateExited event that has them, in
history order: ``[{"state", "assignedVariables"}]``), ``evaluation_failed`` (the
``evaluationFailedEventDetails`` ``location`` and ``state``), or ``problems`` (the definition is
refused: ``[{"code", "location"(, "message")}]``, nothing runs).
Run one case with ``pytest tests/sfn/test_golden_execution.py -k <file stem>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from visiongate.sfn.engine import Engine
from visiongate.sfn.mock_config import MockConfig

GOLDEN = Path(__file__).parent / "golden" / "execution"
CORPORA = [GOLDEN, GOLDEN.with_name("jsonata"), GOLDEN.with_name("variables")]
CASES = sorted((p for corpus in CORPORA for p in corpus.glob("*.json")), key=lambda p: p.stem)


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 30
    assert all(len(list(corpus.glob("*.json"))) >= 15 for corpus in CORPORA)
    assert len({p.stem for p in CASES}) == len(CASES), "case names are unique across corpora"


def _assigned(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if "assignedVariables" in details:
            assert details["assignedVariablesDetails"] == {"truncated": False}
            found.append(
                {"state": details["name"], "assignedVariables": details["assignedVariables"]}
            )
    return found


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_execution(path: Path, engine: Engine) -> None:
    case = json.loads(path.read_text())
    assert case["source"].startswith("https://docs.aws.amazon.com/"), "cite the AWS page"
    for name, target in case.get("functions", {}).items():
        assert target.startswith("tests.sfn.handlers:"), "golden cases use the test handlers"
        engine.functions.register(name, target)
    if "mock" in case:
        engine.mock_config = MockConfig(case["mock"], source=path.name)
    expect = case["expect"]
    if "problems" in expect:
        problems = engine.validate(case["definition"])
        found = [{"code": p.code, "location": p.location, "message": p.message} for p in problems]
        for wanted in expect["problems"]:
            assert any(all(f[k] == v for k, v in wanted.items()) for f in found), found
        assert len(found) == len(expect["problems"]), found
        return
    result = engine.run(
        case["definition"],
        case["input"],
        name="golden",
        state_machine_name="Golden",
        test_case=case.get("test_case"),
    )
    assert (result.status, result.error) == (expect["status"], expect.get("error", result.error))
    if "output" in expect:
        assert result.output == expect["output"]
    if "output_subset" in expect:
        assert is_subset(expect["output_subset"], result.output), result.output
    if "cause" in expect:
        assert result.cause == expect["cause"]
    if "assigned_variables" in expect:
        assert _assigned(result.history) == expect["assigned_variables"]
    if "evaluation_failed" in expect:
        failed = [e for e in result.history if e["type"] == "EvaluationFailed"]
        assert len(failed) == 1, [e["type"] for e in result.history]
        details = failed[0]["evaluationFailedEventDetails"]
        assert details["error"] == "States.QueryEvaluationError"
        assert details["cause"] == result.cause or result.status == "SUCCEEDED"
        assert {k: details[k] for k in expect["evaluation_failed"]} == expect["evaluation_failed"]
    if "cause_json_keys" in expect:
        cause = result.output["error"]["Cause"] if result.succeeded else result.cause
        assert sorted(json.loads(cause)) == expect["cause_json_keys"]
