"""`brandbase seed`: representative, deterministic data in every installed module, so
EXPLAIN reports and benchmarks see realistic shapes: brand sizes follow a Zipf curve
(a few large brands, many small ones), and each module's rows scale with brand size.

Everything is generated in SQL, one module step at a time: ids are md5-derived from the
seed, everything else from random() after setseed(), so the same seed gives the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

SEED_PREFIX = "seed-"


class AlreadySeeded(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    brands: int
    scale: float
    seed: int

    @property
    def members(self) -> int:
        return max(self.brands, int(self.brands * 8 * self.scale))

    @property
    def audit_entries(self) -> int:
        return int(200_000 * self.scale)

    @property
    def versions(self) -> int:
        return int(100_000 * self.scale)

    @property
    def jobs(self) -> int:
        return int(100_000 * self.scale)

    @property
    def deliveries(self) -> int:
        return int(100_000 * self.scale)


BRANDS = """
insert into brand.brands (id, slug, name, plan, created_at)
select md5('brand/' || {seed} || '/' || g)::uuid, {prefix} || g, 'Seed brand ' || g,
       (array['free', 'pro', 'enterprise'])[1 + (g % 3)], now() - random() * interval '300 days'
from generate_series(1, {brands}) as g
"""

# Zipf weights: brand k gets a share proportional to 1 / k^1.1 of the members.
MEMBERS = """
with ranked as (
    select id, row_number() over (order by slug collate "C") as k from brand.brands
    where slug like {prefix} || '%'
),
sized as (
    select id, greatest(1, round({members} * (1 / power(k, 1.1)) / sum(1 / power(k, 1.1)) over ()))::int as n
    from ranked
),
people as (
    select s.id as brand_id, g as nth, md5('user/' || s.id || '/' || g)::uuid as user_id
    from sized as s, generate_series(1, s.n) as g
),
users as (
    insert into auth.users (id, email)
    select user_id, 'seed-' || replace(user_id::text, '-', '') || '@example.test' from people
)
insert into brand.members (brand_id, user_id, tier)
select brand_id, user_id,
       case when nth = 1 then 'owner'
            else (array['viewer', 'member', 'editor', 'admin'])[1 + (nth % 4)] end::brand.tier
from people
"""

# Entries spread over the current month (inside existing partitions), sized by brand.
AUDIT = """
insert into audit.entries (brand_id, occurred_at, table_name, record_key, operation, old_data, new_data,
                           actor_id, actor_role)
select m.brand_id,
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now())),
       (array['public.posts', 'public.pages', 'brand.members'])[1 + (g % 3)],
       jsonb_build_object('id', g % 5000),
       (array['INSERT', 'UPDATE', 'UPDATE', 'DELETE'])[1 + (g % 4)],
       jsonb_build_object('title', 'old ' || g), jsonb_build_object('title', 'new ' || g),
       m.user_id, 'authenticated'
from generate_series(1, {chunk}) as g
cross join lateral (
    select brand_id, user_id from brand.members
    where brand_id in (select id from brand.brands where slug like {prefix} || '%')
    offset floor(random() * {members}) limit 1
) as m
"""

VERSIONS = """
insert into versions.sealed_versions (brand_id, table_name, record_key, version, operation, data, state,
                                      author_id, created_at)
select r.brand_id, 'seed.pages', jsonb_build_object('brand_id', r.brand_id, 'id', r.page), v,
       case when v = 1 then 'INSERT' else 'UPDATE' end,
       jsonb_build_object('brand_id', r.brand_id, 'id', r.page, 'title', 'Page ' || r.page || ' v' || v),
       (array['draft', 'review', 'published'])[1 + (v % 3)], r.user_id, now() - (10 - v) * interval '1 day'
from (
    select m.brand_id, m.user_id, row_number() over () as page
    from brand.members as m
    where m.brand_id in (select id from brand.brands where slug like {prefix} || '%')
    limit {pages}
) as r
cross join generate_series(1, 10) as v
"""

# Members in a fixed order: the n-th row of anything below goes to member 1 + n % members,
# so jobs and deliveries follow the brands' Zipf sizes without a lookup per row.
SEED_MEMBERS = """
select m.brand_id, m.user_id, row_number() over (order by m.brand_id, m.user_id) as rn
from brand.members as m
where m.brand_id in (select id from brand.brands where slug like {prefix} || '%')
"""

# A queue with finished jobs over the last two days (one in 50 dead) and a tenth as many
# waiting.
JOBS = """
with queue as (
    insert into jobs.queues (name) values ('seed-mail') on conflict do nothing
),
members as ({members_query}),
history as (
    insert into jobs.job_history (
        finished_at, id, queue, brand_id, state, payload, attempts, errors, created_at
    )
    select now() - random() * interval '2 days', -g, 'seed-mail', m.brand_id,
           case when g % 50 = 0 then 'dead' else 'succeeded' end, jsonb_build_object('n', g),
           1, '[]', now() - interval '3 days'
    from generate_series(1, {jobs}) as g
    inner join members as m on m.rn = 1 + g % {members}
)
insert into jobs.job_queue (queue, brand_id, payload, run_at, fair_at, max_attempts)
select 'seed-mail', m.brand_id, jsonb_build_object('n', g), now(), g * 1000, 10
from generate_series(1, {jobs} / 10) as g
inner join members as m on m.rn = 1 + g % {members}
"""

# Two endpoints for each of the 200 largest brands; events for them fan out through the
# outbox trigger; all but one in twenty deliveries delivered, with their attempt.
WEBHOOKS = """
with kind as (
    insert into webhooks.event_types (event_type, description) values ('seed.event', 'seed data')
    on conflict do nothing
)
insert into webhooks.endpoints (brand_id, url, event_types)
select b.id, 'https://hooks.example.com/' || b.slug || '/' || e, array['*']
from (
    select m.brand_id as id, min(b.slug) as slug from brand.members as m
    inner join brand.brands as b on m.brand_id = b.id
    where b.slug like {prefix} || '%'
    group by m.brand_id order by count(*) desc limit 200
) as b
cross join generate_series(1, 2) as e
"""

WEBHOOK_EVENTS = """
insert into webhooks.events (brand_id, created_at, event_type, payload)
select e.brand_id, now() - random() * interval '2 days', 'seed.event', jsonb_build_object('n', g)
from generate_series(1, {events}) as g
inner join (
    select x.brand_id, row_number() over (order by x.brand_id) as rn, count(*) over () as n
    from (select distinct brand_id from webhooks.endpoints) as x
) as e on e.rn = 1 + g % e.n
"""

WEBHOOK_OUTCOMES = """
with delivered as (
    update webhooks.deliveries
    set status = 'succeeded', attempts = 1, completed_at = event_created_at + interval '80 ms',
        last_status_code = 200
    where id % 20 <> 0
    returning brand_id, id, event_created_at
)
insert into webhooks.attempts (brand_id, attempted_at, delivery_id, attempt, status_code, latency_ms)
select brand_id, event_created_at + interval '50 ms', id, 1, 200, 30 + random() * 100 from delivered
"""


def seed(conn: psycopg.Connection, plan: Plan, progress: Callable[[str, int], None]) -> dict:
    """Fill the installed modules; progress(step, units_done) is called as work finishes."""
    params = {"prefix": sql.Literal(SEED_PREFIX), "brands": sql.Literal(plan.brands),
              "members": sql.Literal(plan.members), "seed": sql.Literal(plan.seed)}
    with conn.transaction():
        if conn.execute("select exists (select from brand.brands where slug like %s)",
                        (SEED_PREFIX + "%",)).fetchone()[0]:
            raise AlreadySeeded("this database is already seeded (brands named seed-*); "
                                "seed a fresh database")
        conn.execute("select setseed(%s)", (((plan.seed % 2_000_000) / 1_000_000) - 1,))
        conn.execute(sql.SQL(BRANDS).format(**params))
        progress("brands", plan.brands)
        conn.execute(sql.SQL(MEMBERS).format(**params))
        progress("members", plan.members)
        if _installed(conn, "audit.entries"):
            chunks = 10
            for _ in range(chunks):
                conn.execute(sql.SQL(AUDIT).format(
                    chunk=sql.Literal(plan.audit_entries // chunks), **params))
                progress("audit entries", plan.audit_entries // chunks)
        if _installed(conn, "versions.sealed_versions"):
            conn.execute(sql.SQL(VERSIONS).format(pages=sql.Literal(plan.versions // 10), **params))
            progress("versions", plan.versions)
        members = sql.SQL(SEED_MEMBERS).format(**params)
        if _installed(conn, "jobs.job_queue"):
            conn.execute(sql.SQL(JOBS).format(jobs=sql.Literal(plan.jobs), members_query=members, **params))
            progress("jobs", plan.jobs)
        if _installed(conn, "webhooks.deliveries"):
            conn.execute(sql.SQL(WEBHOOKS).format(**params))
            conn.execute(sql.SQL(WEBHOOK_EVENTS).format(events=sql.Literal(plan.deliveries // 2)))
            conn.execute(WEBHOOK_OUTCOMES)
            progress("webhook deliveries", plan.deliveries)
    if _installed(conn, "audit.entries"):
        conn.execute("select audit.seal()")  # seeded entries are sealed like any others
    conn.execute("analyze")
    return {"brands": plan.brands, "members": plan.members, "audit entries": plan.audit_entries,
            "versions": plan.versions, "jobs": plan.jobs, "webhook deliveries": plan.deliveries}


def _installed(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]
