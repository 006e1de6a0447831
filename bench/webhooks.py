"""Webhooks: fan-out, delivery throughput and emit-to-delivered latency, against a local
sink (bench/webhook_sink.py, its own process, 127.0.0.1 only) that answers 200 at once.

1. fan-out: one webhooks.emit_many() call of 10,000 small payloads to a brand with 10
   matching endpoints (100,000 delivery rows), timed from the client; delivery rows/s.
2. delivery: 20,000 deliveries (2,000 events x 10 endpoints) through `brandbase worker`
   with --deliveries 50 and 100, sink included. Warm (the headline): the worker is started
   first and is connected and idle (LISTENing, every lane claiming) before the events are
   emitted; timed from the emitting commit until no delivery is pending (polled every
   20 ms: the sink's count until it has them all, then the database). Cold: the
   deliveries are waiting when `brandbase worker --drain` starts; timed from the process's
   start (Python start-up included) until none is pending; the worker's
   own "settled in X s" figure (first round trip to last settle) is shown beside it. The
   warm run is repeated with webhooks.events analyzed in the emitting transaction: a burst
   into a fresh (never analyzed) partition is the worst case for the planner, see the
   report of this bench.
3. latency: 200 single events, 20 ms apart, one endpoint, an idle warm worker (woken by
   NOTIFY): time.time() just after each emitting commit to the sink's time.time() on
   arrival of that webhook-id; median and p99.

Every run gets a fresh database cloned from a migrated template. Each measure runs
--repeats times (interleaved, so drift hits all alike); the table shows the median and
every run.

    .venv/bin/python bench/webhooks.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from common import ROOT, cluster, free_port, header, table
from psycopg.types.json import Jsonb

from brandbase import lanes, migrate, pack
from brandbase import worker as worker_mod

TEMPLATE = "bench_webhooks_template"
RUN_DB = "bench_webhooks_run"
FANOUT_EVENTS = 10_000
ENDPOINTS = 10
DELIVERY_EVENTS = 2_000  # x ENDPOINTS deliveries
DELIVERY_SLOTS = (50, 100)
ANALYZED_SLOTS = 100  # the warm run again with fresh statistics on webhooks.events
LATENCY_EVENTS = 200
LATENCY_GAP = 0.020
POLL = 0.020
RUN_TIMEOUT = 180.0  # seconds any one run may take before it is abandoned
SINK = Path(__file__).resolve().parent / "webhook_sink.py"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never a proxy


class BenchError(RuntimeError):
    pass


# -- processes -----------------------------------------------------------------------------

SPAWNED: list[subprocess.Popen] = []


def spawn(cmd: list[str], **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kwargs)
    SPAWNED.append(proc)
    return proc


def end(proc: subprocess.Popen, wait: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `wait` seconds; only ever a process this script started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    with contextlib.suppress(ValueError):
        SPAWNED.remove(proc)


def end_all() -> None:
    for proc in list(SPAWNED):
        end(proc)


# -- the sink ------------------------------------------------------------------------------

class Sink:
    def __init__(self):
        self.port = free_port()
        self.proc = spawn([sys.executable, str(SINK), "--port", str(self.port), "--lifetime", "3600"],
                          stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.stats()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("the sink did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _call(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
        with NO_PROXY.open(req, timeout=10) as r:
            return json.loads(r.read())

    def stats(self, arrivals: bool = False) -> dict:
        return self._call("/_stats?arrivals=1" if arrivals else "/_stats")

    def reset(self) -> None:
        self._call("/_reset", "POST")


# -- databases -----------------------------------------------------------------------------

def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=10,
                           options=f"-c statement_timeout={int(RUN_TIMEOUT * 1000)}")


def make_template(c) -> str:
    """A migrated database with loopback sinks allowed, one event type and one brand."""
    dsn = c.create_database(TEMPLATE)
    with connect(dsn) as conn:
        migrate.migrate(conn, pack.load(ROOT))
        # Every endpoint is the one loopback sink: the per-host ceiling (1,000/s by default)
        # would measure itself, so it is off here.
        conn.execute("update webhooks.settings set development_mode = true, "
                     "allowed_networks = '{127.0.0.0/8}', host_rate_limit = null")
        conn.execute("insert into webhooks.event_types (event_type, description) "
                      "values ('order.created', 'An order was placed')")
        conn.execute("insert into brand.brands (slug, name, plan) values ('bench', 'Bench', 'pro')")
    return dsn


def fresh(c, sink: Sink, endpoints: int) -> tuple[str, str]:
    """A clone of the template with `endpoints` endpoints to the sink; (dsn, brand id)."""
    dsn = c.create_database(RUN_DB, template=TEMPLATE)
    with connect(dsn) as conn:
        brand = str(conn.execute("select id from brand.brands where slug = 'bench'").fetchone()[0])
        for _ in range(endpoints):
            conn.execute("select * from webhooks.create_endpoint(%s, %s, array['order.*'])",
                         (brand, sink.url))
        conn.execute("vacuum analyze")
    sink.reset()
    return dsn, brand


def payloads(n: int) -> Jsonb:
    return Jsonb([{"order_id": i, "total_cents": 1999 + i, "currency": "EUR"} for i in range(n)])


def emit_many(conn: psycopg.Connection, brand: str, n: int) -> int:
    return conn.execute("select count(*) from webhooks.emit_many(%s, 'order.created', %s)",
                        (brand, payloads(n))).fetchone()[0]


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = POLL) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def pending(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from webhooks.deliveries where status = 'pending'").fetchone()[0]


def check_all_succeeded(conn: psycopg.Connection, expected: int, sink: Sink) -> None:
    ok, other, error = conn.execute(
        "select count(*) filter (where status = 'succeeded'), count(*) filter (where status <> 'succeeded'), "
        "max(last_error) from webhooks.deliveries").fetchone()
    if ok != expected or other:
        raise BenchError(f"{ok} of {expected} deliveries succeeded, {other} did not (e.g. {error})")
    received = sink.stats()["count"]
    if received < expected:
        raise BenchError(f"the sink received {received} of {expected} deliveries")


def wait_drained(conn: psycopg.Connection, worker: subprocess.Popen, log: Path, sink: Sink,
                 expected: int) -> None:
    """Polls until no delivery is pending; fails early if the worker died. Until the sink has
    received them all it polls the sink, not the database: counting pending rows every 20 ms
    took CPU from the system under test."""
    def done() -> bool:
        if worker.poll() not in (None, 0):
            raise BenchError(f"the worker exited with {worker.returncode}: {log.read_text()[-2000:]}")
        return sink.stats()["count"] >= expected and pending(conn) == 0

    try:
        wait_until(done, RUN_TIMEOUT, "every delivery to settle")
    except BenchError:
        stuck = conn.execute("select count(*), max(attempts), max(last_error) from webhooks.deliveries "
                             "where status = 'pending'").fetchone()
        raise BenchError(f"{stuck[0]} deliveries still pending (attempts up to {stuck[1]}, "
                         f"last error {stuck[2]!r}); worker log: {log.read_text()[-2000:]}") from None


# -- the worker ----------------------------------------------------------------------------

@contextlib.contextmanager
def worker(dsn: str, deliveries: int, drain: bool) -> Iterator[tuple[subprocess.Popen, Path]]:
    with tempfile.NamedTemporaryFile("w+", prefix="bench-webhooks-worker-", suffix=".log", delete=False) as f:
        log = Path(f.name)
        cmd = [sys.executable, "-m", "brandbase.cli", "worker", "--dsn", dsn, "--deliveries", str(deliveries),
               "--grace", "5", *(["--drain"] if drain else [])]
        proc = spawn(cmd, stdout=subprocess.DEVNULL, stderr=f, cwd=ROOT)
    try:
        yield proc, log
    finally:
        end(proc)
        log.unlink(missing_ok=True)


def wait_warm(conn: psycopg.Connection, proc: subprocess.Popen, deliveries: int, log: Path) -> None:
    """Until the worker LISTENs on brandbase_webhooks and every delivery lane has made its
    first exchange (a claim in a transaction: the lane's connection shows COMMIT, idle)."""
    want = len(lanes.split(deliveries, per_lane=worker_mod.DELIVERY_LANE))

    def ready() -> bool:
        if proc.poll() is not None:
            raise BenchError(f"the worker exited with {proc.returncode}: {log.read_text()[-2000:]}")
        listening, claiming = conn.execute(
            "select count(*) filter (where query = 'listen brandbase_webhooks'), "
            "count(*) filter (where query = 'COMMIT' and state = 'idle') "
            "from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()").fetchone()
        return listening >= 1 and claiming >= want

    wait_until(ready, 60, "the worker to connect", every=0.05)
    time.sleep(0.2)


# -- the measures --------------------------------------------------------------------------

def fan_out(c, sink: Sink) -> float:
    """Delivery rows per second created by one emit_many call of FANOUT_EVENTS payloads."""
    dsn, brand = fresh(c, sink, ENDPOINTS)
    with connect(dsn) as conn:
        body = payloads(FANOUT_EVENTS)
        started = time.perf_counter()
        conn.execute("select count(*) from webhooks.emit_many(%s, 'order.created', %s)", (brand, body))
        seconds = time.perf_counter() - started
        rows = conn.execute("select count(*) from webhooks.deliveries").fetchone()[0]
    if rows != FANOUT_EVENTS * ENDPOINTS:
        raise BenchError(f"fan-out made {rows} deliveries, not {FANOUT_EVENTS * ENDPOINTS}")
    return rows / seconds


def delivery_warm(c, sink: Sink, deliveries: int, analyze: bool = False) -> float:
    """Deliveries per second, from the emitting commit to none pending, worker already idle.
    analyze: ANALYZE webhooks.events in the emitting transaction (as if autoanalyze had
    caught up with the burst before the worker saw it)."""
    dsn, brand = fresh(c, sink, ENDPOINTS)
    expected = DELIVERY_EVENTS * ENDPOINTS
    with connect(dsn) as conn, worker(dsn, deliveries, drain=False) as (proc, log):
        wait_warm(conn, proc, deliveries, log)
        with conn.transaction():
            emit_many(conn, brand, DELIVERY_EVENTS)
            if analyze:
                conn.execute("analyze webhooks.events")
        started = time.perf_counter()
        wait_drained(conn, proc, log, sink, expected)
        seconds = time.perf_counter() - started
        check_all_succeeded(conn, expected, sink)
    return expected / seconds


def delivery_cold(c, sink: Sink, deliveries: int) -> tuple[float, float]:
    """(deliveries/s from process start to none pending, deliveries/s by the worker's own
    'settled in X s'), the deliveries waiting before `brandbase worker --drain` starts."""
    dsn, brand = fresh(c, sink, ENDPOINTS)
    expected = DELIVERY_EVENTS * ENDPOINTS
    with connect(dsn) as conn:
        emit_many(conn, brand, DELIVERY_EVENTS)
        with worker(dsn, deliveries, drain=True) as (proc, log):
            started = time.perf_counter()
            wait_drained(conn, proc, log, sink, expected)
            seconds = time.perf_counter() - started
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                raise BenchError("the --drain worker did not exit within 60 s of the last delivery") from None
            text = log.read_text()
            if proc.returncode:
                raise BenchError(f"the worker exited with {proc.returncode}: {text[-2000:]}")
            own = re.search(r"settled in ([\d.]+) s", text)
        check_all_succeeded(conn, expected, sink)
    return expected / seconds, (expected / float(own.group(1)) if own else float("nan"))


def latency(c, sink: Sink, deliveries: int = 50) -> list[float]:
    """Seconds from each emitting commit to the sink's arrival, one event at a time."""
    dsn, brand = fresh(c, sink, 1)
    emitted: dict[str, float] = {}
    with connect(dsn) as conn, worker(dsn, deliveries, drain=False) as (proc, log):
        wait_warm(conn, proc, deliveries, log)
        for i in range(LATENCY_EVENTS):
            event = conn.execute("select webhooks.emit(%s, 'order.created', %s)",
                                 (brand, Jsonb({"order_id": i}))).fetchone()[0]
            emitted["msg_" + event.hex] = time.time()
            time.sleep(LATENCY_GAP)
        wait_until(lambda: sink.stats()["count"] >= LATENCY_EVENTS, 60, "the sink to receive every event",
                   every=0.1)
        arrivals = sink.stats(arrivals=True)["arrivals"]
    missing = set(emitted) - set(arrivals)
    if missing:
        raise BenchError(f"{len(missing)} events never reached the sink")
    return [arrivals[m] - t for m, t in emitted.items()]


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


# -- the report ----------------------------------------------------------------------------

def fmt_rate(v: float) -> str:
    return f"{v:,.0f}/s"


def fmt_ms(v: float) -> str:
    return f"{v * 1000:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: below
    c = cluster()
    samples: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)
        print(f"  {name}: {value:,.4g}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        sink = Sink()
        make_template(c)
        for n in range(args.repeats):
            print(f"round {n + 1} of {args.repeats}", file=sys.stderr, flush=True)
            add("fan-out", fan_out(c, sink))
            for slots in DELIVERY_SLOTS:
                add(f"warm {slots}", delivery_warm(c, sink, slots))
            add(f"warm analyzed {ANALYZED_SLOTS}", delivery_warm(c, sink, ANALYZED_SLOTS, analyze=True))
            for slots in DELIVERY_SLOTS:
                wall, own = delivery_cold(c, sink, slots)
                add(f"cold {slots}", wall)
                add(f"cold own {slots}", own)
            lat = latency(c, sink)
            add("latency median", statistics.median(lat))
            add("latency p99", p99(lat))
            add("latency max", max(lat))
    finally:
        end_all()
        for name in (RUN_DB, TEMPLATE):
            with contextlib.suppress(Exception):
                c.drop_database(name)
    load_after = os.getloadavg()

    def med(name: str) -> float:
        return statistics.median(samples[name])

    def runs(name: str, fmt: Callable[[float], str]) -> str:
        return " / ".join(fmt(v) for v in samples[name])

    def verdict(ok: bool) -> str:
        return "✔" if ok else "✘"

    rows = [[f"fan-out: emit_many of {FANOUT_EVENTS:,} events x {ENDPOINTS} endpoints, delivery rows",
             fmt_rate(med("fan-out")), "≥ 50,000/s", verdict(med("fan-out") >= 50_000),
             runs("fan-out", fmt_rate)]]
    for slots in DELIVERY_SLOTS:
        rows.append([f"delivery, warm worker --deliveries {slots} (emit commit → none pending)",
                     fmt_rate(med(f"warm {slots}")), "≥ 3,000/s", verdict(med(f"warm {slots}") >= 3000),
                     runs(f"warm {slots}", fmt_rate)])
    name = f"warm analyzed {ANALYZED_SLOTS}"
    rows.append([f"  same, --deliveries {ANALYZED_SLOTS}, webhooks.events analyzed in the emit transaction",
                 fmt_rate(med(name)), "(info)", "", runs(name, fmt_rate)])
    for slots in DELIVERY_SLOTS:
        rows.append([f"delivery, --drain --deliveries {slots} from process start (Python start-up incl.)",
                     fmt_rate(med(f"cold {slots}")), "≥ 3,000/s", verdict(med(f"cold {slots}") >= 3000),
                     runs(f"cold {slots}", fmt_rate)])
        rows.append(["  same, by the worker's own 'settled in X s'", fmt_rate(med(f"cold own {slots}")),
                     "(info)", "", runs(f"cold own {slots}", fmt_rate)])
    rows += [
        [f"latency emit → delivered, median ({LATENCY_EVENTS} events, idle warm worker)",
         fmt_ms(med("latency median")), "< 100 ms", verdict(med("latency median") < 0.1),
         runs("latency median", fmt_ms)],
        ["latency emit → delivered, p99", fmt_ms(med("latency p99")), "< 1 s",
         verdict(med("latency p99") < 1.0), runs("latency p99", fmt_ms)],
        ["latency emit → delivered, max", fmt_ms(med("latency max")), "(info)", "",
         runs("latency max", fmt_ms)],
    ]
    header(f"webhooks: fan-out, delivery to a local 200 sink, latency; median of {args.repeats}")
    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after; {time.monotonic() - started:.0f} s in all; "
          f"{DELIVERY_EVENTS * ENDPOINTS:,} deliveries per delivery run\n")
    table(["measure", "value", "target", "", "runs"], rows)


if __name__ == "__main__":
    try:
        main()
    finally:
        end_all()
