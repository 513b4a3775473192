"""A real HTTP server on 127.0.0.1 that answers like SageMaker Runtime's InvokeEndpoint.

    POST /endpoints/{EndpointName}/invocations
    -> 200 with the model's body, header X-Amzn-Invoked-Production-Variant
    -> errors as JSON {"ErrorCode", "Message", ...} with header x-amzn-ErrorType, which
       botocore turns into ClientError codes (ModelError, ValidationError, ...)

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
An endpoint nobody registered answers 400 ValidationError "Endpoint X of account Y not
found.", as SageMaker does. Tests point boto3 at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.sagemaker/"


@dataclass
class Invocation:
    endpoint: str
    content_type: str
    accept: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeSageMakerRuntime:
    """Register answers per endpoint name; read back what each invocation sent."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self._answers: dict[str, Answer] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice, up to one interval.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeSageMakerRuntime:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- scripting ---------------------------------------------------------------
    def model(self, name: str, probabilities: object) -> None:
        """The endpoint answers 200 with ``probabilities`` as JSON."""
        self.answer(name, 200, json.dumps(probabilities).encode(), "application/json")

    def answer(
        self, name: str, status: int, body: bytes, content_type: str = "application/json"
    ) -> None:
        headers = {"Content-Type": content_type}
        if status == 200:
            headers["X-Amzn-Invoked-Production-Variant"] = "AllTraffic"
        self._answers[name] = Answer(status, body, headers)

    def fail(self, name: str, status: int, code: str, message: str, **extra: object) -> None:
        """The endpoint answers an AWS error: JSON body plus the x-amzn-ErrorType header."""
        body = json.dumps({"ErrorCode": code, "Message": message, **extra}).encode()
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": code + _ERROR_TYPE_SUFFIX,
        }
        self._answers[name] = Answer(status, body, headers)

    # -- the server --------------------------------------------------------------
    def _respond_to(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        match = _PATH.match(path)
        if not match:
            return Answer(404, b'{"message": "not found"}', {"Content-Type": "application/json"})
        name = unquote(match.group(1))
        self.invocations.append(
            Invocation(
                endpoint=name,
                content_type=headers.get("content-type", ""),
                accept=headers.get("accept", ""),
                body=body,
                headers=headers,
            )
        )
        if name not in self._answers:
            body = json.dumps(
                {
                    "ErrorCode": "ValidationError",
                    "Message": f"Endpoint {name} of account 123456789012 not found.",
                }
            ).encode()
            return Answer(
                400,
                body,
                {
                    "Content-Type": "application/json",
                    "x-amzn-ErrorType": "ValidationError" + _ERROR_TYPE_SUFFIX,
                },
            )
        return self._answers[name]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = fake._respond_to(self.path, headers, body)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        return Handler
