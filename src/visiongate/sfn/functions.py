"""Local Lambda functions: names and ARNs map to Python handlers only through configuration.

A definition names functions (``"FunctionName": "classify"``, ``arn:aws:lambda:...:function:
classify``); :class:`FunctionRegistry` turns that name into a handler *only* if the user's
configuration (``Settings.functions`` / ``[functions]`` in visiongate.toml, or
``Engine(functions=...)``) lists it. A definition can therefore never make the engine import
or run arbitrary code: an unlisted name fails with Lambda's own
``Lambda.ResourceNotFoundException``.

A handler is called like the Lambda Python runtime calls it: ``handler(event, context)`` with a
JSON round-tripped event and a :class:`LambdaContext`; an exception becomes Lambda's error
document ``{"errorMessage", "errorType", "stackTrace"}`` (errorType = the exception's class
name); a result that is not JSON becomes ``Runtime.MarshalError``. Log records a handler emits
through :mod:`logging` are captured per invocation and passed to every callback in
``FunctionRegistry.log_listeners`` (``visiongate.monitor`` subscribes to store them).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from visiongate.sfn.errors import StatesError

Handler = Callable[[Any, Any], Any]
LogListener = Callable[[dict[str, Any]], None]

# Listeners for the log records of every engine in this process (e.g. visiongate.monitor):
# ``GLOBAL_LOG_LISTENERS.append(callback)``; per-engine ones go in ``Engine.on_function_log``.
GLOBAL_LOG_LISTENERS: list[LogListener] = []

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_TIMEOUT_SECONDS = 900  # Lambda's maximum; the local function has no smaller setting

_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):function:"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)
_PARTIAL_ARN = re.compile(
    r"^(?P<account>[0-9]{12}):function:(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)
_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_-]{1,140})(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$")


class FunctionError(Exception):
    """A handler failed; ``payload`` is Lambda's error document (a dict)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload

    @property
    def error_type(self) -> str:
        return str(self.payload.get("errorType", "Exception"))


def parse_function_name(name_or_arn: Any) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, ``name:alias``, a partial or a full ARN."""
    text = str(name_or_arn)
    for pattern in (_FUNCTION_ARN, _PARTIAL_ARN, _NAME):
        match = pattern.match(text)
        if match:
            return match.group("name"), match.group("qualifier")
    raise StatesError(
        "Lambda.InvalidParameterValueException",
        f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
        "(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))? "
        "(Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException)",
    )


@dataclass
class LambdaContext:
    """The ``context`` argument of a Lambda handler (the attributes the Python runtime has)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    deadline: float = field(default=0.0, repr=False)  # time.monotonic() deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """One configured function: its name, ARN and handler ("module:attr" or a callable)."""

    name: str
    arn: str
    target: str | Handler
    _handler: Handler | None = field(default=None, repr=False)

    def handler(self) -> Handler:
        """Import the configured handler (only ever a configured "module:attr")."""
        if self._handler is not None:
            return self._handler
        if callable(self.target):
            self._handler = self.target
            return self._handler
        module_name, _, attr = str(self.target).partition(":")
        attr = attr or "handler"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # Lambda reports any import failure this way
            raise FunctionError(
                {
                    "errorMessage": f"Unable to import module '{module_name}': {exc}",
                    "errorType": "Runtime.ImportModuleError",
                    "stackTrace": [],
                }
            ) from None
        handler = module
        for part in attr.split("."):
            handler = getattr(handler, part, None)
            if handler is None:
                raise FunctionError(
                    {
                        "errorMessage": f"Handler '{attr}' missing on module '{module_name}'",
                        "errorType": "Runtime.HandlerNotFound",
                        "stackTrace": [],
                    }
                )
        if not callable(handler):
            raise FunctionError(
                {
                    "errorMessage": f"Handler '{attr}' on module '{module_name}' is not callable",
                    "errorType": "Runtime.HandlerNotFound",
                    "stackTrace": [],
                }
            )
        self._handler = handler
        return handler


def error_document(exc: BaseException) -> dict[str, Any]:
    """Lambda's Python-runtime error payload for an exception raised by a handler."""
    tb = exc.__traceback__
    # Skip the frame of our own call site: the trace starts in the handler, as on Lambda.
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(tb)),
    }


def function_environment(settings: Any, region: str) -> dict[str, str]:
    """The environment local handlers expect, derived from the engine's settings."""
    env = {
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }
    if settings is None:
        return env
    env["VISIONGATE_HOME"] = str(settings.home)
    env["VISIONGATE_STORE_BACKEND"] = str(settings.store_backend)
    if getattr(settings, "store_root", None) is not None:
        env["VISIONGATE_STORE_ROOT"] = str(settings.store_root)
    env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = str(settings.endpoint_url)
    env["ENDPOINT"] = str(settings.endpoint_name)
    env["THRESHOLD"] = str(settings.threshold)
    return env


def prepare_environment(settings: Any, region: str = DEFAULT_REGION) -> None:
    """The one place that sets the process environment for local handlers.

    Only variables that are not already set are filled in, so an explicit environment (a real
    endpoint URL, another store root) always wins over the engine's settings.
    """
    for name, value in function_environment(settings, region).items():
        os.environ.setdefault(name, value)


class _Invocation(threading.local):
    current: dict[str, Any] | None = None


class _CaptureHandler(logging.Handler):
    """Routes log records emitted during an invocation (same thread) to the listeners."""

    def __init__(self, registry: FunctionRegistry) -> None:
        super().__init__(level=logging.NOTSET)
        self.registry = registry

    def emit(self, record: logging.LogRecord) -> None:
        invocation = self.registry._invocation.current
        if invocation is None:
            # Keep Python's default behaviour for everything else: with no other handler on
            # the root logger, warnings would otherwise be silently swallowed.
            root = logging.getLogger()
            if len(root.handlers) == 1 and record.levelno >= logging.WARNING:
                last_resort = logging.lastResort
                if last_resort is not None:
                    last_resort.handle(record)
            return
        entry = dict(invocation)
        entry.update(
            timestamp=record.created,
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
        )
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        self.registry._dispatch(entry)


class FunctionRegistry:
    """Configured function name -> :class:`LocalFunction`; invokes handlers like Lambda does."""

    def __init__(
        self,
        functions: Mapping[str, str | Handler] | None = None,
        *,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.region = region
        self.account = account
        self._functions: dict[str, LocalFunction] = {}
        self.log_listeners: list[LogListener] = []
        self._invocation = _Invocation()
        self._capture: _CaptureHandler | None = None
        self._capture_lock = threading.Lock()
        for name, target in (functions or {}).items():
            self.register(name, target)

    def register(self, name: str, target: str | Handler) -> None:
        """Add (or replace) a function; ``target`` is "module:handler" or a callable."""
        function_name, _ = parse_function_name(name)
        self._functions[function_name] = LocalFunction(
            name=function_name, arn=self.arn(function_name), target=target
        )

    def names(self) -> list[str]:
        return sorted(self._functions)

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def resolve(self, name_or_arn: Any) -> LocalFunction:
        name, _qualifier = parse_function_name(name_or_arn)
        function = self._functions.get(name)
        if function is None:
            request_id = str(uuid.uuid4())
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {self.arn(name)} (Service: AWSLambda; Status Code: 404; "
                f"Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
            )
        return function

    # -- invocation -------------------------------------------------------------------------

    def invoke(
        self,
        function: LocalFunction,
        event: Any,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call the handler with a JSON copy of ``event``; returns its JSON result.

        Raises :class:`FunctionError` with Lambda's error document when the handler fails.
        ``tags`` (execution ARN, state name, ...) are added to every captured log record.
        """
        request_id = request_id or str(uuid.uuid4())
        payload = json.loads(json.dumps(event))
        budget = timeout if timeout is not None else DEFAULT_TIMEOUT_SECONDS
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=function.arn,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function.name}",
            log_stream_name=(f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"),
            deadline=time.monotonic() + budget,
        )
        handler = function.handler()
        invocation = {
            "function_name": function.name,
            "request_id": request_id,
            **(dict(tags) if tags else {}),
        }
        capturing = bool(self.log_listeners or GLOBAL_LOG_LISTENERS)
        if capturing:
            self._install_capture()
            self._emit_platform(invocation, f"START RequestId: {request_id} Version: $LATEST")
        started = time.perf_counter()
        previous = self._invocation.current
        self._invocation.current = invocation if capturing else None
        try:
            result = handler(payload, context)
        except Exception as exc:
            raise FunctionError(error_document(exc)) from None
        finally:
            self._invocation.current = previous
            if capturing:
                elapsed = (time.perf_counter() - started) * 1000
                self._emit_platform(invocation, f"END RequestId: {request_id}")
                self._emit_platform(
                    invocation,
                    f"REPORT RequestId: {request_id}\tDuration: {elapsed:.2f} ms\t"
                    f"Billed Duration: {max(1, round(elapsed))} ms\tMemory Size: 128 MB",
                )
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            raise FunctionError(
                {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
            ) from None

    # -- log capture ------------------------------------------------------------------------

    def _install_capture(self) -> None:
        if self._capture is not None:
            return
        with self._capture_lock:
            if self._capture is None:
                self._capture = _CaptureHandler(self)
                logging.getLogger().addHandler(self._capture)

    def close(self) -> None:
        """Detach the log-capture handler from the root logger."""
        if self._capture is not None:
            logging.getLogger().removeHandler(self._capture)
            self._capture = None

    def _emit_platform(self, invocation: dict[str, Any], message: str) -> None:
        entry = dict(invocation)
        entry.update(timestamp=time.time(), level="INFO", logger="lambda", message=message)
        self._dispatch(entry)

    def _dispatch(self, entry: dict[str, Any]) -> None:
        previous = self._invocation.current
        self._invocation.current = None  # a listener's own logging is not the function's
        try:
            for listener in [*self.log_listeners, *GLOBAL_LOG_LISTENERS]:
                try:
                    listener(entry)
                except Exception:  # a broken listener must never fail an execution
                    logging.getLogger(__name__).exception("function log listener failed")
        finally:
            self._invocation.current = previous
