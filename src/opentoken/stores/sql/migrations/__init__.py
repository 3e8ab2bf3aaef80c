"""Alembic migrations of the SQL stores, run by ``opentoken.stores.sql.migrate`` (``opentoken migrate``)."""
