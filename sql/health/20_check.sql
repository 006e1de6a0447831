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
    measured numeric;
    said text;
    verdict text;
    results jsonb := '[]';
    rank constant jsonb := '{"ok": 0, "degraded": 1, "down": 2}';
    worst text := 'ok';
begin
    for p in select * from health.probes order by name loop
        begin
            execute pg_catalog.format('select value, detail from %s', p.probe) into measured, said;
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

create or replace function api.health()
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    doc jsonb := health.check();
begin
    -- The public /rpc/health answers only the verdict; the service role sees the details.
    if current_user = 'service_role' then
        return doc;
    end if;
    return jsonb_build_object('status', doc ->> 'status', 'checked_at', doc -> 'checked_at');
end
$$;

comment on function api.health() is
'GET /rpc/health: overall status for everyone; every check''s details for service_role.';

revoke all on function health.check(), api.health() from public;
grant usage on schema health to anon, authenticated, service_role;
grant execute on function health.check() to anon, authenticated, service_role;
grant execute on function api.health() to anon, authenticated, service_role;
