"""Hostile clients against a real `python -m server` process: keys are checked before any body is read,
bodies are capped as they stream, guesses and made-up keys are throttled, slow clients are cut off."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, api_environment, free_port, start_server

READER, ADMIN = "reader-key", "admin-key"
CAP = 2_000_000
PROXY = "127.0.0.61"


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An API process with keys and tight bounds; yields its port."""
    env = api_environment(
        tmp_path_factory.mktemp("keyed"),
        API_KEYS=READER,
        ADMIN_API_KEY=ADMIN,
        RATE_LIMIT="1000/minute",
        AUTH_FAILURE_LIMIT="3/minute",
        MAX_BODY_BYTES=str(CAP),
        HEADER_TIMEOUT="1",
        BODY_TIMEOUT="2",
        MAX_CONNECTIONS="6",
    )
    yield from running(env)


@pytest.fixture(scope="module")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An API process without keys, 5 requests a minute per client, behind one proxy; yields its port."""
    env = api_environment(tmp_path_factory.mktemp("open"), RATE_LIMIT="5/minute", TRUSTED_PROXIES=PROXY)
    yield from running(env)


def running(env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    server = start_server(env, port)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def connect(port: int, source: str) -> socket.socket:
    """A raw connection from a loopback address of its own (each address is a client to the API)."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def client(source: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30)


def status_of(sock: socket.socket, within: float = 10) -> int | None:
    """The status of the response on the socket, or None when it closed without one."""
    sock.settimeout(within)
    data = b""
    while b"\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            return None
        data += piece
    return int(data.split(b" ", 2)[1])


def request_head(path: str, key: str | None, *extra: str, method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *extra]
    if key:
        lines.append(f"X-API-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("key", [None, "guess", READER], ids=["no-key", "wrong-key", "reader-key"])
def test_an_upload_without_the_admin_key_is_refused_before_its_body_is_read(
    keyed_api: int, key: str | None
) -> None:
    source = {None: "127.0.0.21", "guess": "127.0.0.22", READER: "127.0.0.23"}[key]
    with connect(keyed_api, source) as sock:
        # Only the headers of a 1 MB upload: a server that reads the body first would wait for ever.
        head = request_head("/documents", key, "Content-Type: multipart/form-data; boundary=b")
        sock.sendall(head.replace(b"\r\n\r\n", b"\r\nContent-Length: 1000000\r\n\r\n"))
        assert status_of(sock, within=5) == 401


def readable(sock: socket.socket, seconds: float) -> bool:
    """Whether the server has answered (or closed); poll, not select: a long test run has high fds."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(seconds * 1000))


def test_a_chunked_body_is_stopped_at_the_cap_with_413(keyed_api: int) -> None:
    chunked = ["Transfer-Encoding: chunked", "Content-Type: multipart/form-data; boundary=b"]
    preamble = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    piece = b"a" * 16_384
    sent, status = 0, None
    with connect(keyed_api, "127.0.0.24") as sock:
        sock.sendall(request_head("/documents", ADMIN, *chunked))
        sock.sendall(b"%x\r\n%s\r\n" % (len(preamble), preamble))
        while sent < 3 * CAP:
            if readable(sock, 0.002):  # answered mid-body: stop sending
                status = status_of(sock)
                break
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        else:
            sock.sendall(b"0\r\n\r\n")
            status = status_of(sock)
    assert status == 413
    assert sent < CAP + 1_000_000  # stopped near the cap, not after the whole body


def test_wrong_key_guesses_are_throttled_per_address(keyed_api: int) -> None:
    url = f"http://127.0.0.1:{keyed_api}/documents"
    with client("127.0.0.31") as guesser, client("127.0.0.32") as other:
        assert [guesser.get(url, headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(4)] == [
            401,
            401,
            401,
            429,
        ]
        # Once throttled, even the right key is refused there: a guess must not learn it was right.
        assert guesser.get(url, headers={"X-API-Key": READER}).status_code == 429
        assert other.get(url, headers={"X-API-Key": READER}).status_code == 200


def test_the_api_docs_need_a_key_when_keys_are_set(keyed_api: int) -> None:
    with client("127.0.0.33") as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            url = f"http://127.0.0.1:{keyed_api}{path}"
            assert http.get(url, headers={"X-API-Key": READER}).status_code == 200, path
            assert http.get(url).status_code == 401, path


def test_made_up_keys_share_their_address_bucket(open_api: int) -> None:
    url = f"http://127.0.0.1:{open_api}/documents"
    with client("127.0.0.41") as http:
        statuses = [http.get(url, headers={"X-API-Key": f"made-up-{i}"}).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]


def test_forwarded_for_from_an_untrusted_peer_picks_no_bucket(open_api: int) -> None:
    url = f"http://127.0.0.1:{open_api}/documents"
    with client("127.0.0.1") as http:  # loopback: uvicorn on its own would believe it
        statuses = [http.get(url, headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]


def test_forwarded_for_from_a_trusted_proxy_names_the_client(open_api: int) -> None:
    url = f"http://127.0.0.1:{open_api}/documents"
    with client(PROXY) as proxy:
        clients = [proxy.get(url, headers={"X-Forwarded-For": f"10.0.1.{i}"}).status_code for i in range(6)]
        same = [proxy.get(url, headers={"X-Forwarded-For": "10.0.2.1"}).status_code for _ in range(6)]
    assert clients == [200] * 6  # six clients behind the proxy, one request each
    assert same == [200] * 5 + [429]


def test_trickled_headers_are_cut_off(keyed_api: int) -> None:
    started = time.monotonic()
    with connect(keyed_api, "127.0.0.51") as sock:
        sock.sendall(b"GET /documents HTTP/1.1\r\n")
        closed = False
        while time.monotonic() - started < 5 and not closed:
            try:
                sock.sendall(b"X")  # one byte of a header every 0.1 s, never ending it
            except OSError:
                break
            closed = bool(readable(sock, 0.1))
        assert status_of(sock) in (408, None)
    assert time.monotonic() - started < 3  # HEADER_TIMEOUT=1


def test_a_stalled_body_is_answered_408(keyed_api: int) -> None:
    with connect(keyed_api, "127.0.0.52") as sock:
        head = request_head("/search", READER, "Content-Type: application/json", "Content-Length: 100")
        sock.sendall(head + b'{"query": ')
        started = time.monotonic()
        assert status_of(sock) == 408
    assert time.monotonic() - started < 4  # BODY_TIMEOUT=2


def test_connections_beyond_the_limit_get_503_until_slow_ones_time_out(keyed_api: int) -> None:
    url = f"http://127.0.0.1:{keyed_api}/documents"
    idle = [connect(keyed_api, "127.0.0.53") for _ in range(6)]  # MAX_CONNECTIONS=6
    try:
        for sock in idle:
            sock.sendall(b"GET /documents HTTP/1.1\r\n")
        time.sleep(0.2)
        with client("127.0.0.54") as http:
            assert http.get(url, headers={"X-API-Key": READER}).status_code == 503
            time.sleep(1.5)  # HEADER_TIMEOUT=1 closes the idle ones
            assert http.get(url, headers={"X-API-Key": READER}).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_blank_api_keys_refuse_to_start(tmp_path: Path) -> None:
    env = api_environment(tmp_path, API_KEYS=" , ")
    command = [sys.executable, "-m", "server", "--port", str(free_port())]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "API_KEYS" in result.stderr and "Traceback" not in result.stderr
