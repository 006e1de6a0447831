"""`brandbase bundle --supabase`: files a Supabase CLI (here: plain psql, file by file, in
name order) applies unchanged, recording history so status/verify work afterwards."""

from __future__ import annotations

import re
import subprocess

from tests.helpers import ROOT, copy_pack, run_cli, scalar

from brandbase import pack
from brandbase.local import find_bindir


def psql_apply(dsn: str, folder) -> None:
    for path in sorted(folder.glob("*.sql")):
        done = subprocess.run([str(find_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "--single-transaction", "-d", dsn, "-f", str(path)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{path.name}: {done.stderr}"


def test_bundle_applies_cleanly_with_plain_psql(new_database, tmp_path):
    out = tmp_path / "supabase" / "migrations"
    result = run_cli("bundle", "--supabase", str(out))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.glob("*.sql"))
    assert all(re.fullmatch(r"\d{14}_brandbase_[a-z0-9_]+\.sql", n) for n in names)
    assert names[0].endswith("_brandbase_history.sql") and "_brandbase_code_" in names[-1]
    dsn = new_database()
    psql_apply(dsn, out)
    assert run_cli("verify", "--dsn", dsn).returncode == 0
    status = run_cli("status", "--dsn", dsn)
    assert "0 pending migration(s), 0 repeatable file(s)" in status.stdout
    assert scalar(dsn, "select count(*) from brand.permissions") >= 40


def test_bundle_is_incremental_and_keeps_released_names(tmp_path):
    root = copy_pack(tmp_path / "pack")
    out = tmp_path / "out"
    first = run_cli("--root", str(root), "bundle", "--supabase", str(out))
    before = sorted(p.name for p in out.iterdir())
    again = run_cli("--root", str(root), "bundle", "--supabase", str(out))
    assert first.returncode == again.returncode == 0
    assert "0 file(s) written" in again.stdout
    n = len(pack.load(ROOT).versioned) + 1
    (root / "migrations" / f"{n:04d}_brand__more.sql").write_text("select 1;\n")
    third = run_cli("--root", str(root), "bundle", "--supabase", str(out))
    after = sorted(p.name for p in out.iterdir())
    assert after[: len(before)] == before  # nothing renamed; new files sort last
    new = after[len(before):]
    assert len(new) == 2 and new[0].endswith(f"_brandbase_{n:04d}_brand__more.sql")
    assert "_brandbase_code_" in new[1], third.stdout


def test_bundle_refuses_a_released_migration_that_changed(tmp_path):
    root = copy_pack(tmp_path / "pack")
    out = tmp_path / "out"
    assert run_cli("--root", str(root), "bundle", "--supabase", str(out)).returncode == 0
    first = sorted((root / "migrations").glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    result = run_cli("--root", str(root), "bundle", "--supabase", str(out))
    assert result.returncode == 1 and "immutable" in result.stderr
