"""InvokeEndpoint for many images at once: concurrent requests, one answer or error per image.

Where the request goes is decided exactly as the ``classify`` function decides it
(:func:`visiongate.functions.classify.explicit_endpoint_url`). Two transports:

* **A loopback endpoint** (the local model server): a keep-alive ``http.client`` connection
  per worker thread sends ``POST /endpoints/{name}/invocations`` — the InvokeEndpoint REST
  request boto3 would send (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html),
  unsigned as boto3 sends it to loopback. Measured on 2 cores, botocore's request pipeline
  costs more CPU per image than the model (135 vs 281 img/s for the whole batched
  workflow, see docs/jobs.md), so the local path skips it.
* **Anything else** (real SageMaker, on Lambda, a custom ``AWS_ENDPOINT_URL``): boto3's
  ``sagemaker-runtime`` client from ``classify``, the same requests from a thread pool.

Errors are split by who caused them. 4xx answers (``ValidationError`` — e.g. an image the
model cannot decode —, ``ModelError``) belong to that image: :class:`ItemFailed`. An
unreachable endpoint, 5xx, throttling or "not ready" belong to the endpoint: they raise
:class:`~visiongate.functions.errors.EndpointError` for the whole batch, which the workflow's
Retry handles and a later run resumes.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from visiongate.config import Settings
from visiongate.functions.errors import EndpointError
from visiongate.functions.net import is_loopback_url

WORKERS = 16  # requests in flight per process; the server batches them into model calls
TIMEOUT = 65.0  # seconds, as the classify function's read timeout
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str
    inference_id: str | None = None


@dataclass(frozen=True)
class ItemFailed:
    """The endpoint refused this one image (a 4xx answer)."""

    code: str
    message: str


Answer = bytes | ItemFailed


def workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="vg-invoke")
        return _pool


def endpoint_target(settings: Settings, environ: dict[str, str] | None = None) -> str | None:
    """The URL requests go to, or None when boto3 chooses (real SageMaker)."""
    from visiongate.functions.classify import boto_endpoint_from_env, explicit_endpoint_url

    environ = dict(os.environ) if environ is None else environ
    return explicit_endpoint_url(settings, environ) or boto_endpoint_from_env(environ) or None


def local_endpoint_url(settings: Settings) -> str | None:
    """The endpoint's URL when it is a local model server (plain HTTP on loopback), else None."""
    url = endpoint_target(settings)
    if url and urlsplit(url).scheme == "http" and is_loopback_url(url):
        return url
    return None


class LoopbackClient:
    """Keep-alive HTTP/1.1 to the local model server, one connection per thread."""

    def __init__(self, url: str, endpoint_name: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = f"/endpoints/{quote(endpoint_name, safe='')}/invocations"
        self.endpoint_name = endpoint_name
        self._local = threading.local()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self._local.conn = conn
        return conn

    def invoke(self, request: Request, accept: str) -> Answer:
        headers = {"Content-Type": request.content_type, "Accept": accept}
        if request.inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = request.inference_id
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request("POST", self.path, body=request.body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._local.conn = None
                if attempt:  # a stale keep-alive connection gets one fresh retry
                    raise EndpointError(
                        f"cannot reach endpoint {self.endpoint_name!r} at {self.url}: {exc}",
                        hint="is the model server running (`visiongate serve`)? Check "
                        "endpoint.url / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                        code="ConnectionError",
                    ) from None
        if response.status == 200:
            return payload
        code, message = _error_of(response, payload)
        if 400 <= response.status < 500 and response.status != 429:
            return ItemFailed(code, message)
        raise EndpointError(
            f"endpoint {self.endpoint_name!r} at {self.url} failed with {code}: {message}",
            hint="a transient condition: retry later (the batch workflow retries EndpointError)",
            code=code,
        )


def _error_of(response: http.client.HTTPResponse, payload: bytes) -> tuple[str, str]:
    code = response.getheader("x-amzn-ErrorType") or f"HTTP{response.status}"
    message = payload[:300].decode("utf-8", "replace")
    try:
        document = json.loads(payload)
        if isinstance(document, dict):
            message = str(document.get("Message") or document.get("message") or message)
    except ValueError:
        pass
    return code.split(":")[0], message


class BotoClient:
    """boto3's sagemaker-runtime client (real SageMaker, Lambda, custom endpoint URLs)."""

    def __init__(self, settings: Settings, endpoint_name: str) -> None:
        from visiongate.functions.classify import sagemaker_runtime

        self.client = sagemaker_runtime(settings)
        self.url = self.client.meta.endpoint_url
        self.endpoint_name = endpoint_name

    def invoke(self, request: Request, accept: str) -> Answer:
        from botocore.exceptions import BotoCoreError, ClientError

        params: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "ContentType": request.content_type,
            "Accept": accept,
            "Body": request.body,
        }
        if request.inference_id:
            params["InferenceId"] = request.inference_id
        try:
            return self.client.invoke_endpoint(**params)["Body"].read()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "Unknown")), str(error.get("Message", ""))
            if 400 <= int(status) < 500 and int(status) != 429:
                return ItemFailed(code, message)
            raise EndpointError(
                f"endpoint {self.endpoint_name!r} at {self.url} failed with {code}: {message}",
                hint="a transient condition: retry later",
                code=code,
            ) from None
        except BotoCoreError as exc:
            raise EndpointError(
                f"calling endpoint {self.endpoint_name!r} at {self.url} failed: {exc}",
                hint="check the endpoint URL, the network and the AWS credentials",
                code=type(exc).__name__,
            ) from None


def client_for(settings: Settings, endpoint_name: str) -> LoopbackClient | BotoClient:
    url = local_endpoint_url(settings)
    if url is not None:
        return LoopbackClient(url, endpoint_name)
    return BotoClient(settings, endpoint_name)


def invoke_many(
    client: LoopbackClient | BotoClient,
    requests: Sequence[Request],
    accept: str = "application/json",
    pool: ThreadPoolExecutor | None = None,
) -> list[Answer]:
    """One answer (bytes) or ItemFailed per request, in order; EndpointError for the batch."""
    call: Callable[[Request], Answer] = lambda r: client.invoke(r, accept)  # noqa: E731
    if len(requests) <= 1:
        return [call(r) for r in requests]
    return list((pool or workers()).map(call, requests))
