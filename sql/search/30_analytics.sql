-- search: analytics. Every search is logged per brand (query, hits, latency) unless the
-- brand opted out; clicks on results are logged by search.click(). Views for the top
-- queries, zero-result queries and click-through rate read through RLS: members holding
-- search.manage see their brands' rows. search.prune() applies each brand's retention.

select brand.isolate('search.queries', 'search.manage');
select brand.isolate('search.clicks', 'search.manage');
select brand.isolate('search.settings', 'search.manage');
revoke all on search.queries, search.clicks, search.settings from public, anon, authenticated;
grant select on search.queries, search.clicks, search.settings to authenticated;
grant select, delete on search.queries, search.clicks to service_role;
grant select on search.settings to service_role;

create or replace function search.click(query_id bigint, result jsonb, "position" integer default null)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    the_brand uuid;
begin
    if pg_catalog.pg_column_size(result) > 1024 then
        raise exception 'clicked result of % bytes is too large', pg_catalog.pg_column_size(result)
            using errcode = '22001', hint = 'Pass the hit''s key as search.query() returned it.';
    end if;
    if result is null or "position" < 0 then
        raise exception 'a click needs the result''s key and a position of 0 or more'
            using errcode = '22023', hint = 'Pass the hit''s key as search.query() returned it.';
    end if;
    select q.brand_id into the_brand
    from search.queries as q
    where q.id = click.query_id and q.brand_id in (select brand.brands_with('search.read'));
    if not found then
        raise exception 'search query % not found', query_id
            using errcode = 'PT404', hint = 'Pass the query_id search.query() returned; old queries expire.';
    end if;
    insert into search.clicks (brand_id, query_id, result, position, created_at)
    values (the_brand, query_id, result, "position", brandbase.now());
end
$$;

comment on function search.click(bigint, jsonb, integer) is
'Records a click on a search result (its key and 0-based position) for click-through rates.';

revoke all on function search.click(bigint, jsonb, integer) from public;
grant execute on function search.click(bigint, jsonb, integer) to authenticated, service_role;

create or replace function api.search_click(query_id bigint, result jsonb, "position" integer default null)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select search.click(query_id, result, "position") $$;

comment on function api.search_click(bigint, jsonb, integer) is
'POST /rpc/search_click {"query_id": ..., "result": {"id": ...}, "position": 0}.';

revoke all on function api.search_click(bigint, jsonb, integer) from public;
grant execute on function api.search_click(bigint, jsonb, integer) to authenticated, service_role;

create or replace function search.set_settings(
    brand_id uuid, log_queries boolean default true, retention interval default '90 days'
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'search.manage');
    if retention is null or retention <= interval '0' or retention > interval '10 years' then
        raise exception 'retention must be between 1 second and 10 years'
            using errcode = '22023', hint = 'e.g. ''30 days''.';
    end if;
    insert into search.settings as s (brand_id, log_queries, retention, updated_at)
    values (brand_id, coalesce(log_queries, true), retention, brandbase.now())
    on conflict on constraint settings_pkey do update
    set log_queries = excluded.log_queries, retention = excluded.retention, updated_at = excluded.updated_at;
    if not coalesce(log_queries, true) then
        -- Opting out forgets what was logged.
        delete from search.queries as q where q.brand_id = set_settings.brand_id;
    end if;
end
$$;

comment on function search.set_settings(uuid, boolean, interval) is
'A brand''s search analytics settings: log_queries false opts out (and forgets the log); retention.';

revoke all on function search.set_settings(uuid, boolean, interval) from public;
grant execute on function search.set_settings(uuid, boolean, interval) to authenticated, service_role;

create or replace function api.set_search_settings(
    brand_id uuid, log_queries boolean default true, retention interval default '90 days'
)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select search.set_settings(brand_id, log_queries, retention) $$;

comment on function api.set_search_settings(uuid, boolean, interval) is
'Opt a brand out of search analytics, or set how long they are kept.';

revoke all on function api.set_search_settings(uuid, boolean, interval) from public;
grant execute on function api.set_search_settings(uuid, boolean, interval) to authenticated, service_role;

create or replace function search.prune()
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    removed integer;
begin
    delete from search.queries as q
    where q.created_at < brandbase.now() - coalesce(
        (select s.retention from search.settings as s where s.brand_id = q.brand_id), interval '90 days'
    );
    get diagnostics removed = row_count;
    return removed;
end
$$;

comment on function search.prune() is
'Deletes logged queries (and their clicks) older than each brand''s retention; how many.';

revoke all on function search.prune() from public;
grant execute on function search.prune() to service_role;

create or replace view api.search_top_queries
with (security_invoker = true) as
select
    q.brand_id,
    q.table_name,
    q.query,
    count(*) as searches,
    count(*) filter (where q.hits = 0) as zero_result_searches,
    round(avg(q.hits), 1) as avg_hits,
    percentile_cont(0.5) within group (order by q.latency_ms) as p50_latency_ms,
    max(q.created_at) as last_searched_at
from search.queries as q
where q.created_at > brandbase.now() - interval '30 days'
group by q.brand_id, q.table_name, q.query;

comment on view api.search_top_queries is
'Searches of the last 30 days per brand, table and query text (members with search.manage).';

create or replace view api.search_zero_result_queries
with (security_invoker = true) as
select
    q.brand_id,
    q.table_name,
    q.query,
    count(*) as searches,
    max(q.created_at) as last_searched_at
from search.queries as q
where q.hits = 0 and q.created_at > brandbase.now() - interval '30 days'
group by q.brand_id, q.table_name, q.query;

comment on view api.search_zero_result_queries is
'Queries of the last 30 days that found nothing: content or synonyms to add.';

create or replace view api.search_click_through
with (security_invoker = true) as
select
    q.brand_id,
    q.table_name,
    count(*) as searches,
    count(*) filter (where exists (
        select from search.clicks as c
        where c.brand_id = q.brand_id and c.query_id = q.id
    )) as searches_with_click,
    round(count(*) filter (where exists (
        select from search.clicks as c
        where c.brand_id = q.brand_id and c.query_id = q.id
    ))::numeric / nullif(count(*), 0), 3) as click_through_rate
from search.queries as q
where q.created_at > brandbase.now() - interval '30 days'
group by q.brand_id, q.table_name;

comment on view api.search_click_through is
'Share of the last 30 days'' searches that led to at least one click, per brand and table.';

revoke all on api.search_top_queries, api.search_zero_result_queries, api.search_click_through
from public, anon;
grant select on api.search_top_queries, api.search_zero_result_queries, api.search_click_through
to authenticated, service_role;
