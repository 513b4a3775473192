"""``visiongate serve``: the SageMaker-compatible model server (see docs/serving.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from visiongate.cli.common import console, settings


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    model: Path = typer.Option(
        ..., "--model", "-m", help="Model directory (model.onnx + model.json)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8080, help="Port (SageMaker's is 8080; 0 picks a free one)."),
    name: str = typer.Option(
        None,
        "--name",
        help="Endpoint name for /endpoints/{name}/invocations (default: the settings' endpoint name).",
    ),
    capture: str = typer.Option(
        None,
        "--capture",
        help="Data capture destination, s3://bucket/prefix in the configured store.",
    ),
    capture_percent: float = typer.Option(
        100.0, "--capture-percent", help="Share of requests captured, 0-100."
    ),
    max_batch_size: int = typer.Option(
        16, "--max-batch-size", help="Most images per onnxruntime call."
    ),
    max_wait_ms: float = typer.Option(
        2.0, "--max-wait-ms", help="Longest a request waits for batch-mates."
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        help="Batches run in parallel, one inference thread each (default: cores).",
    ),
    threads: int = typer.Option(
        None, "--threads", help="onnxruntime intra-op threads per batch (default: cores / workers)."
    ),
    max_body_mb: float = typer.Option(
        None,
        "--max-body-mb",
        help="Largest request body in MiB (default: 6 MiB, settings max_image_bytes).",
    ),
    request_timeout: float = typer.Option(
        10.0, "--request-timeout", help="Seconds a client has to send a whole request."
    ),
) -> None:
    """Serve a model with SageMaker's protocol: GET /ping, POST /invocations,
    POST /endpoints/{name}/invocations (boto3 invoke_endpoint), GET /metrics.

    Concurrent requests are batched; SIGTERM or Ctrl-C drains in-flight requests, then exits.

    Example: visiongate serve --model .visiongate/models/latest --port 8080 --capture s3://captures/datacapture
    """
    from visiongate.serving.batching import BatchConfig
    from visiongate.serving.capture import CaptureConfig
    from visiongate.serving.http import HttpLimits
    from visiongate.serving.model import available_cores
    from visiongate.serving.server import ServerConfig, run
    from visiongate.storage import open_store

    conf = settings(ctx)
    cores = available_cores()
    endpoint = name or conf.endpoint_name
    max_body = int(max_body_mb * 1024 * 1024) if max_body_mb else conf.max_image_bytes
    capture_config = CaptureConfig(capture, endpoint, percent=capture_percent) if capture else None
    config = ServerConfig(
        model_dir=model,
        host=host,
        port=port,
        endpoint_name=endpoint,
        capture=capture_config,
        batch=BatchConfig(max_batch_size, max_wait_ms / 1000.0, concurrency=workers or cores),
        http=HttpLimits(max_body_bytes=max_body, request_timeout=request_timeout),
        threads=threads,
        database=conf.database,
    )

    def ready(server) -> None:  # noqa: ANN001 - ModelServer, imported lazily
        url = f"http://{host}:{server.port}"
        m = server.model
        console.print(
            f"[bold green]serving[/] model [bold]{m.name}[/] ({', '.join(m.classes)}) "
            f"as endpoint [bold]{endpoint}[/] at {url}",
            highlight=False,
        )
        console.print(f"  boto3: export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={url}", highlight=False)
        if capture_config:
            console.print(
                f"  capture: {capture_percent:g}% of requests to {capture}", highlight=False
            )
        console.print("  Ctrl-C or SIGTERM drains and stops", style="dim")

    run(config, store=open_store(conf) if capture_config else None, on_ready=ready)
