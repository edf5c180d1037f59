"""The HTTP side of the gateway: partner snapshot API (`/api/v1`), staff console, health, metrics.

`create_app` builds a FastAPI application around a configuration and a store, passed in
explicitly (no module-level state); routers read them from `request.app.state`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from gateway.config import GatewayConfig
from gateway.store.database import Database
from gateway.web.api.routes import router as api_router
from gateway.web.console.routes import router as console_router
from gateway.web.docs import add_offline_docs
from gateway.web.metrics import router as metrics_router
from gateway.web.state import AppState


def create_app(config: GatewayConfig, database: Database) -> FastAPI:
    app = FastAPI(
        title="Passerelle LHÉO",
        description="Instantanés des flux LHÉO 2.3 pour les partenaires, et console des équipes.",
        version="1",
        docs_url=None,  # served by add_offline_docs: assets from an installed package, no CDN
        redoc_url=None,
    )
    add_offline_docs(app, title="Passerelle LHÉO")
    app.state.gateway = AppState(config, database)

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz() -> str:
        with database.session() as db:
            db.execute(text("SELECT 1"))
        return "ok\n"

    app.include_router(api_router, prefix="/api/v1")
    app.include_router(metrics_router)
    app.include_router(console_router)
    return app
