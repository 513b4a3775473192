"""The HTTP server: AWS JSON 1.0 requests in, JSON responses out, errors in AWS's shape.

    backend = StepFunctionsBackend(settings)
    server = make_server(backend, "127.0.0.1", 8083)      # port 0: any free port
    server.serve_forever()

    boto3.client("stepfunctions", endpoint_url=server.url, region_name="us-east-1",
                 config=botocore.config.Config(inject_host_prefix=False))

Each request: size check → route (X-Amz-Target, Content-Type) → JSON object → member
validation against botocore's model → handler → JSON. Any exception becomes an AWS error body
in :func:`visiongate.sfn.api.exceptions.error_response`; a client mistake is never a 500.
The region of new ARNs is the one the client signed for (SigV4 credential scope); any
credentials are accepted.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from visiongate.sfn.api import urls
from visiongate.sfn.api.backend import StepFunctionsBackend
from visiongate.sfn.api.exceptions import (
    RequestTooLarge,
    SerializationException,
    error_response,
)
from visiongate.sfn.api.responses import StepFunctionsResponse
from visiongate.sfn.api.shapes import validate_request

log = logging.getLogger(__name__)

# A definition is at most 1 MiB; JSON escaping can double it. Anything larger is not a request.
MAX_BODY_BYTES = 4 * 1024 * 1024
CONTENT_TYPE = "application/x-amz-json-1.0"
_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")


def request_region(headers: Any, default: str) -> str:
    """The region of the request's SigV4 credential scope (``default`` when unsigned)."""
    match = _REGION.search(headers.get("Authorization") or "")
    return match.group(1) if match else default


def parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SerializationException("The request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object")
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "visiongate-stepfunctions"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK would
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: StepFunctionsServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                raise SerializationException("Malformed chunked request body") from None
            if size == 0:
                self.rfile.readline(1024)  # the empty trailer line
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                self.close_connection = True
                raise RequestTooLarge(
                    f"The request body exceeds the maximum of {MAX_BODY_BYTES} bytes"
                )
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # CRLF after each chunk

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text else 0
        except ValueError:
            self.close_connection = True
            raise SerializationException("Content-Length is not a number") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body must not be taken for a request
            raise RequestTooLarge(
                f"The request body of {length} bytes exceeds the maximum of {MAX_BODY_BYTES} bytes"
            )
        return self.rfile.read(length) if length else b""

    def _handle(self) -> tuple[int, bytes, dict[str, str]]:
        try:
            body = self._read_body()
            action = urls.route(self.headers)
            params = validate_request(action, parse_body(body))
            region = request_region(self.headers, self.server.backend.default_region)
            result = self.server.responses.dispatch(action, params, region)
            payload = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
            return 200, payload.encode("utf-8"), {}
        except Exception as exc:  # noqa: BLE001 - every error becomes an AWS error body
            status, headers, payload = error_response(exc)
            if status >= 500:
                log.exception(
                    "internal error while handling %s", self.headers.get(urls.TARGET_HEADER)
                )
            return status, payload, headers

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        status, body, headers = self._handle()
        self._send(status, body, headers)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?")[0] in ("/health", "/_health"):
            self._send(200, b'{"status":"running","service":"states"}')
            return
        self._not_an_operation()

    def _not_an_operation(self) -> None:
        self.close_connection = True
        status, headers, body = error_response(
            urls.UnknownOperationException(
                f"{self.command} is not supported: send POST / with an X-Amz-Target header"
            )
        )
        self._send(status, body, headers)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_an_operation  # noqa: N815


class StepFunctionsServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one backend."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: StepFunctionsBackend) -> None:
        self.backend = backend
        self.responses = StepFunctionsResponse(backend)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(
    backend: StepFunctionsBackend, host: str = "127.0.0.1", port: int = 8083
) -> StepFunctionsServer:
    return StepFunctionsServer((host, port), backend)


def serve_in_thread(
    backend: StepFunctionsBackend, host: str = "127.0.0.1", port: int = 0
) -> StepFunctionsServer:
    """Start a server on a background thread (tests, notebooks); call ``shutdown()`` to stop."""
    server = make_server(backend, host, port)
    thread = threading.Thread(target=server.serve_forever, name="vg-sfn-api", daemon=True)
    thread.start()
    return server
