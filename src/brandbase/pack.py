"""The SQL pack on disk: versioned migrations and repeatable module code.

A source checkout reads `migrations/` and `sql/` from the repository root; an installed
wheel carries the same folders under `brandbase/_pack/`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pglast.parser import ParseError, split

VERSIONED_RE = re.compile(r"^(?P<version>\d{4})_(?P<module>[a-z][a-z0-9_]*?)__(?P<name>[a-z0-9_]+)\.sql$")
NO_TRANSACTION = "-- brandbase:no-transaction"


class PackError(Exception):
    """The files on disk are not a valid pack (gap, duplicate, bad name, bad SQL)."""


def checksum(text: str) -> str:
    """sha256 of a file's text: what history records and verify compares."""
    return hashlib.sha256(text.encode()).hexdigest()


def default_root() -> Path:
    here = Path(__file__).resolve().parent
    wheel = here / "_pack"
    return wheel if wheel.is_dir() else here.parents[1]


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int  # 1-based line of the statement's first character in its file
    start: int = 0  # offset of that character


@dataclass(frozen=True)
class SqlFile:
    """One migration or repeatable file; `name` is its path relative to the pack root."""

    name: str
    kind: str  # 'versioned' | 'repeatable'
    module: str
    text: str
    version: int | None = None
    checksum: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksum", checksum(self.text))

    @property
    def transactional(self) -> bool:
        return NO_TRANSACTION not in self.text.split("\n", 20)[:20]

    @cached_property
    def statements(self) -> list[Statement]:
        """The file split into statements by PostgreSQL's own parser, with their lines."""
        try:
            slices = split(self.text, only_slices=True)
        except ParseError as exc:
            message, location = (exc.args + (0,))[:2]
            line = self.text[: max(location, 0)].count("\n") + 1
            raise PackError(f"{self.name}:{line}: {message}") from None
        return [Statement(self.text[s], self.text[: s.start].count("\n") + 1, s.start) for s in slices]


@dataclass(frozen=True)
class Pack:
    root: Path
    versioned: list[SqlFile]
    repeatable: list[SqlFile]

    @property
    def modules(self) -> list[str]:
        """Modules in install order: the order their first migration appears."""
        order = list(dict.fromkeys(f.module for f in self.versioned))
        extra = sorted({f.module for f in self.repeatable} - set(order))
        return order + extra

    def by_name(self) -> dict[str, SqlFile]:
        return {f.name: f for f in self.versioned + self.repeatable}


def load(root: Path | None = None) -> Pack:
    root = root or default_root()
    versioned = _load_versioned(root / "migrations")
    repeatable = _load_repeatable(root / "sql")
    order = list(dict.fromkeys(f.module for f in versioned))
    rank = {m: i for i, m in enumerate(order)}
    repeatable.sort(key=lambda f: (rank.get(f.module, len(rank)), f.module, f.name))
    return Pack(root, versioned, repeatable)


def _load_versioned(folder: Path) -> list[SqlFile]:
    files: dict[int, SqlFile] = {}
    for path in sorted(folder.glob("*.sql")) if folder.is_dir() else []:
        m = VERSIONED_RE.match(path.name)
        if not m:
            raise PackError(
                f"migrations/{path.name}: bad file name; expected NNNN_<module>__<what>.sql "
                "(four-digit version, lower-case module and name)"
            )
        version = int(m["version"])
        if version in files:
            raise PackError(
                f"migrations/{path.name}: duplicate version {version:04d} "
                f"(also {files[version].name}); give one of them the next free number"
            )
        files[version] = SqlFile(
            f"migrations/{path.name}", "versioned", m["module"], path.read_text(), version
        )
    ordered = [files[v] for v in sorted(files)]
    for expected, f in enumerate(ordered, start=1):
        if f.version != expected:
            raise PackError(
                f"{f.name}: version gap, expected {expected:04d} next; "
                "versions are consecutive so every install applies the same sequence"
            )
    return ordered


def _load_repeatable(folder: Path) -> list[SqlFile]:
    if not folder.is_dir():
        return []
    return [
        SqlFile(f"sql/{p.parent.name}/{p.name}", "repeatable", p.parent.name, p.read_text())
        for p in sorted(folder.glob("*/*.sql"))
    ]
