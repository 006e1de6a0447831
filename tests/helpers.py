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


def scalar(dsn: str, query: str, params: tuple = ()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]
