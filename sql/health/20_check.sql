-- health: one document for uptime monitors, dashboards and the app. Every registered
-- probe runs; each result is ok | degraded | down against its thresholds; the overall
-- status is the worst. A probe that fails is reported down with its error, never hidden.

create or replace function health.check()
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    p health.probes;
    fn regprocedure;
    measured numeric;
    said text;
    verdict text;
    results jsonb := '[]'::jsonb;
    rank constant jsonb := '{"ok": 0, "degraded": 1, "down": 2}'::jsonb;
    worst text := 'ok';
begin
    for p in select * from health.probes order by name loop
        begin
            -- The probe is stored as its signature (text): resolved on every run.
            fn := pg_catalog.to_regprocedure(p.probe);
            if fn is null then
                raise exception 'probe function % no longer exists', p.probe
                    using errcode = '42883',
                          hint = 'Create it again, or delete the probe from health.probes.';
            end if;
            execute pg_catalog.format(
                'select value, detail from %I.%I()',
                (select n.nspname from pg_catalog.pg_proc as f
                 inner join pg_catalog.pg_namespace as n on f.pronamespace = n.oid where f.oid = fn),
                (select f.proname from pg_catalog.pg_proc as f where f.oid = fn)
            ) into measured, said;
            verdict := case
                when p.down_at is not null and measured >= p.down_at then 'down'
                when p.degraded_at is not null and measured >= p.degraded_at then 'degraded'
                else 'ok'
            end;
        exception when others then
            measured := null;
            said := 'probe failed: ' || sqlerrm;
            verdict := 'down';
        end;
        if (rank ->> verdict)::int > (rank ->> worst)::int then
            worst := verdict;
        end if;
        results := results || jsonb_build_object(
            'name', p.name, 'module', p.module, 'status', verdict, 'value', measured, 'unit', p.unit,
            'degraded_at', p.degraded_at, 'down_at', p.down_at, 'detail', said
        );
    end loop;
    return jsonb_build_object(
        'status', worst, 'checked_at', brandbase.now(), 'database', current_database(),
        'version', pg_catalog.current_setting('server_version'), 'checks', results
    );
end
$$;

comment on function health.check() is
'Runs every registered probe; returns {status, checked_at, database, version, checks[]} with '
'each check''s value, thresholds and ok | degraded | down.';

create or replace function health.refresh_summary()
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    doc jsonb := health.check();
begin
    insert into health.summary_cache as c (only_row, status, checked_at)
    values (true, doc ->> 'status', (doc ->> 'checked_at')::timestamptz)
    on conflict (only_row) do update set status = excluded.status, checked_at = excluded.checked_at;
    return jsonb_build_object('status', doc ->> 'status', 'checked_at', doc -> 'checked_at');
end
$$;

comment on function health.refresh_summary() is
'Runs every probe and stores the overall verdict for anonymous api.health() calls; scheduled '
'every minute (pg_cron, or brandbase worker without it).';

create or replace function health.summary()
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    max_age constant interval := interval '60 seconds';
    cached health.summary_cache;
    doc jsonb;
begin
    -- The public answer is the overall verdict only, at most a minute old: one index
    -- lookup per anonymous call while the scheduled refresh keeps it fresh. When it is
    -- stale, one caller at a time runs the probes (the others get the last verdict), and
    -- stores the result unless its transaction is read-only (PostgREST's GET).
    select * into cached from health.summary_cache as c where c.only_row;
    if found and (
        cached.checked_at > brandbase.now() - max_age
        or not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('health.summary'))
    ) then
        return jsonb_build_object('status', cached.status, 'checked_at', cached.checked_at);
    end if;
    if pg_catalog.current_setting('transaction_read_only') = 'off' then
        return health.refresh_summary();
    end if;
    doc := health.check();
    return jsonb_build_object('status', doc ->> 'status', 'checked_at', doc -> 'checked_at');
end
$$;

comment on function health.summary() is
'{status, checked_at} for everyone: the cached verdict while it is under a minute old, else a '
'fresh one. No probe values or details.';

create or replace function api.health()
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- The public /rpc/health answers only the verdict; the service role sees the details
    -- (health.check() is executable by service_role only).
    if current_user = 'service_role' then
        return health.check();
    end if;
    return health.summary();
end
$$;

comment on function api.health() is
'GET /rpc/health: overall status (cached up to a minute) for everyone; every check''s details, '
'measured now, for service_role.';

revoke all on function health.check(), health.refresh_summary(), health.summary(), api.health()
from public, anon, authenticated;
grant usage on schema health to anon, authenticated, service_role;
grant execute on function health.check(), health.refresh_summary() to service_role;
grant execute on function health.summary(), api.health() to anon, authenticated, service_role;

select brand.schedule('health-summary', '* * * * *', 'select health.refresh_summary()');
