"""Small store interfaces (base.py) with one implementation per backend: memory/, sql/ (SQLite, PostgreSQL),
redis/."""
