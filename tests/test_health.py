"""`brandbase health` exit codes, `brandbase metrics` as Prometheus text and over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.helpers import run_cli


def set_connections_thresholds(dsn: str, degraded: float, down: float) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update health.probes set degraded_at = %s, down_at = %s "
                     "where name = 'connections'", (degraded, down))


def test_health_exit_codes_follow_the_worst_check(owner_dsn):
    assert run_cli("health", "--dsn", owner_dsn).returncode == 0
    set_connections_thresholds(owner_dsn, 0, 0.99)
    degraded = run_cli("health", "--dsn", owner_dsn)
    assert degraded.returncode == 1 and "WARN connections" in degraded.stdout
    set_connections_thresholds(owner_dsn, 0, 0)
    down = run_cli("health", "--dsn", owner_dsn, "--json")
    assert down.returncode == 2 and '"status": "down"' in down.stdout


def test_an_unreachable_database_is_down():
    result = run_cli("health", "--dsn", "postgresql://x:y@127.0.0.1:1/none")
    assert result.returncode == 2 and "DOWN cannot connect" in result.stderr


def test_metrics_are_valid_prometheus_text(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("select jobs.create_queue('mail')")
        conn.execute("select jobs.enqueue_many('mail', '[{}, {}]')")
    result = run_cli("metrics", "--dsn", owner_dsn)
    assert result.returncode == 0, result.stderr
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert families["brandbase_up"].samples[0].value == 1
    assert families["brandbase_health_status"].samples[0].value == 0
    checks = {s.labels["check"] for s in families["brandbase_health_check_status"].samples}
    assert {"connections", "wraparound", "audit_seal_lag", "jobs_queue_lag", "jobs_dead"} <= checks
    jobs = {(s.labels["queue"], s.labels["state"]): s.value for s in families["brandbase_jobs"].samples}
    assert jobs[("mail", "ready")] == 2 and jobs[("mail", "dead")] == 0
    assert families["brandbase_webhook_deliveries_pending"].samples[0].value == 0
    assert families["brandbase_pg_transactions_committed"].type == "counter"
    assert families["brandbase_pg_database_size_bytes"].samples[0].value > 0


def refuse_second_request(dsn: str) -> None:
    """Two anonymous writes from one address under a one-request policy: the second gets 429."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update ratelimit.policies set rate = 1, burst = 0 where api_role = 'anon'")
    for attempt in range(2):
        with psycopg.connect(dsn) as conn:
            conn.execute("select set_config('request.headers', %s, true), "
                         "set_config('request.method', 'POST', true)",
                         [json.dumps({"x-forwarded-for": "198.51.100.7"})])
            conn.execute("set local role anon")
            if attempt == 0:
                conn.execute("select brandbase.pre_request()")
            else:
                with pytest.raises(psycopg.Error) as refused:
                    conn.execute("select brandbase.pre_request()")
                assert refused.value.sqlstate == "PGRST"
                assert json.loads(refused.value.diag.message_detail)["status"] == 429


def test_rate_limit_refusals_are_counted_though_rolled_back(owner_dsn):
    def refused() -> dict[str, float]:
        result = run_cli("metrics", "--dsn", owner_dsn)
        families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
        return {s.labels["reason"]: s.value for s in families["brandbase_requests_refused"].samples
                if s.name.endswith("_total")}

    before = refused()
    assert set(before) == {"bad_request", "version", "access", "rate_limit", "quota"}
    refuse_second_request(owner_dsn)
    after = refused()
    assert after["rate_limit"] == before["rate_limit"] + 1
    assert after["access"] == before["access"]


def test_metrics_served_over_http(owner_dsn):
    server = subprocess.Popen([sys.executable, "-m", "brandbase.cli", "metrics", "--dsn", owner_dsn,
                               "--serve", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        url = line.split(" on ")[1].strip()
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200 and "brandbase_up 1.0" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def status_server():
    """A loopback HTTP server: GET /up answers 200, anything else 503."""
    import http.server
    import threading

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200 if self.path == "/up" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_external_services_are_probed_over_http_and_join_the_document(owner_dsn, status_server):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("select health.watch('email', %s)", (status_server + "/up",))
        conn.execute("select health.watch('payments', %s, 1000)", (status_server + "/down",))
    result = run_cli("health", "--dsn", owner_dsn, "--probe-external", "--json")
    assert "probed email: up (200" in result.stderr and "probed payments: DOWN (503" in result.stderr
    assert result.returncode == 1  # one service down degrades the whole
    doc = json.loads(result.stdout)
    external = next(c for c in doc["checks"] if c["name"] == "external_services")
    assert external["status"] == "degraded" and "payments: 503" in external["detail"]
    bad = pytest.raises(psycopg.errors.InvalidParameterValue)
    with psycopg.connect(owner_dsn, autocommit=True) as conn, bad:
        conn.execute("select health.watch('Bad Name', 'ftp://x')")


def test_the_worker_probes_external_services(owner_dsn, status_server):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("select health.watch('email', %s)", (status_server + "/up",))
    worker = subprocess.Popen([sys.executable, "-m", "brandbase.cli", "worker", "--dsn", owner_dsn],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with psycopg.connect(owner_dsn) as conn:
                row = conn.execute("select last_ok, last_code from health.external_checks").fetchone()
            if row[0] is not None:
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
    assert row == (True, 200)


def test_anonymous_health_under_postgrest_read_only_get(owner_dsn):
    """GET /rpc/health runs read-only: a fresh verdict is served from the cache (no probe
    runs), a stale one is measured without being stored, and health.check() stays closed."""
    def anon_get(conn: psycopg.Connection) -> dict:
        with conn.transaction():
            conn.execute("set transaction read only")
            conn.execute("set local role anon")
            return conn.execute("select api.health()").fetchone()[0]

    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("select health.refresh_summary()")
        conn.execute("update health.summary_cache set status = 'degraded', checked_at = now()")
        assert anon_get(conn)["status"] == "degraded", "a fresh verdict comes from the cache"
        conn.execute("update health.summary_cache set checked_at = now() - interval '5 minutes'")
        cached = conn.execute("select to_jsonb(checked_at) from health.summary_cache").fetchone()[0]
        stale = anon_get(conn)
        assert set(stale) == {"status", "checked_at"} and stale["checked_at"] != cached, "measured again"

        assert conn.execute("select checked_at < now() - interval '4 minutes' "
                            "from health.summary_cache").fetchone()[0], "read-only: not stored"
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("set local role anon")
            conn.execute("select health.check()")
