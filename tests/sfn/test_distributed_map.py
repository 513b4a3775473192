"""Distributed Map: ItemReader over the object store, ItemBatcher, ResultWriter, Map Runs.

https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
"""

from __future__ import annotations

import json

import pytest

from visiongate.sfn.engine import Engine


def distributed(reader: dict | None = None, **extra) -> dict:
    state: dict = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Process",
            "States": {"Process": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    if reader is not None:
        state["ItemReader"] = reader
    state.update(extra)
    return {"StartAt": "Map", "States": {"Map": state}}


@pytest.fixture
def store(engine: Engine):
    store = engine.object_store()
    store.create_bucket("data")
    return store


def test_list_objects_items_look_like_awss(engine: Engine, store) -> None:
    """Items: {"Etag", "Key", "LastModified", "Size", "StorageClass"} per object."""
    store.put("data", "images/a.png", b"aaa")
    store.put("data", "images/b.png", b"bbbbb")
    store.put("data", "other/c.png", b"c")
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data", "Prefix.$": "$.prefix"},
    }
    result = engine.run(distributed(reader), {"prefix": "images/"})
    assert result.succeeded, result.cause
    items = result.output
    assert [item["Key"] for item in items] == ["images/a.png", "images/b.png"]
    assert [item["Size"] for item in items] == [3, 5]
    assert all(
        sorted(item) == ["Etag", "Key", "LastModified", "Size", "StorageClass"] for item in items
    )
    assert items[0]["Etag"].startswith('"') and items[0]["StorageClass"] == "STANDARD"
    assert isinstance(items[0]["LastModified"], int)


@pytest.mark.parametrize(
    ("body", "config", "expected"),
    [
        (b'[{"n": 1}, {"n": 2}]', {"InputType": "JSON"}, [{"n": 1}, {"n": 2}]),
        (b'{"n": 1}\n{"n": 2}\n', {"InputType": "JSONL"}, [{"n": 1}, {"n": 2}]),
        (
            b"name,size\ncat,3\ndog,4\n",
            {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            [{"name": "cat", "size": "3"}, {"name": "dog", "size": "4"}],
        ),
        (
            b"cat,3\ndog,4\n",
            {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["name", "size"]},
            [{"name": "cat", "size": "3"}, {"name": "dog", "size": "4"}],
        ),
        (b"[1, 2, 3, 4]", {"InputType": "JSON", "MaxItems": 2}, [1, 2]),
    ],
)
def test_get_object_reader(
    engine: Engine, store, body: bytes, config: dict, expected: list
) -> None:
    store.put("data", "items/input", body)
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket": "data", "Key": "items/input"},
    }
    result = engine.run(distributed(reader))
    assert result.output == expected


def test_missing_object_is_item_reader_failed(engine: Engine, store) -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "data", "Key": "nope.json"},
    }
    result = engine.run(distributed(reader))
    assert result.error == "States.ItemReaderFailed"


def test_each_item_is_a_child_execution_of_a_map_run(engine: Engine) -> None:
    result = engine.run(distributed(), [1, 2, 3])
    assert result.output == [1, 2, 3]
    types = result.event_types()
    assert types[1:4] == ["MapStateEntered", "MapStateStarted", "MapRunStarted"]
    assert types[-4:] == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    started = next(e for e in result.history if e["type"] == "MapRunStarted")
    map_run_arn = started["mapRunStartedEventDetails"]["mapRunArn"]
    assert map_run_arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:")
    run = engine.describe_map_run(map_run_arn)
    assert run.status == "SUCCEEDED"
    assert run.item_counts["succeeded"] == 3 and run.item_counts["total"] == 3
    children = engine.list_executions(map_run_arn=map_run_arn)
    assert len(children) == 3 and {c.status for c in children} == {"SUCCEEDED"}
    assert all(":execution:" in c.arn and "/Map:" in c.arn for c in children)
    assert engine.list_executions() == [result.execution]  # children stay out of the top list
    assert [r.arn for r in engine.list_map_runs(result.arn)] == [map_run_arn]


def test_result_writer_writes_manifest_and_result_files(engine: Engine, store) -> None:
    definition = distributed(
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "results"},
        },
        ToleratedFailurePercentage=50,
    )
    definition["States"]["Map"]["ItemProcessor"]["States"] = {
        "Process": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Broken"}],
            "Default": "Fine",
        },
        "Broken": {"Type": "Fail", "Error": "Three", "Cause": "no threes"},
        "Fine": {"Type": "Succeed"},
    }
    result = engine.run(definition, [1, 2, 3])
    assert result.succeeded, result.cause
    details = result.output["ResultWriterDetails"]
    assert details["Bucket"] == "data" and details["Key"].endswith("/manifest.json")
    manifest = json.loads(store.get("data", details["Key"]))
    assert manifest["MapRunArn"] == result.output["MapRunArn"]
    assert manifest["DestinationBucket"] == "data"
    succeeded = json.loads(store.get("data", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]))
    failed = json.loads(store.get("data", manifest["ResultFiles"]["FAILED"][0]["Key"]))
    assert sorted(json.loads(e["Output"]) for e in succeeded) == [1, 2]
    assert [(e["Error"], e["Cause"], e["Status"]) for e in failed] == [
        ("Three", "no threes", "FAILED")
    ]
    assert manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].endswith("SUCCEEDED_0.json")


def test_tolerated_failure_percentage_within_threshold(engine: Engine) -> None:
    definition = distributed(ToleratedFailurePercentage=34)
    definition["States"]["Map"]["ItemProcessor"]["States"] = {
        "Process": {"Type": "Fail", "Error": "Always"}
    }
    assert engine.run(definition, [1, 2, 3]).error == "States.ExceedToleratedFailureThreshold"
    definition["States"]["Map"]["ToleratedFailurePercentage"] = 100
    assert engine.run(definition, [1, 2, 3]).succeeded


def test_express_children_keep_no_history(engine: Engine) -> None:
    definition = distributed()
    definition["States"]["Map"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
    result = engine.run(definition, [1])
    run_arn = next(e for e in result.history if e["type"] == "MapRunStarted")[
        "mapRunStartedEventDetails"
    ]["mapRunArn"]
    child = engine.list_executions(map_run_arn=run_arn)[0]
    assert child.type == "EXPRESS" and engine.get_execution_history(child.arn) == []


# https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html: in JSONata
# states ItemReader and ResultWriter take Arguments, and their numeric fields take expressions.
def test_jsonata_reader_batcher_writer_and_tolerance(engine: Engine, store) -> None:
    store.put("data", "in/items.json", b"[1, 2, 3, 4, 5]")
    definition = distributed(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
            "Arguments": {"Bucket": "{% $bucket %}", "Key": "{% $states.input.key %}"},
        },
        ItemBatcher={
            "MaxItemsPerBatch": "{% $states.input.size %}",
            "BatchInput": {"tag": "{% $states.input.tag %}"},
        },
        ToleratedFailureCount="{% $states.input.tolerated %}",
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Arguments": {"Bucket": "{% $bucket %}", "Prefix": "{% 'out-' & $states.input.tag %}"},
        },
        Output="{% $states.result.ResultWriterDetails %}",
    )
    definition["QueryLanguage"] = "JSONata"
    definition["States"] = {
        "Setup": {"Type": "Pass", "Assign": {"bucket": "data"}, "Next": "Map"},
        **definition["States"],
    }
    definition["StartAt"] = "Setup"
    definition["States"]["Map"]["ItemProcessor"]["States"] = {
        "Process": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% 3 in $states.input.Items %}", "Next": "Broken"}],
            "Default": "Fine",
        },
        "Broken": {"Type": "Fail", "Error": "Three"},
        "Fine": {"Type": "Succeed", "Output": "{% $states.input.BatchInput.tag %}"},
    }
    result = engine.run(
        definition, {"key": "in/items.json", "max": 4, "size": 2, "tag": "t1", "tolerated": 1}
    )
    assert result.succeeded, result.cause
    assert result.output["Bucket"] == "data" and result.output["Key"].startswith("out-t1/")
    manifest = json.loads(store.get("data", result.output["Key"]))
    succeeded = json.loads(store.get("data", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]))
    assert [json.loads(e["Output"]) for e in succeeded] == ["t1"]  # batch [1, 2]
    failed = json.loads(store.get("data", manifest["ResultFiles"]["FAILED"][0]["Key"]))
    assert [json.loads(e["Input"])["Items"] for e in failed] == [[3, 4]]  # MaxItems cut item 5
