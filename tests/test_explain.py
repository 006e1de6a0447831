"""`brandbase seed` and `brandbase explain` on seeded data: the catalogue never scans a
large table sequentially (the seed's "verify all queries are optimized", made permanent),
and nothing a report runs can change data."""

from __future__ import annotations

import json

import psycopg
import pytest
from tests.helpers import ROOT, run_cli

from brandbase import explain as explain_mod


@pytest.fixture
def seeded(owner_dsn) -> str:
    result = run_cli("seed", "--dsn", owner_dsn, "--brands", "300", "--scale", "0.3", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert "300 brands" in result.stdout
    return owner_dsn


def test_seed_is_deterministic_and_skewed(seeded, new_database):
    other = new_database()
    assert run_cli("migrate", "--dsn", other).returncode == 0
    assert run_cli("seed", "--dsn", other, "--brands", "300", "--scale", "0.3", "--seed", "7").returncode == 0
    query = "select string_agg(id::text, ',' order by id) from brand.brands where slug like 'seed-%'"
    sizes = ("select count(*) from brand.members group by brand_id order by count(*) desc")
    with psycopg.connect(seeded) as a, psycopg.connect(other) as b:
        assert a.execute(query).fetchone() == b.execute(query).fetchone()
        counts = [r[0] for r in a.execute(sizes)]
    assert counts[0] > 20 * counts[len(counts) // 2]  # a few large brands, many small ones
    again = run_cli("seed", "--dsn", seeded)
    assert again.returncode == 1 and "already seeded" in again.stderr


def test_no_catalogued_query_scans_a_large_table(seeded):
    result = run_cli("explain", "--dsn", seeded, "--format", "json")
    reports = json.loads(result.stdout)
    assert {r["query"]["name"] for r in reports} >= {"audit.brand_activity", "brand.my_brands",
                                                     "versions.record_history", "health.check"}
    assert [r["query"]["name"] for r in reports if r["error"]] == []
    seq = [(r["query"]["name"], f["node"]) for r in reports for f in r["findings"]
           if f["kind"] == "seq_scan_on_large_table"]
    assert seq == []
    assert result.returncode == 0, result.stdout


def test_findings_are_reported_and_dml_changes_nothing(seeded, tmp_path):
    mine = tmp_path / "mine.sql"
    mine.write_text(
        "-- query: mine.full_scan\n-- as: owner\n"
        "select count(*) from audit.logs where new_data ->> 'title' = 'nope';\n\n"
        "-- query: mine.sneaky_write\n-- as: owner\n"
        "update brand.brands set name = 'changed' where id = :brand_id;\n")
    result = run_cli("explain", "--dsn", seeded, "--file", str(mine), "--format", "markdown")
    assert result.returncode == 1
    assert "seq_scan_on_large_table" in result.stdout.split("mine.full_scan")[1].splitlines()[0]
    assert "read-only transaction" in result.stdout.split("mine.sneaky_write")[1].splitlines()[0]
    with psycopg.connect(seeded) as conn:
        assert conn.execute("select count(*) from brand.brands where name = 'changed'").fetchone()[0] == 0


def test_a_broken_file_is_skipped_and_the_rest_reported(seeded, tmp_path):
    broken = tmp_path / "broken.sql"
    broken.write_text("selec 1;\n")
    out = tmp_path / "report.html"
    result = run_cli("explain", "--dsn", seeded, "--catalog", "--file", str(broken),
                     "--format", "html", "--output", str(out))
    assert "skipped" in result.stderr and "broken.sql" in result.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<details open><summary><b>" in page
    assert "audit.brand_activity" in page


def _fixture(dsn: str, tmp_path) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.orders (brand_id uuid not null, id int not null, status text, "
                     "created_at timestamptz, primary key (brand_id, id))")
        conn.execute("insert into public.orders select md5((g % 50)::text)::uuid, g, "
                     "(array['open', 'paid', 'refunded', 'shipped'])[1 + g % 4], "
                     "now() - (g % 300) * interval '1 day' from generate_series(1, 40000) g")
        conn.execute("analyze public.orders")
    mine = tmp_path / "orders.sql"
    mine.write_text("-- query: orders.recent_refunds\n-- as: owner\n"
                    "select * from public.orders where status = 'refunded' "
                    "and created_at > now() - interval '3 days' order by created_at desc limit 20;\n")
    return str(mine)


def test_advice_proposes_a_composite_index_proven_with_hypopg(owner_dsn, tmp_path):
    result = run_cli("explain", "--dsn", owner_dsn, "--file", _fixture(owner_dsn, tmp_path), "--advise")
    assert result.returncode == 1  # the sequential scan is a finding
    advice = [line for line in result.stderr.splitlines() if line.startswith("advice orders.recent_refunds")]
    assert advice, result.stderr
    assert 'create index on public.orders ("status", "created_at" desc)' in advice[0]
    assert " -> " in advice[0]


def test_without_hypopg_advice_says_so_and_the_report_still_runs(db, owner_dsn, tmp_path):
    db.execute("drop extension hypopg")
    db.commit()
    result = run_cli("explain", "--dsn", owner_dsn, "--file", _fixture(owner_dsn, tmp_path), "--advise")
    assert "hypopg is not installed" in result.stderr
    assert "orders.recent_refunds" in result.stdout and "seq_scan_on_large_table" in result.stdout


def test_from_stats_explains_the_heaviest_statements_without_parameters(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        for _ in range(3):
            conn.execute("select count(*) as bb_stats_marker from brand.permissions")
    result = run_cli("explain", "--dsn", owner_dsn, "--from-stats", "100", "--format", "json")
    reports = json.loads(result.stdout)
    marked = [r for r in reports if "bb_stats_marker" in r["query"]["text"]]
    assert marked and marked[0]["query"]["source"] == "pg_stat_statements"
    assert marked[0]["error"] is None and marked[0]["plan"] is not None


def test_insufficient_privileges_are_reported_per_query(owner_dsn, tmp_path):
    # A sample brand and user, as the hint for an unseeded database says, so that the
    # entries run as a member.
    with psycopg.connect(owner_dsn) as conn:
        user = conn.execute("insert into auth.users (email) values ('you@example.com') "
                            "returning id::text").fetchone()[0]
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": user, "role": "authenticated"}),))
        conn.execute("set local role authenticated")
        conn.execute("select api.create_brand('acme', 'Acme')")
    mine = tmp_path / "privileges.sql"
    mine.write_text("-- query: mine.forbidden\n-- as: authenticated\nselect * from auth.users;\n\n"
                    "-- query: mine.allowed\n-- as: authenticated\nselect * from api.permissions;\n")
    result = run_cli("explain", "--dsn", owner_dsn, "--file", str(mine))
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "permission denied for table users" in lines["mine.forbidden"]
    assert "ERROR" not in lines["mine.allowed"]
    assert result.returncode == 1


def test_without_sample_data_the_queries_needing_it_are_skipped_with_what_to_do(owner_dsn):
    # Right after `brandbase up` (make demo): the pack is installed, nothing is seeded.
    assert run_cli("explain", "--dsn", owner_dsn).returncode == 1
    result = run_cli("explain", "--dsn", owner_dsn, "--format", "json")
    assert result.returncode == 1
    assert "invalid input syntax" not in result.stdout + result.stderr
    assert "brandbase seed" in result.stderr and "api.create_brand" in result.stderr
    reports = {r["query"]["name"]: r for r in json.loads(result.stdout)}
    assert [name for name, r in reports.items() if r["error"]] == []
    assert reports["brand.my_brands"]["skipped"] == "needs :user_id"  # acts as a member
    assert reports["audit.brand_activity"]["skipped"] == "needs :brand_id, :user_id"
    assert reports["versions.record_history"]["skipped"] == "needs :brand_id, :record_key"
    assert reports["health.check"]["skipped"] is None and reports["health.check"]["plan"]
    text = run_cli("explain", "--dsn", owner_dsn).stdout
    assert "SKIPPED needs :user_id" in next(line for line in text.splitlines()
                                            if line.startswith("brand.my_brands "))


# -- JIT: Supabase runs with jit = on; no catalogued query or api view may be compiled -------
def _api_views() -> list[str]:
    """The api views, read from the pack's code (collected without a database)."""
    import re

    names = set()
    for path in (ROOT / "sql").rglob("*.sql"):
        names |= set(re.findall(r"create (?:or replace )?view api\.([a-z_]+)", path.read_text()))
    return sorted(names)


@pytest.fixture(scope="module")
def seeded_once(new_database) -> str:
    dsn = new_database()
    assert run_cli("migrate", "--dsn", dsn).returncode == 0
    result = run_cli("seed", "--dsn", dsn, "--brands", "300", "--scale", "0.3", "--seed", "7")
    assert result.returncode == 0, result.stderr
    return dsn


def _jit_reports(dsn: str) -> tuple[dict[str, explain_mod.Report], float]:
    queries = explain_mod.load_catalog(ROOT)
    queries += [explain_mod.Query(f"api.{v}", "authenticated", f"select * from api.{v}", "sql/")
                for v in _api_views()]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("show jit").fetchone()[0] == "on"
        threshold = float(conn.execute("show jit_above_cost").fetchone()[0])
        conn.rollback()
        params = explain_mod.parameters(conn)
        reports = explain_mod.run(conn, queries, params)
    return {r.query.name: r for r in reports}, threshold


def _compiled(report: explain_mod.Report, threshold: float) -> str | None:
    """Why this plan is (or would be) JIT-compiled under jit = on, or None."""
    if "JIT" in report.plan:
        jit = report.plan["JIT"]
        return f"JIT compiled {jit.get('Functions')} functions in {jit['Timing']['Total']:.0f} ms"
    cost = report.plan["Plan"]["Total Cost"]
    return f"total cost {cost:,.0f} > jit_above_cost {threshold:,.0f}" if cost > threshold else None


def test_no_catalogued_query_or_api_view_is_jit_compiled(seeded_once):
    reports, threshold = _jit_reports(seeded_once)
    assert {"brand.my_brands", "api.jobs", "api.quota_usage"} <= set(reports)
    assert {name: r.error or r.skipped for name, r in reports.items() if r.error or r.skipped} == {}
    compiled = {name: why for name, r in reports.items()
                if (why := _compiled(r, threshold))}
    assert compiled == {}

