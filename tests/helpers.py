"""Small helpers shared by the Python tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, python: str = sys.executable, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `brandbase` CLI in a subprocess."""
    return subprocess.run([python, "-m", "brandbase.cli", *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def copy_pack(dest: Path) -> Path:
    """A scratch copy of the pack (migrations/ and sql/) to add or break files in."""
    for folder in ("migrations", "sql"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


# The last release that landed before this round's migrations (0026-0031): upgrade tests
# install it as it was and migrate it to the working tree's pack.
PREVIOUS_RELEASE = "c162ecb"


def previous_release(dest: Path):
    """The pack (migrations/ and sql/) of PREVIOUS_RELEASE, extracted into dest; skips the
    test when the checkout lacks that history."""
    import pytest

    from brandbase import pack

    old = subprocess.run(f"git archive {PREVIOUS_RELEASE} migrations sql | tar -x -C {dest}",
                         shell=True, cwd=ROOT, capture_output=True)
    if old.returncode != 0:
        pytest.skip(f"previous release {PREVIOUS_RELEASE} not in this checkout's history")
    return pack.load(dest)


def scalar(dsn: str, query: str, params: tuple = ()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]
