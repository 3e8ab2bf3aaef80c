"""Alembic stays unloaded when the schema is current; HEAD_REVISION follows the migration scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opentoken.stores.sql.migrate import HEAD_REVISION, head_revision

PROBE = """
import asyncio, sys
from opentoken.stores.factory import open_stores

async def main() -> None:
    stores = await open_stores(sys.argv[1], migrate=sys.argv[2] == "migrate", migrated=sys.argv[2] == "check")
    await stores.close()
    print("alembic" in sys.modules)

asyncio.run(main())
"""


def test_head_revision_constant_matches_the_scripts() -> None:
    assert head_revision() == HEAD_REVISION


def test_alembic_is_loaded_only_to_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    run = [sys.executable, "-c", PROBE, url, "migrate"]
    first = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60)
    assert first.stdout.strip() == "True"  # a fresh database is migrated with Alembic
    second = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60)
    assert second.stdout.strip() == "False"  # a current one is not


def test_checking_a_current_schema_loads_no_alembic(tmp_path: Path) -> None:
    """What each worker of ``serve --workers N`` (and a replica started without migrating) does: a plain query."""
    url = f"sqlite:///{tmp_path / 'checked.db'}"
    subprocess.run([sys.executable, "-c", PROBE, url, "migrate"], capture_output=True, check=True, timeout=60)
    checked = subprocess.run([sys.executable, "-c", PROBE, url, "check"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "False"


def test_checking_an_old_schema_names_both_revisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    checked = subprocess.run([sys.executable, "-c", PROBE, url, "check"], capture_output=True, text=True, timeout=60)
    assert checked.returncode != 0
    assert f"schema is at revision none but this release needs {HEAD_REVISION}" in checked.stderr
