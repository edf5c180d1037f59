"""Alembic environment: runs migrations on the connection handed over by `database.upgrade`."""

from __future__ import annotations

from alembic import context

from gateway.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the gateway always passes its own connection
    raise RuntimeError("run migrations through `lheo-gateway db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
