-- health: external services. The worker (or `brandbase health --probe-external` from cron)
-- probes each URL and records the result here; a probe turns results into one check.

create or replace function health.watch(name text, url text, timeout_ms integer default 5000)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if octet_length(watch.name) > 63 or octet_length(watch.url) > 2000 then
        raise exception 'external check name or URL too long'
            using errcode = '22001', hint = 'A name of at most 63 bytes and a URL of at most 2000.';
    end if;
    insert into health.external_checks as e (name, url, timeout_ms)
    values (watch.name, watch.url, watch.timeout_ms)
    on conflict on constraint external_checks_pkey do update
    set url = excluded.url, timeout_ms = excluded.timeout_ms;
exception when check_violation then
    raise exception 'invalid external check % (%): name in lower case, an http(s) URL, timeout 100-60000 ms',
        name, url
        using errcode = '22023', hint = 'e.g. health.watch(''email'', ''https://status.example.com/ping'')';
end
$$;

comment on function health.watch(text, text, integer) is 'Adds (or changes) an external service to probe.';

create or replace function health.unwatch(name text)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    delete from health.external_checks as e where e.name = unwatch.name
$$;

comment on function health.unwatch(text) is 'Stops probing an external service.';

create or replace function health.record_external(
    name text, ok boolean, code integer, latency_ms numeric, error text
)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    update health.external_checks as e
    set last_ok = ok, last_code = code, last_latency_ms = latency_ms, last_error = left(error, 500),
        checked_at = brandbase.now()
    where e.name = record_external.name
$$;

comment on function health.record_external(text, boolean, integer, numeric, text) is
'Stores one probe result of an external service.';

create or replace function health.probe_external(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- Down, or not probed for 15 minutes (the prober itself may have stopped).
    select count(*) filter (where not coalesce(last_ok, false)
                            or checked_at < brandbase.now() - interval '15 minutes'),
           coalesce(string_agg(name || ': ' || case
               when checked_at is null then 'never probed'
               when checked_at < brandbase.now() - interval '15 minutes' then 'stale'
               when last_ok then 'ok'
               else coalesce(last_code::text, last_error, 'failed') end, ', ' order by name),
               'no external services configured')
    from health.external_checks
$$;

comment on function health.probe_external() is 'External services down or not probed recently.';

select health.register(
    'external_services', 'health', 'health.probe_external()', 'count', 1, null,
    'external services down or not probed for 15 minutes'
);

revoke all on function
health.watch(text, text, integer),
health.unwatch(text),
health.record_external(text, boolean, integer, numeric, text),
health.probe_external()
from public;
