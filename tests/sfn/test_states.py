"""State types beyond the golden corpus: concurrency limits, edge errors, the Context object.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html
"""

from __future__ import annotations

import threading

from visiongate.sfn.engine import Engine

INVOKE = "arn:aws:states:::lambda:invoke"


def test_map_respects_max_concurrency(engine: Engine) -> None:
    barrier = threading.Barrier(2, timeout=10)
    active = [0, 0]  # now, max
    lock = threading.Lock()

    def pair(event, context):
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        barrier.wait()  # two iterations must run together; a third never joins them
        with lock:
            active[0] -= 1
        return event

    engine.functions.register("pair", pair)
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": INVOKE,
                            "Parameters": {"FunctionName": "pair", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    result = engine.run(definition, [1, 2, 3, 4])
    assert result.output == [1, 2, 3, 4]
    assert active[1] == 2


def test_max_concurrency_path(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrencyPath": "$.limit",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert engine.run(definition, {"items": [1, 2], "limit": 1}).output == [1, 2]
    assert engine.run(definition, {"items": [1], "limit": "x"}).error == "States.Runtime"


def test_map_items_must_be_an_array(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    result = engine.run(definition, {"items": {"not": "array"}})
    assert result.error == "States.Runtime"
    assert "entered at the event id #2" in result.cause


def test_map_of_an_empty_array_outputs_an_empty_array(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert engine.run(definition, []).output == []


def test_a_failing_iteration_aborts_the_others(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Boom"}],
                            "Default": "Wait",
                        },
                        "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
                        "Boom": {"Type": "Fail", "Error": "Boom"},
                    },
                },
                "End": True,
            }
        },
    }
    result = engine.run(definition, [0, 1, 2, 3])
    assert result.error == "Boom"
    types = result.event_types()
    assert types.count("MapIterationStarted") == 2  # the items after the failure never start
    assert types.count("MapIterationFailed") == 1
    assert "MapStateFailed" in types


def test_wait_seconds_path_must_be_a_non_negative_integer(engine: Engine) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}},
    }
    assert engine.run(definition, {"s": -1}).error == "States.Runtime"
    assert engine.run(definition, {"s": "10"}).error == "States.Runtime"


def test_wait_timestamp_path_must_be_a_timestamp(engine: Engine) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": True}},
    }
    assert engine.run(definition, {"t": "tomorrow"}).error == "States.Runtime"


def test_fail_without_cause_and_error_path_that_is_not_a_string(engine: Engine) -> None:
    assert (
        engine.run({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "OnlyError"}}}).cause
        is None
    )
    result = engine.run(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.code"}}}, {"code": 7}
    )
    assert result.error == "States.Runtime"


def test_succeed_applies_input_and_output_paths(engine: Engine) -> None:
    definition = {
        "StartAt": "S",
        "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}},
    }
    assert engine.run(definition, {"a": {"b": 42}}).output == 42


def test_null_input_and_output_paths_give_an_empty_object(engine: Engine) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "InputPath": None, "Next": "Q"},
            "Q": {"Type": "Pass", "OutputPath": None, "End": True},
        },
    }
    assert engine.run(definition, {"a": 1}).output == {}


def test_choice_output_is_its_effective_input(engine: Engine) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "InputPath": "$.inner",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "S"}],
            },
            "S": {"Type": "Succeed"},
        },
    }
    assert engine.run(definition, {"inner": {"go": True}, "outer": 1}).output == {"go": True}


def test_choice_on_the_context_object(engine: Engine) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$$.Execution.Name", "StringEquals": "special", "Next": "Yes"}
                ],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }
    assert engine.run(definition, name="special").output == "yes"
    assert engine.run(definition, name="ordinary").output == "no"


def test_pass_output_over_the_quota_is_data_limit_exceeded(engine: Engine) -> None:
    definition = {
        "StartAt": "Grow",
        "States": {
            "Grow": {
                "Type": "Pass",
                "Parameters": {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"},
                "End": True,
            },
        },
    }
    result = engine.run(definition, {"s": "x" * 100_000})
    assert result.error == "States.DataLimitExceeded"


def test_map_item_context_is_only_in_the_item_selector(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemSelector": {"index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "StartAt": "Inside",
                    "States": {
                        "Inside": {
                            "Type": "Pass",
                            "Parameters": {"index.$": "$.index", "state.$": "$$.State.Name"},
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    assert engine.run(definition, ["a", "b"]).output == [
        {"index": 0, "state": "Inside"},
        {"index": 1, "state": "Inside"},
    ]


def test_parallel_parameters_shape_the_branch_input(engine: Engine) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Parameters": {"v.$": "$.value"},
                "ResultSelector": {"first.$": "$[0].v", "second.$": "$[1]"},
                "ResultPath": "$.result",
                "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "B2",
                        "States": {"B2": {"Type": "Pass", "InputPath": "$.v", "End": True}},
                    },
                ],
                "End": True,
            }
        },
    }
    assert engine.run(definition, {"value": 7}).output == {
        "value": 7,
        "result": {"first": 7, "second": 7},
    }
