"""``run_batch`` end to end: real engine, real model server, local store, results file."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest

from visiongate.jobs.batch import BatchError, BatchOptions, BatchRun, run_batch
from visiongate.jobs.results import FAILED, SUCCEEDED, ResultRow, ResultsFile, read_results
from visiongate.jobs.runners import BATCHED_MACHINE, PER_IMAGE_MACHINE, make_engine


def endpoint_confidence(url: str, data: bytes) -> tuple[str, float]:
    """What the endpoint itself says about one image: (top label, its probability)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "image/png", "Accept": "application/json;verbose"}
    conn.request("POST", "/invocations", data, headers)
    answer = json.loads(conn.getresponse().read())
    return answer["predicted_label"], answer["probability"]


@pytest.fixture
def settings(settings, store, images, endpoint):
    """The threshold at the median confidence, so that some images pass and some do not."""
    confidences = sorted(
        {endpoint_confidence(endpoint.url, store.get("images", k))[1] for k in images}
    )
    assert len(confidences) >= 2, "the test images must get different confidences"
    middle = len(confidences) // 2
    return settings.with_(threshold=(confidences[middle - 1] + confidences[middle]) / 2)


def by_key(rows: list[ResultRow]) -> dict[str, ResultRow]:
    return {row.key: row for row in rows}


def test_every_image_under_the_prefix_gets_the_endpoints_answer_and_the_gates_verdict(
    settings, store, images, endpoint, tmp_path: Path
) -> None:
    out = tmp_path / "results.jsonl"
    report = run_batch(settings, BatchOptions("images", "in/", out=out, batch_size=5))
    tally = report.tally
    assert (tally.listed, tally.not_images, tally.todo, tally.done) == (13, 1, 12, 12)
    assert tally.executions == 3  # 12 images in batches of 5
    rows = by_key(read_results(out))
    assert sorted(rows) == images  # not notes.txt, not other/
    for key, row in rows.items():
        label, confidence = endpoint_confidence(endpoint.url, store.get("images", key))
        assert row.label == label
        assert row.confidence == pytest.approx(confidence, abs=1e-6)
        if confidence >= settings.threshold:
            assert (row.status, row.error) == (SUCCEEDED, None)
        else:
            assert (row.status, row.error) == (FAILED, "THRESHOLD_CONFIDENCE_NOT_MET")
        assert f":execution:{BATCHED_MACHINE}:" in row.execution_id
    assert tally.passed + tally.below_threshold == 12 and tally.errors == 0


def test_batched_and_per_image_runs_agree_image_by_image(settings, images, tmp_path) -> None:
    labels = ("bicycle", "motorcycle")
    batched = run_batch(settings, BatchOptions("images", "in/", batch_size=4, labels=labels))
    single = run_batch(
        settings, BatchOptions("images", "in/", mode="per-image", concurrency=3, labels=labels)
    )
    assert single.tally.executions == 12
    a, b = by_key(batched.rows), by_key(single.rows)
    assert sorted(a) == sorted(b) == images
    for key in images:
        assert (a[key].label, a[key].status, a[key].error) == (
            b[key].label,
            b[key].status,
            b[key].error,
        )
        assert a[key].confidence == pytest.approx(b[key].confidence, abs=1e-6)
        assert a[key].cause == b[key].cause  # the same gate message, word for word
        assert f":execution:{PER_IMAGE_MACHINE}:" in b[key].execution_id
    assert any(r.error == "THRESHOLD_CONFIDENCE_NOT_MET" for r in a.values())
    assert any(r.status == SUCCEEDED for r in a.values())


def test_an_interrupted_run_leaves_whole_rows_and_the_rerun_does_only_the_rest(
    settings, images, tmp_path: Path
) -> None:
    out = tmp_path / "results.csv"

    def interrupt_after_five(run: BatchRun, row: ResultRow) -> None:
        if run.tally.done == 5:
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    options = BatchOptions("images", "in/", out=out, batch_size=2, concurrency=1)
    first = run_batch(settings, options, on_result=interrupt_after_five)
    assert first.interrupted
    written = read_results(out)
    assert len(written) == 5  # the interrupted batch's other row was not recorded
    assert len({r.key for r in written}) == 5

    second = run_batch(settings, options)
    assert not second.interrupted
    assert second.tally.skipped == 5 and second.tally.done == 7
    final = read_results(out)
    assert sorted(r.key for r in final) == images  # every image exactly once
    assert {r.key: r for r in written}.items() <= {r.key: r for r in final}.items()


def test_force_redoes_images_and_errors_of_the_surroundings_are_retried(
    settings, images, tmp_path: Path
) -> None:
    out = tmp_path / "results.jsonl"
    seeded = ResultsFile(out)
    seeded.add(ResultRow("images", images[0], "0", 0.99, SUCCEEDED, execution_id="old"))
    seeded.add(ResultRow("images", images[1], None, None, FAILED, "EndpointError", "down", "old"))
    seeded.flush(force=True)

    report = run_batch(settings, BatchOptions("images", "in/", out=out))
    assert report.tally.skipped == 1  # the success; the endpoint error is tried again
    rows = by_key(read_results(out))
    assert rows[images[0]].execution_id == "old"
    assert rows[images[1]].execution_id != "old"

    forced = run_batch(settings, BatchOptions("images", "in/", out=out, force=True))
    assert forced.tally.skipped == 0 and forced.tally.done == 12
    assert by_key(read_results(out))[images[0]].execution_id != "old"


def test_an_unreachable_endpoint_fails_the_batch_after_its_retries(settings, images) -> None:
    down = settings.with_(endpoint_url="http://127.0.0.1:9")  # the discard port: refused
    engine = make_engine(down, fast_time=True)  # Retry intervals take no real time
    try:
        options = BatchOptions("images", "in/", batch_size=6)
        report = run_batch(down, options, engine=engine, check=False)  # it died mid-run
        execution = engine.describe_execution(report.rows[0].execution_id)
        history = engine.get_execution_history(execution.arn)
    finally:
        engine.close()
    assert report.tally.errors == 12
    assert {(r.status, r.error) for r in report.rows} == {(FAILED, "EndpointError")}
    assert "cannot reach endpoint" in report.rows[0].cause
    failures = [e for e in history if e["type"] == "TaskFailed"]
    assert len(failures) == 3  # the first attempt and two retries, as the definition says
    assert not report.rows[0].final  # a later run tries these images again


def test_a_batch_without_a_listening_endpoint_stops_before_any_work(settings, images) -> None:
    down = settings.with_(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(BatchError, match="no endpoint is listening at http://127.0.0.1:9") as err:
        run_batch(down, BatchOptions("images", "in/"))
    assert "visiongate serve" in err.value.hint


def test_missing_bucket_and_bad_options_are_clear_errors(settings) -> None:
    with pytest.raises(BatchError, match="bucket 'nope' does not exist"):
        run_batch(settings, BatchOptions("nope"))
    with pytest.raises(BatchError, match="concurrency 0"):
        BatchOptions("images", concurrency=0).validate()
    with pytest.raises(BatchError, match="mode 'sideways'"):
        BatchOptions("images", mode="sideways").validate()


class Execution:
    def __init__(self, arn: str, status: str, output: dict | None = None) -> None:
        self.arn, self.status = arn, status
        self.output = json.dumps(output) if output is not None else None
        self.error = self.cause = None


class HangingRunner:
    """A runner whose second execution runs until it is stopped (abandoned)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.stopped: list[str] = []

    def open(self) -> str:
        return "arn:aws:states:us-east-1:123456789012:stateMachine:fake"

    def execute(self, name: str, payload: dict) -> Execution:
        if name.endswith("00000"):
            items = [
                {"s3_key": i["Key"], "inferences": [0.9, 0.1], "passed": True}
                for i in payload["Items"]
            ]
            return Execution(
                f"arn:{name}", SUCCEEDED, {"statusCode": 200, "body": {"items": items}}
            )
        assert self.released.wait(10), "the run never abandoned this execution"
        return Execution(f"arn:{name}", "ABORTED")

    def stop(self, name: str) -> None:
        self.stopped.append(name)
        self.released.set()

    def inferences(self, execution):
        return None

    def close(self, abandon: bool = False) -> None:
        pass


def test_abandoning_stops_executions_in_flight_and_records_nothing_for_them(
    settings, images, tmp_path: Path
) -> None:
    runner = HangingRunner()

    def abandon_at_first_result(run: BatchRun, row: ResultRow) -> None:
        run.request_stop(abandon=True)

    out = tmp_path / "r.jsonl"
    report = BatchRun(
        settings,
        BatchOptions("images", "in/", out=out, batch_size=6, concurrency=2),
        runner=runner,
        on_result=abandon_at_first_result,
    ).run()
    assert report.interrupted
    assert len(runner.stopped) >= 1 and runner.stopped[0].endswith("00001")
    assert report.tally.abandoned == 6 and report.tally.done == 6
    assert len(read_results(out)) == 6
