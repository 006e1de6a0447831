-- quotas: limits and metering. consume() adds usage only while the hard limit holds (the
-- row's WHERE, re-checked under its lock), so concurrent consumers can never overshoot
-- it; crossing 80 %, 100 % or 120 % of the quota raises an alert once per period (a row
-- and a NOTIFY). Buffered metrics (api_calls) count in the unlogged quotas.counters, which
-- flush() copies into quotas.usage every minute; quotas.metered() reads both.

-- One lookup for a brand's limits on a metric: inlined by the planner into its callers.
-- Dropped first: its result type grew a column (buffered) in 0018, which CREATE OR
-- REPLACE cannot change; nothing depends on it but PL/pgSQL, which resolves at run time.
drop function if exists quotas.limits_of(uuid, text);
create function quotas.limits_of(brand_id uuid, metric text)
returns table (
    soft_limit bigint, hard_limit bigint, period text, rolling_window interval, created_at timestamptz,
    buffered boolean
)
language sql
stable
as $$
    select coalesce(o.soft_limit, p.soft_limit), coalesce(o.hard_limit, p.hard_limit),
           coalesce(p.period, 'month'), p.rolling_window, b.created_at, m.buffered
    from brand.brands as b
    inner join quotas.metrics as m on m.metric = limits_of.metric
    left join quotas.plan_limits as p on b.plan = p.plan and m.metric = p.metric
    left join quotas.brand_quotas as o on b.id = o.brand_id and m.metric = o.metric
    where b.id = limits_of.brand_id
$$;

comment on function quotas.limits_of(uuid, text) is
'A brand''s limits for a metric (its override, else its plan''s), its creation time and whether '
'the metric is buffered; no row for an unknown brand or metric.';

create or replace function quotas.effective(
    brand_id uuid, metric text,
    out soft_limit bigint, out hard_limit bigint, out period text, out rolling_window interval
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    select l.soft_limit, l.hard_limit, l.period, l.rolling_window
    into soft_limit, hard_limit, period, rolling_window
    from quotas.limits_of(brand_id, metric) as l;
    if found then
        return;
    end if;
    if not exists (select from quotas.metrics as m where m.metric = effective.metric) then
        raise exception 'unknown quota metric "%"', metric
            using errcode = '22023', hint = 'Metrics are listed in quotas.metrics.';
    end if;
    raise exception 'brand % not found', brand_id
        using errcode = 'PT404', hint = 'Check the brand id (brand.brands).';
end
$$;

comment on function quotas.effective(uuid, text) is
'A brand''s limits for a metric: its override, else its plan''s; null means unlimited. The '
'operator''s (service_role); brands read their own limits in api.quota_usage.';

create or replace function quotas.billing_month_start(created_at timestamptz, at_time timestamptz)
returns timestamptz
language sql
immutable
as $$
    -- Months start on the billing day: the day of month the brand was created, at most
    -- the 28th, UTC. Step back to that day's month, truncate, step forward again.
    select (
        date_trunc('month', (at_time at time zone 'UTC')
            - make_interval(days => least(extract(day from created_at at time zone 'UTC')::int, 28) - 1))
        + make_interval(days => least(extract(day from created_at at time zone 'UTC')::int, 28) - 1)
    ) at time zone 'UTC'
$$;

comment on function quotas.billing_month_start(timestamptz, timestamptz) is
'Start of the billing month a moment falls in, for a brand created at created_at.';

create or replace function quotas.period_start(brand_id uuid, period text, at_time timestamptz)
returns timestamptz
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- Rolling windows are metered in hourly buckets.
    select case when period = 'rolling' then date_trunc('hour', at_time)
    else (
        select quotas.billing_month_start(b.created_at, at_time)
        from brand.brands as b where b.id = period_start.brand_id
    ) end
$$;

comment on function quotas.period_start(uuid, text, timestamptz) is
'Start of the period a moment falls in: the billing month, or the hour bucket of a rolling window.';

-- The body, with the caller's rights and without a SET clause: the request hook (already
-- the owner, its path pinned) calls it directly and saves the definer switch and the GUC
-- save and restore of quotas.consume() on every metered request. Owner only.
create or replace function quotas._consume(
    brand_id uuid, metric text, amount bigint,
    out allowed boolean, out used bigint, out soft_limit bigint, out hard_limit bigint,
    out remaining bigint
)
language plpgsql
as $$
declare
    at_time timestamptz := brandbase.now();
    period text;
    buffered boolean;
    bucket timestamptz;
    window_start timestamptz;
    before bigint := 0;
    cap bigint;  -- the most the period's row may hold after this; null: no limit
    quota bigint;
    alert record;
begin
    if amount is null or amount < 0 then
        raise exception 'amount must be zero or more, got %', amount
            using errcode = '22023', hint = 'consume() only adds usage.';
    end if;
    select
        l.soft_limit, l.hard_limit, l.period, l.buffered,
        case when l.period = 'rolling' then date_trunc('hour', at_time)
            else quotas.billing_month_start(l.created_at, at_time) end,
        case when l.period = 'rolling' then at_time - l.rolling_window end
    into soft_limit, hard_limit, period, buffered, bucket, window_start
    from quotas.limits_of(brand_id, metric) as l;
    if not found then
        perform quotas.effective(brand_id, metric);  -- raises 22023 or PT404, saying which
    end if;

    -- A month is one row, capped by the hard limit; the upsert's own WHERE decides. Rolling
    -- windows span rows: serialise this brand's metric and count the window first.
    cap := hard_limit;
    if period = 'rolling' then
        perform pg_advisory_xact_lock(pg_catalog.hashtext(brand_id::text || '/' || metric));
        select coalesce(sum(u.used), 0) into before from quotas.metered(brand_id, metric) as u
        where u.period_start >= window_start;
        -- The window decides: the bucket's row may grow freely, or (-1) not at all.
        cap := case when hard_limit is null or before + amount <= hard_limit then null else -1 end;
    end if;

    if buffered then
        -- The period's count, started from what was flushed; no WAL.
        update quotas.counters as c set used = c.used + amount
        where c.brand_id = _consume.brand_id and c.metric = _consume.metric and c.period_start = bucket
            and (cap is null or c.used + amount <= cap)
        returning c.used into used;
        if not found then
            insert into quotas.counters as c (brand_id, metric, period_start, used)
            select _consume.brand_id, _consume.metric, bucket, f.used + amount
            from (
                select coalesce(max(u.used), 0) as used from quotas.usage as u
                where u.brand_id = _consume.brand_id and u.metric = _consume.metric and u.period_start = bucket
            ) as f
            where cap is null or f.used + amount <= cap
            on conflict on constraint counters_pkey do update
            set used = c.used + amount
            where cap is null or c.used + amount <= cap
            returning c.used into used;
        end if;
    else
        insert into quotas.usage as u (brand_id, metric, period_start, used, updated_at)
        select _consume.brand_id, _consume.metric, bucket, amount, at_time
        where cap is null or amount <= cap
        on conflict on constraint usage_pkey do update
        set used = u.used + excluded.used, updated_at = excluded.updated_at
        where cap is null or u.used + excluded.used <= cap
        returning u.used into used;
    end if;

    allowed := found;
    if period = 'rolling' or not allowed then
        select coalesce(sum(u.used), 0) into used from quotas.metered(brand_id, metric) as u
        where u.period_start >= coalesce(window_start, bucket);
    end if;
    before := used - case when allowed then amount else 0 end;
    remaining := case when hard_limit is null then null else greatest(hard_limit - used, 0) end;

    -- Alerts at 80, 100 and 120 %: only a request inside that band can cross one.
    quota := coalesce(hard_limit, soft_limit);
    if allowed and quota > 0 and before * 100 < 120 * quota and used * 100 >= 80 * quota then
        for alert in
            insert into quotas.alerts (brand_id, metric, period_start, threshold, used, quota, raised_at)
            select _consume.brand_id, _consume.metric, bucket, t, used, quota, at_time
            from unnest(array[80, 100, 120]) as t
            where before * 100 < t * quota and used * 100 >= t * quota
            on conflict do nothing
            returning threshold
        loop
            perform pg_notify('brandbase_quota_alert', json_build_object(
                'brand_id', brand_id, 'metric', metric, 'threshold', alert.threshold,
                'used', used, 'quota', quota)::text);
        end loop;
    end if;
end
$$;

comment on function quotas._consume(uuid, text, bigint) is
'The body of quotas.consume(), for callers already running as the owner with a pinned path '
'(the request hook).';

create or replace function quotas.consume(
    brand_id uuid, metric text, amount bigint default 1,
    out allowed boolean, out used bigint, out soft_limit bigint, out hard_limit bigint,
    out remaining bigint
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    select c.allowed, c.used, c.soft_limit, c.hard_limit, c.remaining
    into allowed, used, soft_limit, hard_limit, remaining
    from quotas._consume(brand_id, metric, amount) as c;
end
$$;

comment on function quotas.consume(uuid, text, bigint) is
'Meters usage: adds amount unless that would pass the hard limit (allowed = false, nothing '
'added); raises 80/100/120 % alerts once per period. Safe under concurrency.';

create or replace function quotas.flush()
returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$
    -- Drops the counters nobody should write any more (periods long past, deleted brands,
    -- metrics no longer buffered) and copies every count that moved on into quotas.usage:
    -- a count only grows, so the larger value is the newer. A dropped counter counts as it
    -- was when deleted (a consumer may have added to it since this statement's snapshot);
    -- counts already in quotas.usage are not touched (no lock, no WAL).
    with dropped as (
        delete from quotas.counters as c
        where c.period_start < brandbase.now() - interval '40 days'
            or not exists (select from brand.brands as b where b.id = c.brand_id)
            or not exists (select from quotas.metrics as m where m.metric = c.metric and m.buffered)
        returning c.brand_id, c.metric, c.period_start, c.used
    ),

    copied as (
        insert into quotas.usage as u (brand_id, metric, period_start, used, updated_at)
        select distinct on (c.brand_id, c.metric, c.period_start)
            c.brand_id, c.metric, c.period_start, c.used, brandbase.now()
        from (
            select k.brand_id, k.metric, k.period_start, k.used from quotas.counters as k
            union all
            select d.brand_id, d.metric, d.period_start, d.used from dropped as d
        ) as c
        inner join brand.brands as b on c.brand_id = b.id
        inner join quotas.metrics as m on c.metric = m.metric
        where not exists (
            select from quotas.usage as f
            where f.brand_id = c.brand_id and f.metric = c.metric and f.period_start = c.period_start
                and f.used >= c.used
        )
        order by c.brand_id, c.metric, c.period_start, c.used desc
        on conflict on constraint usage_pkey do update
        set used = excluded.used, updated_at = excluded.updated_at
        where u.used < excluded.used
        returning 1
    )

    select count(*)::integer from copied
$$;

comment on function quotas.flush() is
'Copies the counts of buffered metrics into quotas.usage (every minute, as the schema''s owner, '
'like the other maintenance) and drops counters no longer written; returns how many moved.';

select brand.schedule('quotas-flush', '* * * * *', 'select quotas.flush()');

-- Reading the counters is a separate statement: a standby refuses to plan any query
-- that names an unlogged table (they are empty there), and api.quota_usage is read on
-- replicas too.
create or replace function quotas.metered(brand_id uuid, metric text)
returns table (period_start timestamptz, used bigint)
language plpgsql
stable
rows 12
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.pg_is_in_recovery() then
        return query
        select u.period_start, u.used from quotas.usage as u
        where u.brand_id = metered.brand_id and u.metric = metered.metric;
        return;
    end if;
    return query
    select m.period_start, max(m.used)
    from (
        select u.period_start, u.used from quotas.usage as u
        where u.brand_id = metered.brand_id and u.metric = metered.metric
        union all
        select c.period_start, c.used from quotas.counters as c
        where c.brand_id = metered.brand_id and c.metric = metered.metric
    ) as m
    group by m.period_start;
end
$$;

comment on function quotas.metered(uuid, text) is
'A brand''s usage of a metric per period, counts of a buffered metric not yet flushed '
'included (on a standby: what was flushed). Caller''s rights: row security applies.';

create or replace function quotas.storage_bytes(brand_id uuid)
returns bigint
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    total bigint := 0;
begin
    -- Supabase Storage: objects under a path starting with the brand id belong to it.
    if pg_catalog.to_regclass('storage.objects') is not null then
        execute 'select coalesce(sum((metadata ->> ''size'')::bigint), 0) from storage.objects '
                'where name like $1'
        into total using brand_id::text || '/%';
    end if;
    return total;
end
$$;

comment on function quotas.storage_bytes(uuid) is
'Bytes a brand stores in Supabase Storage (objects named <brand_id>/…); 0 without Storage.';

revoke all on function
quotas.limits_of(uuid, text),
quotas.billing_month_start(timestamptz, timestamptz),
quotas.effective(uuid, text),
quotas.period_start(uuid, text, timestamptz),
quotas._consume(uuid, text, bigint),
quotas.consume(uuid, text, bigint),
quotas.metered(uuid, text),
quotas.flush(),
quotas.storage_bytes(uuid)
from public;
grant execute on function quotas.consume(uuid, text, bigint), quotas.storage_bytes(uuid) to service_role;
grant execute on function quotas.metered(uuid, text) to authenticated, service_role;
-- quotas.effective() answers for any brand (it runs as the owner): the operator's only.
-- Brands read their own limits through api.quota_usage, under row security.
grant execute on function quotas.effective(uuid, text) to service_role;
grant execute on function
quotas.period_start(uuid, text, timestamptz),
quotas.billing_month_start(timestamptz, timestamptz)
to authenticated, service_role;
