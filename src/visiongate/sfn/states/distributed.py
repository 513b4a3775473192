"""Distributed Map: child executions over items from the state input or the object store.

https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html

* ``ItemReader`` reads the items from the project's object store (visiongate.storage):
  ``arn:aws:states:::s3:getObject`` with ``ReaderConfig.InputType`` JSON (an array), JSONL or
  CSV (``CSVHeaderLocation`` FIRST_ROW or GIVEN with ``CSVHeaders``), or
  ``arn:aws:states:::s3:listObjectsV2`` (one item per object: ``Etag``, ``Key``,
  ``LastModified``, ``Size``, ``StorageClass``). ``MaxItems`` caps the count. Read errors
  fail the state with ``States.ItemReaderFailed``.
* ``ItemBatcher`` groups items: each child gets ``{"Items": [...], "BatchInput": ...}``.
* Each item (or batch) runs as a child execution (``ExecutionType`` STANDARD or EXPRESS) of a
  *Map Run*; children are stored as executions with the Map Run's ARN.
* ``ToleratedFailurePercentage``/``Count`` (and their ``...Path`` forms): more failures fail the
  state with ``States.ExceedToleratedFailureThreshold``.
* ``ResultWriter`` (``arn:aws:states:::s3:putObject``) writes ``manifest.json`` and
  ``SUCCEEDED_0.json``/``FAILED_0.json`` under ``Prefix/<map run id>/`` like AWS, and the state
  result becomes ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``.

In JSONata states ``ItemReader``/``ResultWriter`` take ``Arguments`` instead of ``Parameters``
and every numeric field (``MaxItems``, ``MaxItemsPerBatch``, ``MaxInputBytesPerBatch``,
``ToleratedFailure*``) and ``BatchInput`` may be a ``{% %}`` expression. Child executions do not
see the parent's variables ("Distributed Map states cannot reference variables in outer
scopes").
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from visiongate.sfn import paths
from visiongate.sfn.context import iso_millis
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps, payload_size
from visiongate.sfn.runtime import Aborted, Frame, run_concurrently
from visiongate.sfn.states.jsonpath_io import template_reader

if TYPE_CHECKING:
    from visiongate.sfn.states.map_ import MapState

_READER_FAILED = StatesErrorName.ITEM_READER_FAILED.value
_WRITER_FAILED = StatesErrorName.RESULT_WRITER_FAILED.value
_THRESHOLD = StatesErrorName.EXCEED_TOLERATED_FAILURE_THRESHOLD.value
_DEFAULT_CONCURRENCY = 1000
_CSV_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


class ToleranceExceeded(Exception):
    """More child executions failed than the Map tolerates."""


def _integer(value: Any, field: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or value != int(value)
    ):
        raise StatesError(
            StatesErrorName.RUNTIME,
            f"The {field} field refers to value '{dumps(value)}' which is not a valid non-negative integer.",
        )
    return int(value)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise StatesError(
            StatesErrorName.RUNTIME,
            f"The {field} field refers to value '{dumps(value)}' which is not a valid percentage.",
        )
    return float(value)


Getter = Callable[[Frame, Any, Any, Any], Any]  # (frame, raw, effective, context) -> value


def _dynamic(spec: dict[str, Any], field: str, data: Any, convert: Any, variables: Any) -> Any:
    if field in spec:
        return convert(spec[field], field)
    if f"{field}Path" in spec:
        return convert(paths.resolve(spec[f"{field}Path"], data, None, variables), f"{field}Path")
    return None


def numeric(
    state: MapState, spec: dict[str, Any], field: str, location: str, convert: Any
) -> Getter:
    """A numeric field: a literal or its ``...Path`` (JSONPath) or an expression (JSONata)."""
    if state.jsonata:
        compiled = state.io.field(spec, field, location)
        if compiled is None:
            return lambda frame, raw, effective, context: None
        return lambda frame, raw, effective, context: convert(
            compiled.value(state.io.env(frame, raw, context)), field
        )
    return lambda frame, raw, effective, context: _dynamic(
        spec, field, effective, convert, frame.scope
    )


def payload(
    state: MapState, spec: dict[str, Any], jsonpath: str, jsonata: str, where: str
) -> Getter:
    """A payload template (``Parameters`` / ``Arguments`` / ``BatchInput``); None when absent."""
    if state.jsonata:
        if jsonata not in spec:
            return None  # type: ignore[return-value]
        template = state.io.template(spec[jsonata], f"{where}/{jsonata}")
        return lambda frame, raw, effective, context: template.evaluate(
            state.io.env(frame, raw, context)
        )
    if jsonpath not in spec:
        return None  # type: ignore[return-value]
    reader, _ = template_reader(spec[jsonpath], jsonpath)
    return lambda frame, raw, effective, context: reader(effective, context, frame.scope)


class ItemReader:
    """Reads a Distributed Map's items from the object store."""

    def __init__(self, spec: dict[str, Any], state: MapState) -> None:
        self.resource = str(spec.get("Resource", ""))
        self.parameters = payload(state, spec, "Parameters", "Arguments", "ItemReader")
        self.config = dict(spec.get("ReaderConfig") or {})
        self.max_items = numeric(
            state, self.config, "MaxItems", "ItemReader/ReaderConfig/MaxItems", _integer
        )

    def read(self, store: Any, frame: Frame, raw: Any, data: Any, context: Any) -> list[Any]:
        parameters = (
            self.parameters(frame, raw, data, context) if self.parameters is not None else {}
        )
        if not isinstance(parameters, dict):
            raise StatesError(_READER_FAILED, "ItemReader Parameters must be an object")
        max_items = self.max_items(frame, raw, data, context)
        bucket = parameters.get("Bucket")
        try:
            if self.resource.endswith(":s3:listObjectsV2"):
                items = self._list(store, bucket, parameters.get("Prefix", ""), max_items)
            elif self.resource.endswith(":s3:getObject"):
                items = self._object(store, bucket, parameters.get("Key"))
            else:
                raise StatesError(
                    _READER_FAILED,
                    f"ItemReader resource '{self.resource}' is not supported: use "
                    "arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2",
                )
        except StatesError:
            raise
        except Exception as exc:  # the store's own errors (NoSuchBucket, NoSuchKey, ...)
            message = getattr(exc, "message", None) or str(exc)
            raise StatesError(_READER_FAILED, f"{type(exc).__name__}: {message}") from None
        if max_items:
            items = items[:max_items]
        return items

    @staticmethod
    def _list(store: Any, bucket: Any, prefix: Any, max_items: int | None) -> list[Any]:
        from visiongate.storage import iter_objects

        items = []
        for info in iter_objects(store, str(bucket), str(prefix or "")):
            etag = info.etag or ""
            items.append(
                {
                    "Etag": etag if etag.startswith('"') else f'"{etag}"',
                    "Key": info.key,
                    "LastModified": int(info.last_modified.timestamp()),
                    "Size": info.size,
                    "StorageClass": "STANDARD",
                }
            )
            if max_items and len(items) >= max_items:
                break
        return items

    def _object(self, store: Any, bucket: Any, key: Any) -> list[Any]:
        data = store.get(str(bucket), str(key))
        text = data.decode("utf-8-sig")
        input_type = str(self.config.get("InputType", "JSON")).upper()
        if input_type == "JSON":
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise StatesError(
                    _READER_FAILED, f"s3://{bucket}/{key} is not valid JSON: {exc}"
                ) from None
            if not isinstance(items, list):
                raise StatesError(_READER_FAILED, f"s3://{bucket}/{key} does not hold a JSON array")
            return items
        if input_type == "JSONL":
            items = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        items.append(json.loads(line))
                    except ValueError:
                        raise StatesError(
                            _READER_FAILED, f"s3://{bucket}/{key} line {number} is not valid JSON"
                        ) from None
            return items
        if input_type == "CSV":
            delimiter = _CSV_DELIMITERS.get(str(self.config.get("CSVDelimiter", "COMMA")), ",")
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
            if self.config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
                headers = list(self.config.get("CSVHeaders") or [])
            else:
                headers, rows = (rows[0], rows[1:]) if rows else ([], [])
            return [dict(zip(headers, row, strict=False)) for row in rows if row]
        raise StatesError(_READER_FAILED, f"ReaderConfig InputType '{input_type}' is not supported")


class DistributedMap:
    """The Distributed mode of a Map state."""

    def __init__(
        self, state: MapState, spec: dict[str, Any], processor: dict[str, Any], compiler: Any
    ) -> None:
        self.state = state
        self.spec = spec
        config = processor.get("ProcessorConfig") or {}
        self.execution_type = str(config.get("ExecutionType", "STANDARD"))
        self.processor_text = json.dumps(
            {k: v for k, v in processor.items() if k in ("StartAt", "States", "Comment")}
        )
        self.reader = ItemReader(spec["ItemReader"], state) if "ItemReader" in spec else None
        self.batcher = dict(spec.get("ItemBatcher") or {}) or None
        self.batch_input = None
        if self.batcher is not None:
            self.batch_input = payload(
                state, self.batcher, "BatchInput", "BatchInput", "ItemBatcher"
            )
            self.max_per_batch = numeric(
                state, self.batcher, "MaxItemsPerBatch", "ItemBatcher/MaxItemsPerBatch", _integer
            )
            self.max_bytes_per_batch = numeric(
                state,
                self.batcher,
                "MaxInputBytesPerBatch",
                "ItemBatcher/MaxInputBytesPerBatch",
                _integer,
            )
        self.writer = dict(spec.get("ResultWriter") or {}) or None
        self.writer_parameters = None
        if self.writer is not None:
            self.writer_parameters = payload(
                state, self.writer, "Parameters", "Arguments", "ResultWriter"
            )
        self.tolerated_count = numeric(
            state, spec, "ToleratedFailureCount", "ToleratedFailureCount", _integer
        )
        self.tolerated_percentage = numeric(
            state, spec, "ToleratedFailurePercentage", "ToleratedFailurePercentage", _number
        )
        state.needs_context = state.needs_context or state.io.needs_context
        self.label = spec.get("Label") or state.name

    # -- items ------------------------------------------------------------------------------

    def _batches(
        self, inputs: list[Any], frame: Frame, raw: Any, data: Any, context: Any
    ) -> list[Any]:
        max_items = self.max_per_batch(frame, raw, data, context)
        max_bytes = self.max_bytes_per_batch(frame, raw, data, context)
        batch_input = (
            self.batch_input(frame, raw, data, context) if self.batch_input is not None else None
        )
        batches: list[Any] = []
        current: list[Any] = []
        size = 0
        for item in inputs:
            item_size = payload_size(dumps(item))
            full = (max_items and len(current) >= max_items) or (
                max_bytes and current and size + item_size > max_bytes
            )
            if full:
                batches.append(current)
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(current)
        result = []
        for batch in batches:
            entry: dict[str, Any] = {}
            if batch_input is not None:
                entry["BatchInput"] = batch_input
            entry["Items"] = batch
            result.append(entry)
        return result

    # -- the Map Run ------------------------------------------------------------------------

    def attempt(self, frame: Frame, raw: Any, entered: str | None, retry_count: int) -> Any:
        state = self.state
        run = frame.run
        io_ = state.io
        context = state.context(frame, entered, retry_count)
        effective = io_.effective_input(raw, context, frame.scope)
        if self.reader is not None:
            reader_context = context or frame.context(state.name, entered, retry_count)
            items = self.reader.read(
                run.services.object_store(), frame, raw, effective, reader_context
            )
        else:
            items = state.items(frame, raw, effective, context)
        inputs = [
            state.item_input(frame, raw, effective, entered, retry_count, index, item)
            for index, item in enumerate(items)
        ]
        if self.batcher is not None:
            inputs = self._batches(inputs, frame, raw, effective, context)
        tolerated_count = self.tolerated_count(frame, raw, effective, context)
        tolerated_percentage = self.tolerated_percentage(frame, raw, effective, context)
        concurrency = state.concurrency(frame, raw, effective, context) or _DEFAULT_CONCURRENCY

        run_id = str(uuid.uuid4())
        map_run_arn = run.services.arns.map_run(run.state_machine_name, self.label, run_id)
        frame.emit("MapStateStarted", "mapStateStartedEventDetails", {"length": 0})
        frame.emit("MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": map_run_arn})
        run.flush()
        started = run.clock.time()
        total = len(inputs)
        counts = {"succeeded": 0, "failed": 0, "aborted": 0}
        lock = threading.Lock()
        record = {
            "arn": map_run_arn,
            "execution_arn": run.arn,
            "state_name": state.name,
            "label": self.label,
            "status": "RUNNING",
            "start_date": started,
            "stop_date": None,
            "max_concurrency": concurrency,
            "tolerated_failure_percentage": tolerated_percentage or 0.0,
            "tolerated_failure_count": tolerated_count or 0,
            "item_counts": json.dumps(self._counts(total, counts)),
            "execution_counts": json.dumps(self._counts(total, counts)),
        }
        run.store.upsert_map_run(record) if run.store is not None else None
        prior = run.prior_results.pop(state.name, None) if frame.top else None
        outcomes: list[dict[str, Any] | None] = [None] * total

        def exceeded() -> bool:
            failed = counts["failed"]
            if tolerated_count is None and tolerated_percentage is None:
                return failed > 0
            if tolerated_count is not None and failed > tolerated_count:
                return True
            return (
                tolerated_percentage is not None
                and total > 0
                and failed * 100 / total > tolerated_percentage
            )

        def child(index: int, stop: threading.Event) -> Any:
            if prior is not None and index in prior:
                outcome = {"status": "SUCCEEDED", "output": prior[index], "reused": True}
            else:
                outcome = run.services.run_map_child(
                    run,
                    state.block,
                    self.processor_text,
                    label=self.label,
                    map_run_arn=map_run_arn,
                    value=inputs[index],
                    express=self.execution_type == "EXPRESS",
                )
            outcomes[index] = outcome
            with lock:
                key = {"SUCCEEDED": "succeeded", "ABORTED": "aborted"}.get(
                    outcome["status"], "failed"
                )
                counts[key] += 1
                if exceeded():
                    raise ToleranceExceeded()
            return outcome

        try:
            run_concurrently(frame, total, child, concurrency=concurrency, threaded=True)
            failure = None
        except ToleranceExceeded:
            failure = StatesError(
                _THRESHOLD, "The specified tolerated failure threshold was exceeded"
            )
        except Aborted:
            self._finish(run, record, "ABORTED", total, counts)
            frame.prev = run.history.last_id
            frame.emit("MapRunAborted")
            raise
        succeeded = {
            i: o["output"]
            for i, o in enumerate(outcomes)
            if o is not None and o["status"] == "SUCCEEDED"
        }
        if frame.top:
            run.failed_results[state.name] = succeeded
        result: Any = None
        if failure is None:
            try:
                result = self._result(
                    frame, run, outcomes, map_run_arn, run_id, raw, effective, context
                )
            except StatesError as exc:
                failure = exc
        frame.prev = run.history.last_id
        if failure is not None:
            self._finish(run, record, "FAILED", total, counts)
            details = {"error": failure.error}
            if failure.cause:
                details["cause"] = failure.cause
            frame.emit("MapRunFailed", "mapRunFailedEventDetails", details)
            frame.emit("MapStateFailed")
            raise failure
        self._finish(run, record, "SUCCEEDED", total, counts)
        frame.emit("MapRunSucceeded")
        frame.emit_aside("MapStateSucceeded")
        return io_.finish(frame, raw, result, context)

    @staticmethod
    def _counts(total: int, counts: dict[str, int]) -> dict[str, int]:
        done = counts["succeeded"] + counts["failed"] + counts["aborted"]
        return {
            "pending": max(total - done, 0),
            "running": 0,
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "timedOut": 0,
            "aborted": counts["aborted"],
            "total": total,
            "resultsWritten": done,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        }

    def _finish(
        self, run: Any, record: dict[str, Any], status: str, total: int, counts: dict[str, int]
    ) -> None:
        if run.store is None:
            return
        record = dict(record)
        record["status"] = status
        record["stop_date"] = run.clock.time()
        record["item_counts"] = json.dumps(self._counts(total, counts))
        record["execution_counts"] = record["item_counts"]
        run.store.upsert_map_run(record)

    # -- results ----------------------------------------------------------------------------

    def _result(
        self,
        frame: Frame,
        run: Any,
        outcomes: list[Any],
        map_run_arn: str,
        run_id: str,
        raw: Any,
        data: Any,
        context: Any,
    ) -> Any:
        if self.writer is None:
            result = []
            for outcome in outcomes:
                if outcome is None:
                    continue
                if outcome["status"] == "SUCCEEDED":
                    result.append(json.loads(outcome["output"]))
                else:
                    result.append(
                        {"Error": outcome.get("error") or "", "Cause": outcome.get("cause") or ""}
                    )
            return result
        parameters = (
            self.writer_parameters(frame, raw, data, context) if self.writer_parameters else {}
        )
        bucket = str(parameters.get("Bucket", ""))
        prefix = str(parameters.get("Prefix", "")).strip("/")
        base = f"{prefix}/{run_id}" if prefix else run_id
        store = run.services.object_store()
        groups: dict[str, list[Any]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        for outcome in outcomes:
            if outcome is None:
                continue
            groups["SUCCEEDED" if outcome["status"] == "SUCCEEDED" else "FAILED"].append(
                self._entry(outcome)
            )
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        try:
            for status, entries in groups.items():
                if not entries:
                    continue
                key = f"{base}/{status}_0.json"
                body = json.dumps(entries).encode("utf-8")
                store.put(bucket, key, body, content_type="application/json")
                files[status].append({"Key": key, "Size": len(body)})
            manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
            manifest_key = f"{base}/manifest.json"
            store.put(
                bucket,
                manifest_key,
                json.dumps(manifest).encode("utf-8"),
                content_type="application/json",
            )
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise StatesError(_WRITER_FAILED, f"{type(exc).__name__}: {message}") from None
        return {
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        }

    @staticmethod
    def _entry(outcome: dict[str, Any]) -> dict[str, Any]:
        status = outcome["status"]
        entry: dict[str, Any] = {
            "ExecutionArn": outcome.get("arn", ""),
            "Input": outcome.get("input", ""),
            "InputDetails": {"Included": True},
            "Name": outcome.get("name", ""),
        }
        if status == "SUCCEEDED":
            entry["Output"] = outcome["output"]
            entry["OutputDetails"] = {"Included": True}
        else:
            entry["Error"] = outcome.get("error") or ""
            entry["Cause"] = outcome.get("cause") or ""
        entry.update(
            {
                "RedriveCount": 0,
                "RedriveStatus": "NOT_REDRIVABLE" if status == "SUCCEEDED" else "REDRIVABLE",
                "StartDate": outcome.get("start", ""),
                "StateMachineArn": outcome.get("state_machine_arn", ""),
                "Status": status,
                "StopDate": outcome.get("stop", ""),
            }
        )
        if status == "SUCCEEDED":
            entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
        return entry


__all__ = ["DistributedMap", "ItemReader", "iso_millis"]
