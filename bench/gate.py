"""The rate limiter and the request hook, each side by side with its floors in one run,
variants alternating in rounds, medians.

Rate limiter: ratelimit.check() (8 pgbench clients over 10,000 keys: checks/s; and backend
CPU per call from one client, read from /proc) next to
  - `select 1` (the server's ceiling with this driver),
  - a bare single-row UPDATE of the bucket table, as a statement,
  - the bare-UPDATE floor: a PL/pgSQL function of check()'s signature whose only statement
    is that bare UPDATE (the floor of any PL/pgSQL limiter that keeps its state in a table),
  - check()'s own UPDATE alone in a function of the same signature,
  - Redis running the same GCRA as a Lua script (EVALSHA; redis-benchmark with 8 clients,
    and the Python redis client from one connection for the server's CPU per call).
Target: check() >= 0.85 of the bare-UPDATE floor.

Request hook: brandbase.pre_request() driven as PostgREST calls it (role, claims and
headers set in one statement, then the hook; a POST), anonymous and as a member charged to
its brand, next to the same request shape with `select 1` in its place. Its added backend
CPU per request (hook minus shape, one client), split per function (track_functions = all,
pg_stat_user_functions), for this tree and for the pack of --before (default: c162ecb, the
release issue 16 measures against), installed side by side in one cluster. Target: after <=
half of before. Each target's figure and verdict is printed (MET / MISSED).

    scripts/bench-deps.sh && .venv/bin/python bench/gate.py [--rounds 3] [--seconds 5]
    .venv/bin/python bench/gate.py --quick        # well under a minute, no baseline

--compare OLD_ROOT runs only the hook's throughput, alternating with the pack in OLD_ROOT.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from capture import pgbench
from common import ROOT, cluster, free_port, header, table

from brandbase import migrate, pack

KEYS = 10_000
CLIENTS = 8
# "Today's" hook for the target of issue 16 (added CPU per request at most half of it).
BASELINE = "c162ecb"
# rate 100 per second, burst 10: emission 10 ms, tolerance 110 ms, cost 1.
CHECK = (f"\\set k random(1, {KEYS})\n"
         "select allowed from ratelimit.check('key:' || :k, 100, '1 second', 10);\n")
# The floor of any limiter that keeps its state in a table: one bare single-row UPDATE of
# the (unlogged) bucket table, no function, no arithmetic (run after CHECK made the keys).
BARE_UPDATE = (f"\\set k random(1, {KEYS})\n"
               "update ratelimit.buckets set tat = tat + 1 where key = 'key:' || :k;\n")
GCRA_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local emission, tolerance, increment = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local new_tat = math.max(tat, now) + increment
if new_tat - tolerance <= now then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
  return 1
end
return 0
"""


RULES = """
insert into access.ip_rules (brand_id, network, action)
select '00000000-0000-0000-0000-000000000000', set_masklen(
           ((g % 223 + 1) || '.' || (g * 7 % 256) || '.' || (g * 13 % 256) || '.0')::inet,
           24)::cidr, 'deny'
from generate_series(1, 100000) as g
on conflict do nothing
"""


LOOKUPS = """
select count(*) from generate_series(1, %s) as g,
lateral access.decide(
    null, ((g * 7919 %% 223 + 1) || '.' || (g %% 256) || '.' || (g * 31 %% 256) || '.9')::inet, null
) as d
"""


def ip_lookup_ms(dsn: str, runs: int = 20000) -> tuple[float, float, int]:
    """access.decide() with 100,000 rules: server time per call (a loop of lookups inside
    one statement) and the median round trip of single prepared calls from a client."""
    import random
    import statistics

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(RULES)
        conn.execute("analyze access.ip_rules")
        rules = conn.execute("select count(*) from access.ip_rules").fetchone()[0]
        started = time.perf_counter()
        conn.execute(LOOKUPS, (runs,))
        per_call = (time.perf_counter() - started) * 1000 / runs
        rng = random.Random(7)
        samples = []
        for _ in range(2000):
            ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            started = time.perf_counter()
            conn.execute("select allowed from access.decide(null, %s::inet, null)", (ip,), prepare=True)
            samples.append((time.perf_counter() - started) * 1000)
    return per_call, statistics.median(samples), rules


HOOK_SETUP = """
insert into brand.brands (id, slug, name, plan)
select md5('gate' || g)::uuid, 'gate-' || g, 'Gate ' || g, 'enterprise' from generate_series(1, 100) as g;
insert into auth.users (id, email)
select md5('gate-user' || g)::uuid, 'gate-' || g || '@bench.test' from generate_series(1, 100) as g;
insert into brand.members (brand_id, user_id, tier)
select md5('gate' || g)::uuid, md5('gate-user' || g)::uuid, 'member' from generate_series(1, 100) as g;
update ratelimit.policies set rate = 1000000, burst = 1000 where api_role in ('anon', 'authenticated');
-- Since 0021 the client address is believed only from a configured proxy; configure the
-- one this bench pretends to be behind (older packs believed X-Forwarded-For anyway).
do $$
begin
    if to_regprocedure('brandbase.pre_request()') is not null then
        insert into access.settings (name, value) values ('client_ip_header', 'x-forwarded-for')
        on conflict do nothing;
    end if;
end
$$;
"""

# What PostgREST does per request before the query: role, claims and headers in one
# statement, then the hook. A write (POST): PostgREST runs GET and HEAD read-only, where
# the hook skips the rate limit and the quota; the target is for the whole chain.
# {hook} is the hook's name in the installed pack (api.pre_request before 0021).
HOOK = """\\set a random(1, 250)
\\set b random(1, 250)
\\set brand random(1, 100)
begin;
select set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{{"role": "anon"}}', true),
       set_config('request.method', 'POST', true),
       set_config('request.headers', json_build_object('x-forwarded-for', '198.51.' || :a || '.' || :b,
                  'x-brand-id', md5('gate' || :brand)::uuid)::text, true);
select {hook};
commit;
"""
# A member of the brand it names: charged to it (brand and route policies, the quota).
HOOK_MEMBER = """\\set a random(1, 250)
\\set b random(1, 250)
\\set brand random(1, 100)
begin;
select set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', json_build_object('sub', md5('gate-user' || :brand)::uuid,
                  'role', 'authenticated')::text, true),
       set_config('request.method', 'POST', true),
       set_config('request.headers', json_build_object('x-forwarded-for', '198.51.' || :a || '.' || :b,
                  'x-brand-id', md5('gate' || :brand)::uuid)::text, true);
select {hook};
commit;
"""


def hook_of(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("select coalesce(to_regprocedure('brandbase.pre_request()')::text, "
                            "'api.pre_request()')").fetchone()[0]


def script(template: str, hook: str) -> str:
    return template.format(hook=hook)


SHAPE = HOOK.replace("select {hook};", "select 1;")


def compare(c, old_root: Path, seconds: int, rounds: int) -> None:
    """The hook of an older pack against this one's, alternating, in one cluster."""
    import statistics

    dsns = {}
    for name, root in (("old", old_root), ("new", None)):
        dsns[name] = c.create_database(f"bench_gate_{name}")
        with psycopg.connect(dsns[name], autocommit=True) as conn:
            migrate.migrate(conn, pack.load(root))
            conn.execute(HOOK_SETUP)
    hooks = {name: hook_of(dsn) for name, dsn in dsns.items()}
    tps: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        for variant, template in (("shape", SHAPE), ("anon", HOOK), ("member", HOOK_MEMBER)):
            for name in order:
                tps.setdefault((variant, name), []).append(
                    pgbench(dsns[name], script(template, hooks[name]), CLIENTS, seconds)[0])
    header(f"Request hook, old ({old_root}) against new: {CLIENTS} clients, {rounds} rounds "
           f"of {seconds} s, alternating")
    rows = []
    for variant, label in (("shape", "same shape, select 1 in place of the hook"),
                           ("anon", "anonymous, naming a brand"),
                           ("member", "a member, naming its brand (charged)")):
        old, new = (statistics.median(tps[(variant, n)]) for n in ("old", "new"))
        rows.append([label, f"{old:,.0f}", f"{new:,.0f}", f"{new / old:.2f}",
                     " / ".join(f"{t:,.0f}" for t in tps[(variant, "old")]),
                     " / ".join(f"{t:,.0f}" for t in tps[(variant, "new")])])
    table(["requests/s (median)", f"old: {hooks['old']}", f"new: {hooks['new']}", "new / old",
           "old runs", "new runs"], rows)
    for name in dsns:
        c.drop_database(f"bench_gate_{name}")


FLOOR_BARE = """
create schema if not exists bench;
create or replace function bench.floor_update(
    key text, rate integer, period interval, burst integer default 0, cost integer default 1,
    out allowed boolean, out capacity integer, out remaining integer,
    out reset_after double precision, out retry_after double precision
)
language plpgsql
as $$
begin
    update ratelimit.buckets as b set tat = b.tat + 1 where b.key = $1;
end
$$;
"""


def floor_same_sql(conn) -> str:
    """check()'s hot-path UPDATE (with the two clock and period variables it reads) as the
    only statement of a function of the same signature: what the statement itself costs."""
    src = conn.execute("select prosrc from pg_proc where oid = 'ratelimit.check(text, integer, interval, "
                       "integer, integer)'::regprocedure").fetchone()[0]
    declares = "\n".join(line for line in src.splitlines()
                         if re.match(r"\s+(now_us|period_us) bigint :=", line))
    update = re.search(r"(update ratelimit\.buckets as b\s+set tat = case.*?into allowed[^;]*;)",
                       src, re.S)[1]
    return f"""
create or replace function bench.floor_check_update(
    key text, rate integer, period interval, burst integer default 0, cost integer default 1,
    out allowed boolean, out capacity integer, out remaining integer,
    out reset_after double precision, out retry_after double precision
)
language plpgsql
as $f$
declare
{declares}
begin
    {update}
end
$f$;
"""


HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """Seconds of CPU a process has used: its scheduler run time in nanoseconds
    (/proc/<pid>/schedstat), else user + system time in clock ticks (1/HZ s, coarse)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ


LIMITERS = {
    # name: (pgbench script, the same call for one client's CPU; %s is the key number)
    "select 1": ("select 1;\n", "select %s::integer"),
    "bare UPDATE of the bucket table (a statement)": (
        BARE_UPDATE, "update ratelimit.buckets set tat = tat + 1 where key = 'key:' || %s"),
    "bare-UPDATE floor: PL/pgSQL, only that UPDATE": (
        CHECK.replace("ratelimit.check", "bench.floor_update"),
        "select allowed from bench.floor_update('key:' || %s, 100, '1 second', 10)"),
    "check()'s own UPDATE alone in PL/pgSQL": (
        CHECK.replace("ratelimit.check", "bench.floor_check_update"),
        "select allowed from bench.floor_check_update('key:' || %s, 100, '1 second', 10)"),
    "ratelimit.check()": (CHECK, "select allowed from ratelimit.check('key:' || %s, 100, '1 second', 10)"),
}


def backend_cpu_us(dsn: str, query: str, calls: int) -> float:
    """Backend CPU per call of one client running query calls times (each its own
    transaction, prepared), read from /proc: less disturbed by a shared machine than time."""
    rng = random.Random(3)
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        for _ in range(50):
            conn.execute(query, (rng.randint(1, KEYS),), prepare=True)
        started = proc_cpu(pid)
        for _ in range(calls):
            conn.execute(query, (rng.randint(1, KEYS),), prepare=True)
        return (proc_cpu(pid) - started) / calls * 1e6


class Redis:
    """A private redis-server with the GCRA script loaded."""

    def __init__(self, tmp: str):
        self.port = free_port()
        self.server = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                        "--save", "", "--appendonly", "no", "--dir", tmp],
                                       stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        self.sha = subprocess.run(["redis-cli", "-p", str(self.port), "SCRIPT", "LOAD", GCRA_LUA],
                                  capture_output=True, text=True, check=True).stdout.strip()

    def rate(self, seconds: float) -> float:
        requests = int(60_000 * seconds)  # bounded; about as long as a pgbench run
        out = subprocess.run(["redis-benchmark", "-p", str(self.port), "-c", str(CLIENTS), "-n",
                              str(requests), "-r", str(KEYS), "-q", "EVALSHA", self.sha, "1",
                              "key:__rand_int__", "10", "110", "10"],
                             capture_output=True, text=True, check=True).stdout
        return float(re.findall(r"([\d.]+) requests per second", out)[-1])

    def cpu_us(self, calls: int) -> float | None:
        """redis-server's CPU per EVALSHA from one client (the Python redis client)."""
        try:
            import redis
        except ImportError:
            return None
        client = redis.Redis(port=self.port)
        rng = random.Random(3)
        started = proc_cpu(self.server.pid)
        for _ in range(calls):
            client.evalsha(self.sha, 1, f"key:{rng.randint(1, KEYS)}", 10, 110, 10)
        used = proc_cpu(self.server.pid) - started
        client.close()
        return used / calls * 1e6

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)


def limiter(dsn: str, rounds: int, seconds: float, calls: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FLOOR_BARE)
        conn.execute(floor_same_sql(conn))
    pgbench(dsn, CHECK, CLIENTS, max(1, int(seconds)))  # every key made, caches warm
    tps: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    names = list(LIMITERS) + ["Redis GCRA Lua script (EVALSHA)"]
    have_redis = bool(shutil.which("redis-server") and shutil.which("redis-benchmark"))
    with tempfile.TemporaryDirectory() as tmp:
        redis = Redis(tmp) if have_redis else None
        try:
            for r in range(rounds):
                for name in (names if r % 2 == 0 else names[::-1]):
                    if name in LIMITERS:
                        script, query = LIMITERS[name]
                        rate, _ = pgbench(dsn, script, CLIENTS, max(1, int(seconds)))
                        tps.setdefault(name, []).append(rate)
                        cpu.setdefault(name, []).append(backend_cpu_us(dsn, query, calls))
                    elif redis:
                        tps.setdefault(name, []).append(redis.rate(seconds))
                        used = redis.cpu_us(calls)
                        if used is not None:
                            cpu.setdefault(name, []).append(used)
        finally:
            if redis:
                redis.close()
    med_tps = {n: statistics.median(v) for n, v in tps.items()}
    med_cpu = {n: statistics.median(v) for n, v in cpu.items()}
    header(f"Rate limiter: {CLIENTS} clients, {KEYS:,} keys, {rounds} alternating rounds of {seconds} s, "
           f"medians; CPU: one client, {calls:,} calls")
    check_tps, check_cpu = med_tps["ratelimit.check()"], med_cpu["ratelimit.check()"]
    rows = []
    for n in names:
        if n not in med_tps:
            rows.append([n, "not installed (scripts/bench-deps.sh)", "-", "-", "-", "-"])
            continue
        c = med_cpu.get(n)
        rows.append([n, f"{med_tps[n]:,.0f}", " / ".join(f"{t:,.0f}" for t in tps[n]),
                     f"{c:.1f} µs" if c else "-",
                     f"{check_tps / med_tps[n]:.2f}", f"{c / check_cpu:.2f}" if c else "-"])
    table(["variant", "checks/s", "rounds", "backend CPU per call",
           "check() / variant, by rate", "variant CPU / check() CPU"], rows)
    floor = "bare-UPDATE floor: PL/pgSQL, only that UPDATE"
    by_rate, by_cpu = check_tps / med_tps[floor], med_cpu[floor] / check_cpu
    print(f"ratelimit.check() / bare-UPDATE floor: {by_rate:.2f} by rate, {by_cpu:.2f} by CPU "
          "(target >= 0.85)")
    print(f"target 1, check() >= 0.85 of the bare-UPDATE floor: by rate {verdict(by_rate >= 0.85)}, "
          f"by CPU {verdict(by_cpu >= 0.85)}")
    redis = "Redis GCRA Lua script (EVALSHA)"
    if redis in med_tps:
        print(f"ratelimit.check() / Redis: {check_tps / med_tps[redis]:.2f} by rate"
              + (f", {med_cpu[redis] / check_cpu:.2f} by CPU" if redis in med_cpu else ""))
    print()


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def hook_cpu(dsn: str, kind: str, hook: str, users: list[str], brands: list[str], calls: int) -> float:
    """Backend CPU per request of one client: PostgREST's shape (role, claims, headers in one
    statement) then `select <hook>` (or `select 1` when hook is None), each request its own
    transaction."""
    rng = random.Random(5)
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        started = None
        for i in range(calls + 50):
            if i == 50:
                started = proc_cpu(pid)
            k = rng.randint(0, len(brands) - 1)
            headers = (f'{{"x-forwarded-for": "198.51.{rng.randint(1, 250)}.{rng.randint(1, 250)}", '
                       f'"x-brand-id": "{brands[k]}"}}')
            if kind == "anon":
                role, claims = "anon", '{"role": "anon"}'
            else:
                role, claims = "authenticated", f'{{"sub": "{users[k]}", "role": "authenticated"}}'
            with conn.transaction():
                conn.execute("select set_config('role', %s, true), "
                             "set_config('request.jwt.claims', %s, true), "
                             "set_config('request.method', 'POST', true), "
                             "set_config('request.headers', %s, true)",
                             (role, claims, headers), prepare=True)
                conn.execute(f"select {hook}" if hook else "select 1", prepare=True)
        used = proc_cpu(pid) - started
        time.sleep(1.1)  # the backend flushes its function statistics when idle for a second
    return used / calls * 1e6


def function_times(superuser_dsn: str) -> dict[str, tuple[int, float]]:
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(
            "select schemaname || '.' || funcname, calls, self_time from pg_stat_user_functions")}


def hook_section(c, dsns: dict[str, str], rounds: int, seconds: float, calls: int, throughput: bool) -> None:
    supers, hooks, users, brands = {}, {}, {}, {}
    for name, dsn in dsns.items():
        db = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        supers[name] = c.url(superuser=True, dbname=db)
        with psycopg.connect(supers[name], autocommit=True) as conn:
            conn.execute(f"alter database {db} set track_functions = 'all'")
            brands[name] = [r[0] for r in conn.execute(
                "select md5('gate' || g)::uuid::text from generate_series(1, 100) as g")]
            users[name] = [r[0] for r in conn.execute(
                "select md5('gate-user' || g)::uuid::text from generate_series(1, 100) as g")]
        hooks[name] = hook_of(dsn)
    added: dict[tuple[str, str], list[float]] = {}
    shape_cpu: dict[tuple[str, str], list[float]] = {}
    per_fn: dict[tuple[str, str], list[dict[str, float]]] = {}
    tps: dict[tuple[str, str], list[float]] = {}
    names = list(dsns)
    for r in range(rounds):
        for kind in ("anon", "member"):
            for name in (names if r % 2 == 0 else names[::-1]):
                dsn = dsns[name]
                shape = hook_cpu(dsn, kind, None, users[name], brands[name], calls)
                before = function_times(supers[name])
                with_hook = hook_cpu(dsn, kind, hooks[name], users[name], brands[name], calls)
                after = function_times(supers[name])
                added.setdefault((name, kind), []).append(with_hook - shape)
                shape_cpu.setdefault((name, kind), []).append(shape)
                per_fn.setdefault((name, kind), []).append({
                    f: (t - before.get(f, (0, 0.0))[1]) * 1000 / calls
                    for f, (_, t) in after.items() if t > before.get(f, (0, 0.0))[1]})
                if throughput:
                    template = HOOK if kind == "anon" else HOOK_MEMBER
                    tps.setdefault((name, kind), []).append(
                        pgbench(dsn, script(template, hooks[name]), CLIENTS, max(1, int(seconds)))[0])
                    tps.setdefault((name, "shape"), []).append(
                        pgbench(dsn, script(SHAPE, hooks[name]), CLIENTS, max(1, int(seconds)))[0])
    header(f"Request hook: added backend CPU per request, one client, {calls:,} requests per variant, "
           f"{rounds} alternating rounds, medians")
    rows = []
    for kind, label in (("anon", "anonymous, naming a brand"), ("member", "a member, charged to its brand")):
        for name in names:
            a = statistics.median(added[(name, kind)])
            row = [label, f"{name}: {hooks[name]}", f"{statistics.median(shape_cpu[(name, kind)]):.0f} µs",
                   f"{a:.0f} µs", " / ".join(f"{x:.0f}" for x in added[(name, kind)])]
            if "before" in dsns and name == "after":
                row.append(f"{a / statistics.median(added[('before', kind)]):.2f}")
            else:
                row.append("-")
            if throughput:
                row.append(f"{statistics.median(tps[(name, kind)]):,.0f}/s "
                           f"(shape {statistics.median(tps[(name, 'shape')]):,.0f}/s)")
            rows.append(row)
    cols = ["request", "pack", "shape alone", "added by the hook", "rounds", "after / before (<= 0.5)"]
    table(cols + ([f"{CLIENTS} clients"] if throughput else []), rows)
    if "before" in dsns:
        for kind, label in (("anon", "anonymous, naming a brand"),
                            ("member", "a member, charged to its brand")):
            after, before = (statistics.median(added[(n, kind)]) for n in ("after", "before"))
            print(f"target 2, the hook's added CPU at most half of {BASELINE}'s, {label}: "
                  f"{after:.0f} µs vs {before:.0f} µs = {after / before:.2f} -> "
                  f"{verdict(after <= before / 2)}")
        print()
    rows = []
    for name in names:
        for kind in ("anon", "member"):
            samples = per_fn[(name, kind)]
            fns = sorted(set().union(*samples),
                         key=lambda f, samples=samples: -statistics.median([s.get(f, 0) for s in samples]))
            for f in fns:
                v = statistics.median([s.get(f, 0) for s in samples])
                if v >= 0.5:
                    rows.append([name, kind, f, f"{v:.1f} µs"])
    table(["pack", "request", "function (track_functions = all)", "self time per request"], rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5, help="seconds per pgbench run (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--calls", type=int, default=3000, help="calls per CPU measurement (default 3000)")
    ap.add_argument("--before", default=BASELINE,
                    help=f"git ref of the hook's baseline (default {BASELINE}, the release the target of "
                         "issue 16 names; 'auto': the merge base with main; 'none': skip)")
    ap.add_argument("--quick", action="store_true",
                    help="one short round, no baseline, no throughput of the hook")
    ap.add_argument("--only", choices=["limiter", "hook"], help="run one of the two sections")
    ap.add_argument("--compare", type=Path, metavar="OLD_ROOT",
                    help="run only the hook's throughput, alternating with the pack found in OLD_ROOT")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.calls = 1, 2, 400
        if args.before in ("auto", BASELINE):
            args.before = "none"
    c = cluster()
    if args.compare:
        compare(c, args.compare, int(args.seconds), args.rounds)
        return
    dsn = c.create_database("bench_gate")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
    if args.only != "hook":
        limiter(dsn, args.rounds, args.seconds, args.calls)
    if args.only == "limiter":
        c.drop_database("bench_gate")
        return

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(HOOK_SETUP)
    dsns = {}
    with tempfile.TemporaryDirectory() as old_root:
        ref = args.before
        if ref == "auto":
            ref = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
                                 capture_output=True, text=True).stdout.strip() or "none"
        if ref != "none":
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref],
                                     capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", old_root], input=archive.stdout, check=True)
            dsns["before"] = c.create_database("bench_gate_before")
            with psycopg.connect(dsns["before"], autocommit=True) as conn:
                migrate.migrate(conn, pack.load(Path(old_root)))
                conn.execute(HOOK_SETUP)
            print(f"baseline: the pack at {ref[:12]}\n")
        dsns["after"] = dsn
        hook_section(c, dsns, args.rounds, args.seconds, args.calls // 2, not args.quick)
    if "before" in dsns:
        c.drop_database("bench_gate_before")
    if not args.quick:
        per_call, round_trip, rules = ip_lookup_ms(dsn)
        table(["IP rule lookup", "rules", "server time per call", "median round trip", "target"],
              [["access.decide()", f"{rules:,}", f"{per_call:.3f} ms", f"{round_trip:.3f} ms", "< 0.2 ms"]])
    c.drop_database("bench_gate")


if __name__ == "__main__":
    main()
