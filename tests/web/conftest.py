"""A real HTTP server (uvicorn on 127.0.0.1, a free port) serving the gateway's web app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from gateway.web.app import create_app
from tests.conftest import Gateway


@dataclass
class LiveServer:
    url: str
    gateway: Gateway
    server: uvicorn.Server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(gateway: Gateway) -> Iterator[LiveServer]:
    """The web app on a real socket, over the test's store and outbox (`gateway` fixture).

    The app reads `gateway.config` when created: configure destinations before using this
    fixture (or request it after changing the config in the test).
    """
    port = _free_port()
    app = create_app(gateway.config, gateway.database)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", gateway, server)
    server.should_exit = True
    thread.join(timeout=10)
