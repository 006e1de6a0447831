-- quotas: limits and metering. consume() is one upsert that adds usage only while the
-- hard limit holds, so concurrent consumers can never overshoot it; crossing 80 %, 100 %
-- or 120 % of the quota raises an alert once per period (a row and a NOTIFY).

create or replace function quotas.effective(
    brand_id uuid, metric text,
    out soft_limit bigint, out hard_limit bigint, out period text, out rolling_window interval
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if not exists (select from quotas.metrics as m where m.metric = effective.metric) then
        raise exception 'unknown quota metric "%"', metric
            using errcode = '22023', hint = 'Metrics are listed in quotas.metrics.';
    end if;
    select coalesce(o.soft_limit, p.soft_limit), coalesce(o.hard_limit, p.hard_limit),
           coalesce(p.period, 'month'), p.rolling_window
    into soft_limit, hard_limit, period, rolling_window
    from brand.brands as b
    left join quotas.plan_limits as p on b.plan = p.plan and p.metric = effective.metric
    left join quotas.brand_quotas as o on b.id = o.brand_id and o.metric = effective.metric
    where b.id = effective.brand_id;
    if not found then
        raise exception 'brand % does not exist', brand_id using errcode = 'P0002';
    end if;
end
$$;

comment on function quotas.effective(uuid, text) is
'A brand''s limits for a metric: its override, else its plan''s; null means unlimited.';

create or replace function quotas.period_start(brand_id uuid, period text, at_time timestamptz)
returns timestamptz
language sql
stable
set search_path = ''
as $$
    -- Months start on the brand's billing day (the day it was created, at most the 28th,
    -- UTC); rolling windows are metered in hourly buckets.
    select case when period = 'rolling' then date_trunc('hour', at_time)
    else (
        select case when at_time >= this_month then this_month else this_month - interval '1 month' end
        from (
            select (date_trunc('month', at_time at time zone 'UTC')
                    + make_interval(days => least(extract(day from b.created_at at time zone 'UTC')::int, 28) - 1))
                   at time zone 'UTC' as this_month
            from brand.brands as b where b.id = period_start.brand_id
        ) as s
    ) end
$$;

comment on function quotas.period_start(uuid, text, timestamptz) is
'Start of the period a moment falls in: the billing month, or the hour bucket of a rolling window.';

create or replace function quotas.consume(
    brand_id uuid, metric text, amount bigint default 1,
    out allowed boolean, out used bigint, out soft_limit bigint, out hard_limit bigint,
    out remaining bigint
)
language plpgsql
security definer
set search_path = ''
as $$
declare
    q record := quotas.effective(brand_id, metric);
    at_time timestamptz := brandbase.now();
    bucket timestamptz;
    window_start timestamptz;
    before bigint;
    quota bigint;
    alert record;
begin
    if amount is null or amount < 0 then
        raise exception 'amount must be zero or more, got %', amount
            using errcode = '22023', hint = 'consume() only adds usage.';
    end if;
    soft_limit := q.soft_limit;
    hard_limit := q.hard_limit;
    bucket := quotas.period_start(brand_id, q.period, at_time);
    window_start := case when q.period = 'rolling' then at_time - q.rolling_window else bucket end;

    -- Rolling windows span rows: serialise this brand's metric for the check-and-add.
    if q.period = 'rolling' then
        perform pg_advisory_xact_lock(pg_catalog.hashtext(brand_id::text || '/' || metric));
    end if;
    select coalesce(sum(u.used), 0) into before from quotas.usage as u
    where u.brand_id = consume.brand_id and u.metric = consume.metric and u.period_start >= window_start;

    insert into quotas.usage as u (brand_id, metric, period_start, used, updated_at)
    select consume.brand_id, consume.metric, bucket, amount, at_time
    where hard_limit is null or before + amount <= hard_limit
    on conflict on constraint usage_pkey do update
    set used = u.used + excluded.used, updated_at = excluded.updated_at
    where q.period = 'rolling' or hard_limit is null or u.used + excluded.used <= hard_limit
    returning u.used into used;

    allowed := found;
    if q.period = 'rolling' or not allowed then
        select coalesce(sum(u.used), 0) into used from quotas.usage as u
        where u.brand_id = consume.brand_id and u.metric = consume.metric and u.period_start >= window_start;
    end if;
    before := used - case when allowed then amount else 0 end;
    remaining := case when hard_limit is null then null else greatest(hard_limit - used, 0) end;

    quota := coalesce(hard_limit, soft_limit);
    if allowed and quota > 0 then
        for alert in
            insert into quotas.alerts (brand_id, metric, period_start, threshold, used, quota, raised_at)
            select consume.brand_id, consume.metric, bucket, t, used, quota, at_time
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

comment on function quotas.consume(uuid, text, bigint) is
'Meters usage: adds amount unless that would pass the hard limit (allowed = false, nothing '
'added); raises 80/100/120 % alerts once per period. Safe under concurrency.';

create or replace function quotas.storage_bytes(brand_id uuid)
returns bigint
language plpgsql
stable
security definer
set search_path = ''
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
quotas.effective(uuid, text),
quotas.period_start(uuid, text, timestamptz),
quotas.consume(uuid, text, bigint),
quotas.storage_bytes(uuid)
from public;
grant execute on function quotas.consume(uuid, text, bigint), quotas.storage_bytes(uuid) to service_role;
grant execute on function quotas.effective(uuid, text), quotas.period_start(uuid, text, timestamptz)
to authenticated, service_role;
