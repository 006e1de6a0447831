"""Health and metrics from the database: `brandbase health` (exit 0 ok / 1 degraded /
2 down) and `brandbase metrics` (Prometheus text exposition, or served over HTTP)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The exit code of `brandbase health` and the value of the status gauges alike.
EXIT_CODES = {"ok": 0, "degraded": 1, "down": 2}


def check(conn: psycopg.Connection) -> dict:
    """health.check()'s document; a database without the health module is down."""
    installed = conn.execute("select to_regprocedure('health.check()') is not null").fetchone()[0]
    if not installed:
        return {"status": "down", "checks": [{"name": "health_module", "status": "down",
                                              "detail": "brandbase is not installed here"}]}
    return conn.execute("select health.check()").fetchone()[0]


def probe_external(conn: psycopg.Connection) -> list[tuple[str, bool, str]]:
    """GET every watched URL once, record each result; returns (name, ok, what happened).
    2xx and 3xx are up; anything else, a timeout or a refused connection is down."""
    results = []
    for name, url, timeout_ms in conn.execute(
            "select name, url, timeout_ms from health.external_checks order by name").fetchall():
        started = time.perf_counter()
        code, error = None, None
        try:
            with urllib.request.urlopen(url, timeout=timeout_ms / 1000) as response:  # noqa: S310
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        latency = round((time.perf_counter() - started) * 1000, 1)
        ok = code is not None and code < 400
        conn.execute("select health.record_external(%s, %s, %s::integer, %s::numeric, %s)",
                     (name, ok, code, latency, error))
        results.append((name, ok, f"{code or error} in {latency} ms"))
    return results


JOB_FIGURES = """
select queue, ready, running, scheduled, dead, oldest_ready_age_s from jobs.queue_stats
"""

WEBHOOK_FIGURES = """
select
    (select count(*) from webhooks.deliveries where status = 'pending'),
    count(*), count(*) filter (where status_code is null or status_code >= 300),
    (select count(*) from webhooks.endpoints where not enabled)
from webhooks.attempts where attempted_at > now() - interval '1 hour'
"""

# The request hook's refusals, one sequence per reason (sequences survive the rollback).
REFUSALS = """
select substr(sequencename, length('refused_') + 1), coalesce(last_value, 0)
from pg_sequences where schemaname = 'api' and sequencename like 'refused\\_%'
"""

DATABASE_FIGURES = """
select numbackends, xact_commit, xact_rollback, blks_read, blks_hit, deadlocks,
       pg_database_size(datname), age(datfrozenxid)
from pg_stat_database join pg_database using (datname)
where datname = current_database()
"""


class PackCollector(Collector):
    """Collects on every scrape, over one reused connection (re-opened after a failure)."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="brandbase-metrics")
        return self.conn

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("brandbase_up", "1 when the database answered this scrape")
        try:
            conn = self._connection()
            doc = check(conn)
            figures = conn.execute(DATABASE_FIGURES).fetchone()
            queues = conn.execute(JOB_FIGURES).fetchall()
            deliveries = conn.execute(WEBHOOK_FIGURES).fetchone()
            refusals = conn.execute(REFUSALS).fetchall()
        except psycopg.Error:
            self.conn = None
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._health(doc)
        yield from self._database(figures)
        yield from self._jobs(queues)
        yield from self._webhooks(deliveries)
        yield self._refusals(refusals)

    @staticmethod
    def _health(doc: dict) -> Iterator[Metric]:
        overall = GaugeMetricFamily("brandbase_health_status",
                                    "Overall health: 0 ok, 1 degraded, 2 down")
        overall.add_metric([], EXIT_CODES[doc["status"]])
        status = GaugeMetricFamily("brandbase_health_check_status",
                                   "Per check: 0 ok, 1 degraded, 2 down", labels=["check", "module"])
        value = GaugeMetricFamily("brandbase_health_check_value",
                                  "Per check: the measured value, in the check's unit",
                                  labels=["check", "module", "unit"])
        for c in doc["checks"]:
            status.add_metric([c["name"], c.get("module", "")], EXIT_CODES[c["status"]])
            if c.get("value") is not None:
                value.add_metric([c["name"], c.get("module", ""), c.get("unit", "")], float(c["value"]))
        yield from (overall, status, value)

    @staticmethod
    def _jobs(queues: list[tuple]) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("brandbase_jobs", "Jobs per queue and state", labels=["queue", "state"])
        age = GaugeMetricFamily("brandbase_jobs_oldest_ready_age_seconds",
                                "Age of the oldest ready job per queue", labels=["queue"])
        for queue, ready, running, scheduled, dead, oldest in queues:
            for state, n in (("ready", ready), ("running", running), ("scheduled", scheduled),
                             ("dead", dead)):
                jobs.add_metric([queue, state], n)
            age.add_metric([queue], float(oldest))
        yield from (jobs, age)

    @staticmethod
    def _webhooks(figures: tuple) -> Iterator[Metric]:
        pending, attempts, failed, disabled = figures
        yield GaugeMetricFamily("brandbase_webhook_deliveries_pending", "Deliveries waiting to be sent",
                                value=pending)
        yield GaugeMetricFamily("brandbase_webhook_attempts_last_hour", "Delivery attempts in the last hour",
                                value=attempts)
        yield GaugeMetricFamily("brandbase_webhook_attempts_failed_last_hour",
                                "Delivery attempts that failed in the last hour", value=failed)
        yield GaugeMetricFamily("brandbase_webhook_endpoints_disabled", "Endpoints disabled", value=disabled)

    @staticmethod
    def _refusals(counts: list[tuple]) -> Metric:
        refused = CounterMetricFamily("brandbase_requests_refused",
                                      "Requests the request hook refused, by reason (reads excepted)",
                                      labels=["reason"])
        for reason, n in counts:
            refused.add_metric([reason], n)
        return refused

    @staticmethod
    def _database(figures: tuple) -> Iterator[Metric]:
        backends, commits, rollbacks, reads, hits, deadlocks, size, xid_age = figures
        yield GaugeMetricFamily("brandbase_pg_backends", "Sessions connected to this database",
                                value=backends)
        yield CounterMetricFamily("brandbase_pg_transactions_committed", "Committed transactions",
                                  value=commits)
        yield CounterMetricFamily("brandbase_pg_transactions_rolled_back", "Rolled-back transactions",
                                  value=rollbacks)
        yield CounterMetricFamily("brandbase_pg_blocks_read", "Blocks read from disk", value=reads)
        yield CounterMetricFamily("brandbase_pg_blocks_hit", "Blocks found in shared buffers", value=hits)
        yield CounterMetricFamily("brandbase_pg_deadlocks", "Deadlocks detected", value=deadlocks)
        yield GaugeMetricFamily("brandbase_pg_database_size_bytes", "Size of this database", value=size)
        yield GaugeMetricFamily("brandbase_pg_xid_age", "Transactions since the oldest unfrozen xid",
                                value=xid_age)
