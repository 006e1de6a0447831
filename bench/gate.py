"""Rate limiter throughput: ratelimit.check() with pgbench, 8 clients, 10,000 distinct keys,
against a Redis GCRA limiter (a Lua script with the same limits, EVALSHA) driven the
same way by redis-benchmark, in the same run. Target: >= 15,000 checks/s.

The request hook: brandbase.pre_request() driven as PostgREST calls it (role, claims and
headers set in one statement, then the hook), anonymous and as a member charged to its
brand, next to a script of the same shape with `select 1` in its place (the ceiling of that
shape on this machine), and its median cost per call from one client.

    scripts/bench-deps.sh && .venv/bin/python bench/gate.py [--seconds 15]

--compare OLD_ROOT installs the pack found in OLD_ROOT (a checkout of an older commit,
e.g. `git archive d315d8a | tar -x -C /tmp/old`) next to this one, in two databases of
the same cluster, and runs only the hook, alternating old and new, --rounds times:

    .venv/bin/python bench/gate.py --compare /tmp/old --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from capture import pgbench
from common import cluster, free_port, header, table

from brandbase import migrate, pack

KEYS = 10_000
CLIENTS = 8
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


def redis_rate(seconds: int) -> float | None:
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        return None
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", tmp],
                                  stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            sha = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", GCRA_LUA],
                                 capture_output=True, text=True, check=True).stdout.strip()
            requests = 60_000 * seconds  # bounded; about as long as the pgbench run
            out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(CLIENTS), "-n",
                                  str(requests), "-r", str(KEYS), "-q", "EVALSHA", sha, "1",
                                  "key:__rand_int__", "10", "110", "10"],
                                 capture_output=True, text=True, check=True).stdout
            return float(re.findall(r"([\d.]+) requests per second", out)[-1])
        finally:
            server.terminate()
            server.wait(timeout=10)


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


def hook_call_ms(dsn: str, brand_ids: list[str], runs: int = 2000) -> tuple[float, float]:
    """Median round trip of `select <hook>` and of `select 1` in the same request
    transaction, one client: the hook's own cost is the difference."""
    import random
    import statistics

    hook = hook_of(dsn)
    rng = random.Random(11)
    samples: dict[str, list[float]] = {"hook": [], "select 1": []}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(runs):
            name = "hook" if i % 2 else "select 1"
            headers = (f'{{"x-forwarded-for": "198.51.{rng.randint(1, 250)}.{rng.randint(1, 250)}", '
                       f'"x-brand-id": "{brand_ids[rng.randint(0, 99)]}"}}')
            with conn.transaction():
                conn.execute("select set_config('role', 'anon', true), "
                             "set_config('request.jwt.claims', '{\"role\": \"anon\"}', true), "
                             "set_config('request.method', 'POST', true), "
                             "set_config('request.headers', %s, true)", (headers,), prepare=True)
                started = time.perf_counter()
                conn.execute(f"select {hook}" if name == "hook" else "select 1", prepare=True)
                samples[name].append((time.perf_counter() - started) * 1000)
    return statistics.median(samples["hook"]), statistics.median(samples["select 1"])


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--compare", type=Path, metavar="OLD_ROOT",
                    help="run only the hook, alternating with the pack found in OLD_ROOT")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds for --compare")
    args = ap.parse_args()
    c = cluster()
    if args.compare:
        compare(c, args.compare, args.seconds, args.rounds)
        return
    dsn = c.create_database("bench_gate")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
    select1, _ = pgbench(dsn, "select 1;\n", CLIENTS, args.seconds)
    pg_tps, pg_latency = pgbench(dsn, CHECK, CLIENTS, args.seconds)
    bare, _ = pgbench(dsn, BARE_UPDATE, CLIENTS, args.seconds)
    redis = redis_rate(args.seconds)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(HOOK_SETUP)
    with psycopg.connect(dsn, autocommit=True) as conn:
        brand_ids = [r[0] for r in conn.execute(
            "select md5('gate' || g)::uuid::text from generate_series(1, 100) as g")]
    hook = hook_of(dsn)
    shape_tps, _ = pgbench(dsn, script(SHAPE, hook), CLIENTS, args.seconds)
    hook_tps, hook_latency = pgbench(dsn, script(HOOK, hook), CLIENTS, args.seconds)
    member_tps, member_latency = pgbench(dsn, script(HOOK_MEMBER, hook), CLIENTS, args.seconds)
    hook_ms, select1_ms = hook_call_ms(dsn, brand_ids)
    per_call, round_trip, rules = ip_lookup_ms(dsn)
    header(f"Rate limiter: {CLIENTS} clients, {KEYS:,} keys, {args.seconds} s")
    rows = [["select 1 (the server's ceiling, same pgbench)", f"{select1:,.0f}", "-", "-"],
            ["bare single-row UPDATE of the bucket table (any table-backed limiter's floor)",
             f"{bare:,.0f}", "-", "-"],
            ["ratelimit.check() (pgbench -M prepared)", f"{pg_tps:,.0f}", f"{pg_latency:.3f} ms",
             ">= 15,000/s"]]
    if redis:
        rows.append(["Redis GCRA Lua script (redis-benchmark EVALSHA)", f"{redis:,.0f}", "-", "-"])
        rows.append(["ratio brandbase / Redis", f"{pg_tps / redis:.2f}", "-", "-"])
    else:
        rows.append(["Redis", "not installed (scripts/bench-deps.sh)", "-", "-"])
    table(["limiter", "checks/s", "mean latency", "target"], rows)
    table(["request hook", "requests/s", "mean latency (8 clients)", "target"],
          [["same shape, select 1 in place of the hook", f"{shape_tps:,.0f}", "-", "-"],
           [f"{hook}, anonymous: version + access + attempts + rate limit", f"{hook_tps:,.0f}",
            f"{hook_latency:.3f} ms", ">= 6,000/s"],
           [f"{hook}, a member charged to its brand: + brand policies + quota", f"{member_tps:,.0f}",
            f"{member_latency:.3f} ms", ">= 6,000/s"],
           ["ratio anonymous hook / same shape", f"{hook_tps / shape_tps:.2f}", "-", "-"]])
    table(["request hook, 1 client", "median round trip", "hook's own cost"],
          [[f"select {hook}", f"{hook_ms:.3f} ms", f"{hook_ms - select1_ms:.3f} ms"],
           ["select 1 (same transaction shape)", f"{select1_ms:.3f} ms", "-"]])
    table(["IP rule lookup", "rules", "server time per call", "median round trip", "target"],
          [["access.decide()", f"{rules:,}", f"{per_call:.3f} ms", f"{round_trip:.3f} ms", "< 0.2 ms"]])
    c.drop_database("bench_gate")


if __name__ == "__main__":
    main()
