"""The SageMaker-compatible model server (``visiongate serve``; docs/serving.md).

model.py            load a model directory; predict a batch (onnxruntime, never torch)
codec.py            decode the body by Content-Type; encode the answer by Accept
batching.py         group concurrent requests into one model call
http.py             a small strict HTTP/1.1 server on asyncio
config.py           ServerConfig: every setting, validated once
server.py           routes (/ping, /invocations, /endpoints/{name}/invocations, /metrics)
capture.py          SageMaker Data Capture records, written off the request path
metrics.py          Prometheus text with CloudWatch names
metrics_history.py  per-minute aggregates in SQLite for the dashboard
errors.py           SageMaker Runtime's error codes
"""
