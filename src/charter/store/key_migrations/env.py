"""Alembic environment of the key store (its own database, its own version table)."""

from alembic import context

from charter.store._models import KeyBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=KeyBase.metadata,
    version_table="alembic_version_keys",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
