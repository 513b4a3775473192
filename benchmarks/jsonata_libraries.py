"""JSONata libraries for the engine: conformance on a sample of cases, and speed.

    .venv/bin/python benchmarks/jsonata_libraries.py

Compares jsonatapy (Rust port of jsonata-js, the engine's choice) with jsonata-python (pure
Python port of jsonata-java, the previous dependency) when both are installed:

* conformance: ``benchmarks/jsonata_suite_sample.json`` (a sample of the JSONata reference test
  suite, https://github.com/jsonata-js/jsonata/tree/master/test/test-suite) plus the standard
  JSONata functions the AWS migration guide maps intrinsic functions to
  (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html) and the
  behaviours Step Functions relies on (undefined vs null, JavaScript number formatting,
  ``$count(null)``); a case passes when the value (or the error code) matches;
* speed: microseconds per evaluation of typical Step Functions expressions against a ~1 KB
  ``$states.input``, best of 5, plus the compile time;
* the engine: state transitions per second of the engine benchmark's inline Map (Pass /
  Choice / Pass per item, benchmarks/engine_throughput.py) written in JSONata, next to the same
  workflow in JSONPath (``--engine-items``, default 2,000; best of 3).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).with_name("jsonata_suite_sample.json")
_MISSING = object()

# Standard JSONata that Step Functions documents (the intrinsic-function equivalents) and the
# semantics the engine depends on. Expected values are JSONata's (jsonata-js) answers.
AWS_CASES: list[dict[str, Any]] = [
    {"expr": "$count([1, 2, 3])", "result": 3},
    {"expr": "$distinct([1, 2, 2, 3])", "result": [1, 2, 3]},
    {"expr": "$base64encode('Data to encode')", "result": "RGF0YSB0byBlbmNvZGU="},
    {"expr": "$base64decode('RGF0YSB0byBlbmNvZGU=')", "result": "Data to encode"},
    {"expr": "$merge([{'a': 1}, {'b': 2}])", "result": {"a": 1, "b": 2}},
    {"expr": "$split('a,b,c', ',')", "result": ["a", "b", "c"]},
    {"expr": "2 in [1, 2, 3]", "result": True},
    {"expr": "[1, 2, 3][1]", "result": 2},
    {"expr": "$string({'a': 1})", "result": '{"a":1}'},
    {"expr": "'Hello ' & $states.input.name", "result": "Hello World"},
    {"expr": "$states.input.items[price > 10].sku", "result": "b"},  # a singleton
    {"expr": "$sum($states.input.items.price)", "result": 17},
    {"expr": "$states.input.missing", "undefinedResult": True},
    {"expr": "$states.input.nothing", "result": None},
    {"expr": "$count(null)", "result": 1},
    {"expr": "$string(1e20)", "result": "100000000000000000000"},
    {"expr": "$number('abc')", "code": "D3030"},
    {"expr": "$string(1/0)", "code": "D3001"},
    {"expr": "'a' + 1", "code": "T2001"},
    {"expr": "$x.y", "bindings": {"x": {"y": [1, 2]}}, "result": [1, 2]},
]
AWS_BINDINGS = {
    "states": {
        "input": {
            "name": "World",
            "nothing": None,
            "items": [{"sku": "a", "price": 5}, {"sku": "b", "price": 12}],
        }
    }
}


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return (
            isinstance(actual, int | float)
            and isinstance(expected, int | float)
            and math.isclose(expected, actual, rel_tol=1e-9)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_same(v, actual[k]) for k, v in expected.items())
        )
    return type(expected) is type(actual) and expected == actual


class Library:
    name = ""

    def evaluate(self, expr: str, data: Any, bindings: dict[str, Any]) -> Any:
        """The value, _MISSING for undefined; raises with the JSONata code in the message."""
        raise NotImplementedError

    def compile(self, expr: str) -> Any:
        raise NotImplementedError

    def run(self, compiled: Any, bindings: dict[str, Any]) -> Any:
        raise NotImplementedError


class Jsonatapy(Library):
    def __init__(self) -> None:
        import jsonatapy

        self.module = jsonatapy
        self.name = f"jsonatapy {jsonatapy.__version__}"

    def evaluate(self, expr: str, data: Any, bindings: dict[str, Any]) -> Any:
        compiled = self.module.compile(expr)
        value = compiled.evaluate(data, bindings)
        if value is None:
            text = compiled.evaluate_json_or_none(
                None if data is None else json.dumps(data), bindings
            )
            return _MISSING if text is None else None
        return value

    def compile(self, expr: str) -> Any:
        return self.module.compile(expr)

    def run(self, compiled: Any, bindings: dict[str, Any]) -> Any:
        return compiled.evaluate(None, bindings)


class JsonataPython(Library):
    def __init__(self) -> None:
        import jsonata

        self.module = jsonata
        from importlib.metadata import version

        self.name = f"jsonata-python {version('jsonata-python')}"

    def evaluate(self, expr: str, data: Any, bindings: dict[str, Any]) -> Any:
        from jsonata import utils

        compiled = self.module.Jsonata(expr)
        compiled.set_output_convert_nulls(False)
        try:
            value = compiled.evaluate(data, bindings)
        except self.module.JException as exc:
            raise ValueError(f"{getattr(exc, 'error', '')}: {exc}") from None
        if value is None:
            return _MISSING
        return utils.Utils.convert_nulls(value)

    def compile(self, expr: str) -> Any:
        return self.module.Jsonata(expr)

    def run(self, compiled: Any, bindings: dict[str, Any]) -> Any:
        return compiled.evaluate(None, bindings)


def conformance(library: Library, cases: list[dict[str, Any]]) -> tuple[int, list[str]]:
    passed = 0
    failures: list[str] = []
    for case in cases:
        bindings = dict(case.get("bindings") or {})
        data = case.get("data")
        try:
            value = library.evaluate(case["expr"], data, bindings)
            if "code" in case:
                ok, got = False, f"value {value!r}"
            elif case.get("undefinedResult"):
                ok, got = value is _MISSING, repr(value)
            else:
                ok, got = value is not _MISSING and _same(case["result"], value), repr(value)
        except Exception as exc:  # noqa: BLE001 - any failure is a result to compare
            ok = "code" in case and case["code"] in str(exc)
            got = f"{type(exc).__name__}: {exc}"
        if ok:
            passed += 1
        else:
            failures.append(f"{case['expr']!r}: {got[:100]}")
    return passed, failures


SPEED = [
    "$states.input.customer.name",
    "{'id': $states.input.orderId, 'total': $sum($states.input.items.(price * quantity))}",
    "$states.input.items[price > 10].sku",
    "$string($states.input.count + 1) & '-' & $uuidless",
]


def speed_bindings() -> dict[str, Any]:
    items = [{"sku": f"sku-{i}", "price": i * 1.5, "quantity": i % 3 + 1} for i in range(20)]
    data = {
        "orderId": "o-123",
        "count": 41,
        "customer": {"name": "Ada", "email": "ada@example.com"},
        "items": items,
    }
    return {"states": {"input": data}, "uuidless": "x"}


def best_of(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


JSONATA_DEFINITION = {
    "QueryLanguage": "JSONata",
    "StartAt": "Items",
    "States": {
        "Items": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemSelector": {
                "n": "{% $states.context.Map.Item.Value %}",
                "index": "{% $states.context.Map.Item.Index %}",
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Label",
                "States": {
                    "Label": {
                        "Type": "Pass",
                        "Output": {
                            "n": "{% $states.input.n %}",
                            "label": "{% 'item-' & $states.input.n %}",
                        },
                        "Next": "Size",
                    },
                    "Size": {
                        "Type": "Choice",
                        "Choices": [{"Condition": "{% $states.input.n >= 5000 %}", "Next": "Big"}],
                        "Default": "Small",
                    },
                    "Big": {
                        "Type": "Pass",
                        "Output": {
                            "label": "{% $states.input.label %}",
                            "double": "{% $states.input.n * 2 %}",
                        },
                        "End": True,
                    },
                    "Small": {
                        "Type": "Pass",
                        "Output": {
                            "label": "{% $states.input.label %}",
                            "next": "{% $states.input.n + 1 %}",
                        },
                        "End": True,
                    },
                },
            },
            "Output": {"count": "{% $count($states.result) %}"},
            "End": True,
        }
    },
}


def engine_figures(items: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from engine_throughput import DEFINITION as JSONPATH_DEFINITION
    from visiongate.config import load_settings
    from visiongate.sfn.clock import RealClock
    from visiongate.sfn.engine import Engine

    payload = {"items": list(range(items))}
    with tempfile.TemporaryDirectory() as workdir:
        settings = load_settings(home=Path(workdir))
        with Engine(settings, clock=RealClock(), history_limit=None, prepare_env=False) as engine:
            for label, definition in (
                ("JSONPath", JSONPATH_DEFINITION),
                ("JSONata", JSONATA_DEFINITION),
            ):
                engine.run(definition, {"items": [1, 2]})  # compile and warm up
                best = float("inf")
                for _ in range(3):
                    started = time.perf_counter()
                    result = engine.run(definition, payload)
                    best = min(best, time.perf_counter() - started)
                    assert result.succeeded and result.output == {"count": items}, result.cause
                transitions = 3 * items + 1
                print(
                    f"engine, {label:8}: {transitions:,} transitions in {best:.3f} s = "
                    f"{transitions / best:,.0f} transitions/s"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-items", type=int, default=2000)
    args = parser.parse_args()
    sample = json.loads(SAMPLE.read_text())
    suite = sample["cases"]
    aws = [dict(c, bindings={**AWS_BINDINGS, **c.get("bindings", {})}) for c in AWS_CASES]
    libraries: list[Library] = []
    for factory in (Jsonatapy, JsonataPython):
        try:
            libraries.append(factory())
        except ImportError:
            print(f"{factory.__name__}: not installed, skipped")
    print(
        f"hardware: {platform.processor() or platform.machine()}; Python {platform.python_version()}"
    )
    bindings = speed_bindings()
    print(f"conformance: {len(suite)} reference-suite cases + {len(aws)} Step Functions cases")
    for library in libraries:
        suite_ok, suite_failures = conformance(library, suite)
        aws_ok, aws_failures = conformance(library, aws)
        print(
            f"\n{library.name}: suite {suite_ok}/{len(suite)}, Step Functions {aws_ok}/{len(aws)}"
        )
        for failure in suite_failures + aws_failures:
            print(f"  FAIL {failure}")
        for expr in SPEED:
            compiled = library.compile(expr)
            run = best_of(lambda c=compiled, lib=library: lib.run(c, bindings), 2000)
            build = best_of(lambda e=expr, lib=library: lib.compile(e), 200)
            print(f"  {run * 1e6:8.1f} us/eval  {build * 1e6:8.1f} us/compile  {expr[:60]}")
    if args.engine_items:
        print()
        engine_figures(args.engine_items)


if __name__ == "__main__":
    main()
