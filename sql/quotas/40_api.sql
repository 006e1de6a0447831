-- quotas: what brands see. Members read their usage against their limits (quotas.read);
-- limits and overrides are the operator's (service_role): a brand never raises its own.

select brand.isolate('quotas.usage', 'quotas.read');
select brand.isolate('quotas.counters', 'quotas.read');
select brand.isolate('quotas.alerts', 'quotas.read');
select brand.isolate('quotas.brand_quotas', 'quotas.read');
revoke all on quotas.usage, quotas.counters, quotas.alerts, quotas.brand_quotas, quotas.plan_limits,
quotas.metrics from public, anon;
grant select on quotas.usage, quotas.counters, quotas.alerts, quotas.brand_quotas, quotas.plan_limits,
quotas.metrics to authenticated;
grant select, insert, update, delete on quotas.brand_quotas, quotas.plan_limits, quotas.metrics
to service_role;
grant select on quotas.usage, quotas.counters, quotas.alerts to service_role;

-- The brands whose usage the caller may read: its brands holding quotas.read, or every
-- brand for service_role (the database role, not a claim). The view starts from this set
-- (ROWS 10, as brand.brands_with), so its estimate follows the caller's brands, not the
-- size of brand.brands: with the table's row count behind the estimate, a few thousand
-- brands made the plan cost millions and PostgreSQL JIT-compiled every read (0.5 s).
create or replace function quotas.readable_brands()
returns setof uuid
language plpgsql
stable
rows 10
set search_path = pg_catalog, pg_temp
as $$
begin
    if current_user = 'service_role' then
        return query select b.id from brand.brands as b;
        return;
    end if;
    return query select brand.brands_with('quotas.read');
end
$$;

comment on function quotas.readable_brands() is
'For api.quota_usage: the caller''s brands holding quotas.read (every brand for service_role).';

revoke all on function quotas.readable_brands() from public;
grant execute on function quotas.readable_brands() to authenticated, service_role;

-- A brand's usage of a metric since a moment: the sum over quotas.metered(). One call per
-- row of api.quota_usage, where the moment is computed once (inlined into a filter over
-- metered()'s rows, the period's start was computed again for every one of them).
create or replace function quotas.used_since(brand_id uuid, metric text, since timestamptz)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return (select sum(u.used)::bigint from quotas.metered(brand_id, metric) as u where u.period_start >= since);
end
$$;

comment on function quotas.used_since(uuid, text, timestamptz) is
'A brand''s usage of a metric in the periods starting at or after since (null: none); caller''s '
'rights, so row security applies.';

revoke all on function quotas.used_since(uuid, text, timestamptz) from public;
grant execute on function quotas.used_since(uuid, text, timestamptz) to authenticated, service_role;

-- Dropped first: until 0021 `used` was numeric, and create or replace cannot change a
-- column's type. Nothing depends on the view; its grants follow below.
drop view if exists api.quota_usage;
create view api.quota_usage
with (security_invoker = true) as
select
    b.id as brand_id,
    m.metric,
    m.unit,
    coalesce(o.soft_limit, p.soft_limit) as soft_limit,
    coalesce(o.hard_limit, p.hard_limit) as hard_limit,
    coalesce(p.period, 'month') as period,
    w.period_start,
    coalesce(t.used, 0) as used
from quotas.readable_brands() as r (brand_id)
inner join brand.brands as b on r.brand_id = b.id
cross join quotas.metrics as m
left join quotas.plan_limits as p on b.plan = p.plan and m.metric = p.metric
left join quotas.brand_quotas as o on b.id = o.brand_id and m.metric = o.metric
cross join
    lateral (
        select
            quotas.period_start(b.id, coalesce(p.period, 'month'), brandbase.now()) as period_start,
            case
                when p.period = 'rolling' then brandbase.now() - p.rolling_window
                else quotas.period_start(b.id, coalesce(p.period, 'month'), brandbase.now())
            end as counted_from
    ) as w
left join lateral (
    select quotas.used_since(b.id, m.metric, w.counted_from) as used
) as t on true;

comment on view api.quota_usage is
'Usage against limits for the caller''s brands, per metric, in the current period (quotas.read).';

revoke all on api.quota_usage from public, anon;
grant select on api.quota_usage to authenticated, service_role;
