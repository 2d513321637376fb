"""Fixtures for download tests: a real HTTP server on 127.0.0.1 with switchable faults per path,
and an empty srbench cache.

Import them into a test module under their ``*_fixture`` names (the fixtures are named without
the suffix, so the test arguments do not shadow the imports)::

    from tests.httpserver import http_server_fixture  # noqa: F401

    def test_x(http_server):
        (http_server.root / "a.tar").write_bytes(data)
        http_server.faults["a.tar"] = "404"
        url = http_server.url("a.tar")
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

import pytest

from srbench.hub import downloads as hub

Fault = Literal["404", "wrong-bytes", "truncate", "drop"]


@dataclass
class FileServer:
    """Serves files under ``root``; ``faults`` maps a path (relative to root) to a fault."""

    root: Path
    port: int = 0
    faults: dict[str, Fault] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.lstrip("/").split("?", 1)[0]
            server.hits.append(path)
            fault = server.faults.get(path)
            file = server.root / path
            if fault == "drop":
                self._hang_up()
            elif fault == "404" or not file.is_file():
                self.send_error(404, "Not Found")
            else:
                data = file.read_bytes()
                self._send(data, fault)

        def _send(self, data: bytes, fault: Fault | None) -> None:
            if fault == "wrong-bytes":
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fault == "truncate":
                self.wfile.write(data[: len(data) // 2])
                self._hang_up()
            else:
                self.wfile.write(data)

        def _hang_up(self) -> None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture(name="srbench_cache")
def srbench_cache_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$SRBENCH_CACHE``; no offline, mirror or licence settings; no retry wait."""
    for name in ("SRBENCH_OFFLINE", "SRBENCH_MIRROR", "SRBENCH_ACCEPT_LICENCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hub, "RETRY_WAIT_S", 0.0)
    return tmp_path / "cache"


@pytest.fixture(name="http_server")
def http_server_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A :class:`FileServer` serving ``tmp_path / "www"`` on a free local port."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # a proxy must not see local requests
    state = FileServer(root=tmp_path / "www")
    state.root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
