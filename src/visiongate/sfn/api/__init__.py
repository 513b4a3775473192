"""A Step Functions-compatible HTTP API over the embedded engine (``visiongate stepfunctions``).

Laid out like a moto service:

    urls.py        routing (X-Amz-Target), no logic
    responses.py   one handler per action: request members in, response members out
    backend.py     state and logic over the engine, no HTTP (machines.py, executions.py,
                   teststate.py, engines.py, definitions.py, pagination.py, arns.py)
    exceptions.py  one class per AWS error code, and the one place errors become responses
    shapes.py      request validation against botocore's service model
    server.py      the HTTP server
    coverage.py    the generated table of implemented actions
"""

from visiongate.sfn.api.backend import StepFunctionsBackend
from visiongate.sfn.api.server import StepFunctionsServer, make_server, serve_in_thread

__all__ = ["StepFunctionsBackend", "StepFunctionsServer", "make_server", "serve_in_thread"]
