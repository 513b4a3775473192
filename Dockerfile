# The visiongate model server as a SageMaker bring-your-own inference container.
#
#   docker build -t visiongate-serve .
#   docker run --rm -p 8080:8080 -v "$PWD/model:/opt/ml/model:ro" visiongate-serve serve
#
# SageMaker runs `docker run IMAGE serve`, mounts the model artefacts at /opt/ml/model and
# talks to port 8080 (GET /ping, POST /invocations). The exec-form ENTRYPOINT makes `serve`
# PID 1, so SIGTERM reaches it and in-flight requests drain before exit.
# Contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/program
# Only the serving extra: onnxruntime, numpy, pillow (never PyTorch).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[serve]" && rm -rf /root/.cache

COPY docker/serve /usr/local/bin/serve
RUN chmod 0755 /usr/local/bin/serve

EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/serve"]
CMD ["serve"]
