"""The error contract (issue 15.3, 14.10): every error the pack raises in sql/**/*.sql has
an SQLSTATE listed in docs/errors.md, with the HTTP status PostgREST really sends for it,
never a 5xx, and a hint.

The raises are found by scanning the SQL text: strings and comments are skipped, each
`raise` statement is read to its `;`. (pglast's PL/pgSQL parser refuses functions in
schemas other than public, so it cannot read the pack's bodies.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.surface import postgrest_status

ROOT = Path(__file__).resolve().parents[1]
ERRORS_MD = ROOT / "docs" / "errors.md"

# PL/pgSQL condition names the pack may use, with their SQLSTATE (PostgreSQL's errcodes).
CONDITIONS = {
    "raise_exception": "P0001", "no_data_found": "P0002", "too_many_rows": "P0003",
    "invalid_parameter_value": "22023", "string_data_right_truncation": "22001",
    "invalid_text_representation": "22P02", "data_exception": "22000", "not_null_violation": "23502",
    "foreign_key_violation": "23503", "unique_violation": "23505", "check_violation": "23514",
    "invalid_authorization_specification": "28000", "insufficient_privilege": "42501",
    "undefined_table": "42P01", "undefined_column": "42703", "undefined_function": "42883",
    "invalid_table_definition": "42P16", "duplicate_object": "42710", "feature_not_supported": "0A000",
    "program_limit_exceeded": "54000", "object_not_in_prerequisite_state": "55000",
    "lock_not_available": "55P03", "read_only_sql_transaction": "25006",
    "configuration_limit_exceeded": "53400", "serialization_failure": "40001",
}
LEVELS_THAT_ARE_NOT_ERRORS = {"notice", "warning", "info", "log", "debug"}


@dataclass(frozen=True)
class Raise:
    path: str
    line: int
    sqlstate: str | None      # None: computed at run time (not checkable)
    has_hint: bool
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} [{self.sqlstate}] {self.text[:120]}"


def code_of(text: str) -> str:
    """The SQL with the contents of strings and comments blanked (same length, same lines)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text[i] == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    j += 1
            out.append("'" + re.sub(r"[^\n]", "_", text[i + 1:j]) + "'")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def raises_in(path: Path, root: Path = ROOT) -> list[Raise]:
    text = path.read_text()
    code = code_of(text)
    found = []
    for m in re.finditer(r"(?i)\braise\b", code):
        end = code.find(";", m.end())
        stmt_code = code[m.start():end]
        stmt = text[m.start():end]
        words = stmt_code.split()
        level = words[1].lower() if len(words) > 1 else ""
        if level in LEVELS_THAT_ARE_NOT_ERRORS or level == "":
            continue  # not an error, or a bare re-raise of the caught error
        line = text.count("\n", 0, m.start()) + 1
        using = re.search(r"(?i)\busing\b", stmt_code)
        options = stmt[using.end():] if using else ""
        options_code = stmt_code[using.end():] if using else ""
        has_hint = bool(re.search(r"(?i)\bhint\s*=", options_code))
        sqlstate: str | None
        if errcode := re.search(r"(?i)\berrcode\s*=\s*", options_code):
            rest = options[errcode.end():]
            literal = re.match(r"'([^']*)'", rest)
            if literal:
                value = literal.group(1)
                sqlstate = value.upper() if re.fullmatch(r"[0-9A-Za-z]{5}", value) else \
                    CONDITIONS.get(value.lower(), f"unknown condition {value}")
            else:
                sqlstate = None
        elif level == "sqlstate":
            sqlstate = re.match(r"(?i)raise\s+sqlstate\s+'([^']*)'", stmt).group(1).upper()
        elif level == "exception" or level.startswith("'"):
            sqlstate = "P0001"
        else:
            sqlstate = CONDITIONS.get(level, f"unknown condition {level}")
        found.append(Raise(str(path.relative_to(root)), line, sqlstate, has_hint, " ".join(stmt.split())))
    return found


def all_raises() -> list[Raise]:
    return [r for p in sorted((ROOT / "sql").rglob("*.sql")) for r in raises_in(p)]


def documented() -> dict[str, int]:
    """SQLSTATE -> HTTP status, from the table in docs/errors.md (first two cells of a row)."""
    table = {}
    for line in ERRORS_MD.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[0-9A-Z]{5}", cells[0]) and cells[1].isdigit():
            table[cells[0]] = int(cells[1])
    return table


# PGRST is the gate's JSON error: its status is in the error's detail (docs/errors.md, second table).
GATE_CODE = "PGRST"


def test_the_scanner_finds_the_pack_raises():
    raises = all_raises()
    assert len(raises) > 50
    assert {"22023", "42501", "28000"} <= {r.sqlstate for r in raises}


@pytest.mark.parametrize(("snippet", "expected"), [
    ("raise exception 'x' using errcode = '22023', hint = 'h';", ("22023", True)),
    ("raise exception using errcode = 'PT404', message = format('a; %s', 1), hint = 'h';", ("PT404", True)),
    ("raise exception 'it''s % -- no', v using errcode = 'check_violation';", ("23514", False)),
    ("raise exception 'plain';", ("P0001", False)),
    ("raise insufficient_privilege using hint = 'hint = x';", ("42501", True)),
    ("raise sqlstate 'PGRST' using message = 'm';", ("PGRST", False)),
    ("-- raise exception 'in a comment' using errcode = 'P0002';\nselect 'raise exception';", None),
    ("raise notice 'n'; raise;", None),
])
def test_the_scanner_reads_each_form(tmp_path, snippet, expected):
    f = tmp_path / "x.sql"
    f.write_text(snippet)
    found = raises_in(f, tmp_path)
    if expected is None:
        assert found == []
    else:
        assert [(r.sqlstate, r.has_hint) for r in found] == [expected]


def test_the_mapping_follows_postgrest():
    assert postgrest_status("P0001") == 400
    assert postgrest_status("P0002") == 500
    assert postgrest_status("42501") == 403 and postgrest_status("42501", anonymous=True) == 401
    assert postgrest_status("28000") == 403
    assert postgrest_status("23505") == postgrest_status("23503") == 409
    assert postgrest_status("42P01") == postgrest_status("42883") == 404
    assert postgrest_status("54000") == postgrest_status("55000") == 500
    assert postgrest_status("53400") == 500 and postgrest_status("53300") == 503
    assert postgrest_status("PT404") == 404 and postgrest_status("PT429") == 429
    assert postgrest_status("22023") == postgrest_status("23514") == 400


def test_every_raised_sqlstate_is_documented_with_postgrests_status():
    table = documented()
    problems = []
    for r in all_raises():
        if r.sqlstate is None:
            problems.append(f"{r}: errcode computed at run time; raise a literal SQLSTATE")
        elif r.sqlstate == GATE_CODE:
            continue
        elif r.sqlstate not in table:
            problems.append(f"{r}: {r.sqlstate} is not in docs/errors.md")
        elif table[r.sqlstate] != postgrest_status(r.sqlstate):
            problems.append(f"{r}: docs say {table[r.sqlstate]}, PostgREST sends "
                            f"{postgrest_status(r.sqlstate)}")
    assert not problems, "\n".join(problems)


def test_the_documented_statuses_are_postgrests():
    wrong = {code: status for code, status in documented().items() if postgrest_status(code) != status}
    assert not wrong, f"docs/errors.md gives a status PostgREST does not send: {wrong}"


def test_no_raise_is_a_server_error():
    fives = [str(r) for r in all_raises()
             if r.sqlstate not in (None, GATE_CODE) and postgrest_status(r.sqlstate) >= 500]
    assert not fives, "user errors are never 5xx under PostgREST:\n" + "\n".join(fives)


def test_every_raise_has_a_hint():
    # The gate's PGRST error carries its hint inside the JSON message (docs/errors.md).
    bare = [str(r) for r in all_raises() if not r.has_hint and r.sqlstate != GATE_CODE]
    assert not bare, "raises without a hint:\n" + "\n".join(bare)
