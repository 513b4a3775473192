"""Golden executions: AWS documentation examples as data, run end to end through the engine.

Each file in tests/sfn/golden/execution/ holds ``description``, ``source`` (the AWS page the
expectation comes from), ``definition``, ``input`` and ``expect`` (``status`` plus ``output`` /
``output_subset``, or ``error`` / ``cause``); optionally ``mock`` (a MockConfigFile.json document
for the state machine "Golden") with ``test_case``, and ``functions`` ({name: "module:handler"},
handlers from tests/sfn/handlers.py only; the usual ones are always registered).
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
CASES = sorted(GOLDEN.glob("*.json"))


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_execution(path: Path, engine: Engine) -> None:
    case = json.loads(path.read_text())
    assert case["source"].startswith("https://docs.aws.amazon.com/"), "cite the AWS page"
    for name, target in case.get("functions", {}).items():
        assert target.startswith("tests.sfn.handlers:"), "golden cases use the test handlers"
        engine.functions.register(name, target)
    if "mock" in case:
        engine.mock_config = MockConfig(case["mock"], source=path.name)
    result = engine.run(
        case["definition"],
        case["input"],
        name="golden",
        state_machine_name="Golden",
        test_case=case.get("test_case"),
    )
    expect = case["expect"]
    assert (result.status, result.error) == (expect["status"], expect.get("error", result.error))
    if "output" in expect:
        assert result.output == expect["output"]
    if "output_subset" in expect:
        assert is_subset(expect["output_subset"], result.output), result.output
    if "cause" in expect:
        assert result.cause == expect["cause"]
    if "cause_json_keys" in expect:
        cause = result.output["error"]["Cause"] if result.succeeded else result.cause
        assert sorted(json.loads(cause)) == expect["cause_json_keys"]
