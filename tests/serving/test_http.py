"""The HTTP layer against real sockets: every bad-input class gets a JSON 4xx saying what was
wrong, and the server stays responsive (issue 6, "Robustness")."""

from __future__ import annotations

import re
import socket
import struct
import zlib
from collections.abc import Iterator

import pytest

from tests.serving.conftest import RunningServer, config_for, noise_image, png, running_server
from visiongate.serving.http import HttpLimits, parse_head


@pytest.fixture(scope="module")
def strict(model_dir) -> Iterator[RunningServer]:
    limits = HttpLimits(request_timeout=0.5, idle_timeout=5.0)
    with running_server(config_for(model_dir, http=limits)) as running:
        yield running


def exchange(port: int, data: bytes, shut: bool = False, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def post(path: str, body: bytes, content_type: str = "image/png", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode() + body


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_empty_body_is_400_validation_error(strict: RunningServer) -> None:
    reply = strict.invoke(b"")
    assert reply.status == 400
    assert reply.headers["x-amzn-errortype"] == "ValidationError"
    assert reply.json()["Message"] == "the request body is empty (0 bytes)"


def test_truncated_png_is_400(strict: RunningServer) -> None:
    data = png(noise_image(1, (64, 64)))
    reply = strict.invoke(data[: len(data) // 2])
    assert reply.status == 400
    assert "truncated or corrupt" in reply.json()["Message"]


def test_corrupt_bytes_are_400(strict: RunningServer) -> None:
    reply = strict.invoke(b"\x00\x01garbage that is not an image" * 10)
    assert reply.status == 400
    assert reply.json() == {
        "ErrorCode": "ValidationError",
        "Message": "the bytes are not a recognised image",
        "Hint": "send a PNG or JPEG file",
    }


def test_wrong_content_type_is_415(strict: RunningServer) -> None:
    reply = strict.invoke(b"1,2,3\n", content_type="text/csv")
    assert reply.status == 415
    assert reply.headers["x-amzn-errortype"] == "ValidationError"
    assert reply.json()["Message"] == "Content-Type 'text/csv' is not supported by this endpoint"


def test_body_over_the_limit_is_refused_from_content_length_alone(strict: RunningServer) -> None:
    # Only the headers are sent: the 413 must come without the server waiting for the body.
    head = (
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        f"Content-Length: {7 * 1024 * 1024}\r\n\r\n"
    ).encode()
    status, headers, body = parse(exchange(strict.port, head))
    assert status == 413
    assert headers["connection"] == "close"
    assert "7,340,032 bytes, over the limit of 6,291,456 bytes" in body.decode()


def test_body_over_a_configured_limit_is_413_even_when_sent(model_dir) -> None:
    with running_server(config_for(model_dir, http=HttpLimits(max_body_bytes=1000))) as small:
        reply = small.invoke(png(noise_image(2, (64, 64))) + b"\0" * 20_000)
        assert reply.status == 413
        assert "over the limit of 1,000 bytes" in reply.json()["Message"]
        assert small.request("GET", "/ping").status == 200  # still up


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (20_000, 20_000, "decompression bomb"),  # past Pillow's own bomb guard
        (9_000, 9_000, "over the limit of 40,000,000"),  # past our pixel cap
    ],
)
def test_decompression_bomb_is_400(
    strict: RunningServer, width: int, height: int, message: str
) -> None:
    reply = strict.invoke(png_bomb(width, height))
    assert reply.status == 400
    assert message in reply.json()["Message"]


def test_slow_client_times_out_with_408_while_others_are_served(strict: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", strict.port), timeout=10) as slow:
        slow.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: 100\r\n\r\n0123456789"
        )
        # While it stalls, another client is answered.
        assert strict.invoke(png(noise_image(3))).status == 200
        status, headers, body = parse(read_all(slow))
    assert status == 408
    assert headers["x-amzn-errortype"] == "RequestTimeout"
    assert "did not arrive within 0.5 s (received 10 of 100 body bytes)" in body.decode()


def test_headers_never_finished_time_out_too(strict: RunningServer) -> None:
    status, _, body = parse(exchange(strict.port, b"POST /invocations HTTP/1.1\r\nHost: x\r\n"))
    assert status == 408
    assert "(received headers)" in body.decode()


def test_unknown_route_is_404_json(strict: RunningServer) -> None:
    reply = strict.request("GET", "/nope")
    assert reply.status == 404
    assert reply.json()["ErrorCode"] == "UnknownOperationException"
    assert reply.json()["Message"] == "no route for GET /nope"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/invocations", "POST"), ("POST", "/ping", "GET"), ("DELETE", "/metrics", "GET")],
)
def test_wrong_method_is_405_with_allow(
    strict: RunningServer, method: str, path: str, allowed: str
) -> None:
    reply = strict.request(method, path, body=b"" if method == "POST" else None)
    assert reply.status == 405
    assert reply.headers["allow"] == allowed
    assert reply.json()["Message"] == f"{method} is not allowed here"


def test_post_without_content_length_is_411(strict: RunningServer) -> None:
    status, _, body = parse(exchange(strict.port, b"POST /invocations HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 411
    assert "POST without a Content-Length header" in body.decode()


def test_chunked_body_is_411(strict: RunningServer) -> None:
    raw = b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    status, _, body = parse(exchange(strict.port, raw))
    assert status == 411
    assert "chunked request bodies are not supported" in body.decode()


def test_malformed_request_line_is_400(strict: RunningServer) -> None:
    status, _, body = parse(exchange(strict.port, b"HELLO\r\n\r\n"))
    assert status == 400
    assert "malformed request line 'HELLO'" in body.decode()


def test_oversized_headers_are_400(strict: RunningServer) -> None:
    raw = b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    status, _, body = parse(exchange(strict.port, raw))
    assert status == 400
    assert "request headers exceed 16384 bytes" in body.decode()


def test_smuggling_shapes_are_rejected(strict: RunningServer) -> None:
    raw = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    status, _, body = parse(exchange(strict.port, raw))
    assert status == 400
    assert "both Transfer-Encoding and Content-Length" in body.decode()


def test_keep_alive_and_pipelined_requests_answer_in_order(strict: RunningServer) -> None:
    image = png(noise_image(4))
    first = post("/invocations", image).replace(b"Connection: close\r\n", b"")
    second = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    third = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = exchange(strict.port, first + second + third)
    statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
    assert statuses == [200, 404, 200]


def test_expect_100_continue_gets_an_interim_response(strict: RunningServer) -> None:
    image = png(noise_image(5))
    head = (
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(image)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", strict.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(image)
        status, _, _ = parse(read_all(sock))
    assert status == 200


def test_connections_over_the_limit_get_503(model_dir) -> None:
    with running_server(config_for(model_dir, http=HttpLimits(max_connections=1))) as tiny:
        with socket.create_connection(("127.0.0.1", tiny.port), timeout=10) as first:
            first.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert first.recv(12) == b"HTTP/1.1 200"
            status, _, body = parse(exchange(tiny.port, b""))
        assert status == 503
        assert "too many open connections" in body.decode()


def test_bodies_held_at_once_are_bounded(model_dir) -> None:
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 800\r\n\r\n"
    with (
        running_server(config_for(model_dir, http=HttpLimits(max_buffered_bytes=1000))) as s,
        socket.create_connection(("127.0.0.1", s.port), timeout=10) as first,
    ):
        first.sendall(head + b"x" * 10)  # 800 bytes announced and held
        assert s.request("GET", "/ping").status == 200  # the first head has been read by now
        status, _, body = parse(exchange(s.port, head + b"x" * 800))
        assert status == 503
        assert "holding too many request bodies" in body.decode()
        first.sendall(b"x" * 790)
        status, _, body = parse(first.recv(65536))
        assert status == 400  # the first request is still served (800 bytes of "x" are no image)


def test_idle_keep_alive_connections_are_closed(model_dir) -> None:
    with (
        running_server(config_for(model_dir, http=HttpLimits(idle_timeout=0.2))) as quick,
        socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock,
    ):
        assert read_all(sock) == b""  # closed by the server, nothing sent


def test_parse_head_decodes_paths_and_joins_repeated_headers() -> None:
    method, path, headers, keep_alive = parse_head(
        b"POST http://h/endpoints/my%2Dep/invocations?x=1 HTTP/1.0\r\nA: 1\r\na: 2\r\n"
        b"Connection: keep-alive"
    )
    assert (method, path, headers["a"], keep_alive) == (
        "POST",
        "/endpoints/my-ep/invocations",
        "1, 2",
        True,
    )
