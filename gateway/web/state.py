"""What every request handler may use, reached through `request.app.state` (no globals)."""

from __future__ import annotations

from fastapi import Request

from gateway.config import GatewayConfig
from gateway.store.database import Database


class AppState:
    def __init__(self, config: GatewayConfig, database: Database) -> None:
        self.config = config
        self.database = database


def app_state(request: Request) -> AppState:
    state = request.app.state.gateway
    assert isinstance(state, AppState)
    return state
