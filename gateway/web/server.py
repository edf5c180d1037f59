"""Serve the web app with uvicorn: in the foreground (`serve`) or beside the scheduler (`run`)."""

from __future__ import annotations

import threading
import time

import uvicorn

from gateway.config import GatewayConfig
from gateway.store.database import Database
from gateway.web.app import create_app
from gateway.web.redact import install_access_log_filter


def make_server(config: GatewayConfig, database: Database) -> uvicorn.Server:
    app = create_app(config, database)
    install_access_log_filter()  # a token put in a URL by mistake never reaches the server's log
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.web.host,
            port=config.web.port,
            log_level="info",
            lifespan="off",
            proxy_headers=False,  # client addresses in the fetch log are the socket's, not a header's
            server_header=False,
        )
    )


class WebServerThread:
    """uvicorn in a background thread; the scheduler's main thread keeps the signals."""

    def __init__(self, config: GatewayConfig, database: Database) -> None:
        self.server = make_server(config, database)
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self, timeout: float = 15) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start (port already in use?)")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
