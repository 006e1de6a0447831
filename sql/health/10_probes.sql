-- health: the core probes. Each returns one measured value and a detail; health.check()
-- compares values with the thresholds in health.probes. Modules register their own
-- probes the same way (see sql/audit/50_health.sql).

-- Before migration 0023 probes were regprocedure values (pg_upgrade refuses reg* columns).
drop function if exists health.register(text, text, regprocedure, text, numeric, numeric, text);

create or replace function health.register(
    name text, module text, probe text, unit text,
    degraded_at numeric, down_at numeric, description text
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    resolved regprocedure := pg_catalog.to_regprocedure(probe);
begin
    if resolved is null or not exists (
        select from pg_catalog.pg_proc as p where p.oid = resolved and p.pronargs = 0 and p.prokind = 'f'
    ) then
        raise exception 'probe % is not a function without arguments', coalesce(left(probe, 200), 'null')
            using errcode = '22023',
                  hint = 'A probe is a function (out value numeric, out detail text), named by its '
                      'signature, e.g. ''jobs.probe_lag()''.';
    end if;
    if degraded_at > down_at then
        raise exception 'probe %: degraded_at % is above down_at %', name, degraded_at, down_at
            using errcode = '22023', hint = 'A value degrades before it goes down: degraded_at <= down_at.';
    end if;
    if octet_length(description) > 500 or octet_length(unit) > 50 then
        raise exception 'probe % has a description or unit that is too long', name
            using errcode = '22001', hint = 'A description of at most 500 bytes and a unit of at most 50.';
    end if;
    -- Thresholds an operator changed are kept; the rest is (re)declared by the module.
    -- The signature is stored as text printed under this function's search_path, so it is
    -- schema-qualified; health.check() resolves it again on every run.
    insert into health.probes as p (name, module, probe, unit, degraded_at, down_at, description)
    values (register.name, register.module, resolved::text, register.unit, register.degraded_at,
            register.down_at, register.description)
    on conflict on constraint probes_pkey do update
    set module = excluded.module, probe = excluded.probe, unit = excluded.unit,
        description = excluded.description;
end
$$;

comment on function health.register(text, text, text, text, numeric, numeric, text) is
'Registers (or re-declares) a probe by its signature (text, e.g. ''jobs.probe_lag()''); '
'thresholds given here are defaults an operator may change.';

create or replace function health.probe_migrations(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select case when count(*) > 0 then 0 else 1 end,
           count(*) || ' files applied, last at ' || coalesce(max(applied_at)::text, 'never')
    from brandbase.migrations
$$;

create or replace function health.probe_connections(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select round(count(*)::numeric / current_setting('max_connections')::numeric, 3),
           count(*) || ' of ' || current_setting('max_connections') || ' connections in use'
    from pg_catalog.pg_stat_activity
    where backend_type = 'client backend'
$$;

create or replace function health.probe_long_running(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(round(extract(epoch from max(now() - query_start))::numeric, 1), 0),
           coalesce(count(*) || ' active queries; longest pid ' ||
               (array_agg(pid order by query_start))[1], 'no active queries')
    from pg_catalog.pg_stat_activity
    where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid()
$$;

create or replace function health.probe_idle_in_transaction(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(round(extract(epoch from max(now() - state_change))::numeric, 1), 0),
           count(*) || ' sessions idle in transaction'
    from pg_catalog.pg_stat_activity
    where state like 'idle in transaction%'
$$;

create or replace function health.probe_replication_lag(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(round(extract(epoch from max(replay_lag))::numeric, 1), 0),
           count(*) || ' replicas'
    from pg_catalog.pg_stat_replication
$$;

create or replace function health.probe_wraparound(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select round(age(datfrozenxid)::numeric / 2147483648, 4),
           age(datfrozenxid) || ' transactions since the oldest unfrozen xid (limit 2^31)'
    from pg_catalog.pg_database
    where datname = current_database()
$$;

create or replace function health.probe_bloat(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(max(ratio), 0), coalesce(max(relname) filter (where is_max), 'no table above 10,000 rows')
    from (
        select format('%I.%I', schemaname, relname) as relname,
               round(n_dead_tup::numeric / (n_live_tup + n_dead_tup), 3) as ratio,
               row_number() over (order by n_dead_tup::numeric / (n_live_tup + n_dead_tup) desc) = 1 as is_max
        from pg_catalog.pg_stat_user_tables
        where n_live_tup + n_dead_tup > 10000
    ) as t
$$;

create or replace function health.probe_cron_failures(out value numeric, out detail text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        value := 0;
        detail := 'pg_cron not installed; schedules run from brandbase worker';
        return;
    end if;
    execute $q$
        select count(*), count(*) || ' failed cron runs in the last hour'
        from cron.job_run_details where status = 'failed' and start_time > now() - interval '1 hour'
    $q$ into value, detail;
end
$$;

comment on function health.probe_migrations() is 'Whether the pack''s migrations are applied (0 yes, 1 no).';
comment on function health.probe_connections() is 'Share of max_connections in use.';
comment on function health.probe_long_running() is 'Seconds the longest active query has run.';
comment on function health.probe_idle_in_transaction() is
'Seconds the longest idle-in-transaction session has waited.';
comment on function health.probe_replication_lag() is 'Seconds of replay lag of the slowest replica.';
comment on function health.probe_wraparound() is 'Share of the 2^31 transaction-id horizon used.';
comment on function health.probe_bloat() is 'Largest share of dead tuples in a table above 10,000 rows.';
comment on function health.probe_cron_failures() is 'Failed pg_cron runs in the last hour.';

select health.register(
    'migrations', 'health', 'health.probe_migrations()', 'flag', null, 1,
    'brandbase migrations applied'
);
select health.register(
    'connections', 'health', 'health.probe_connections()', 'ratio', 0.8, 0.95,
    'connection saturation'
);
select health.register(
    'long_running_queries', 'health', 'health.probe_long_running()', 'seconds', 60, 600,
    'longest active query'
);
select health.register(
    'idle_in_transaction', 'health', 'health.probe_idle_in_transaction()', 'seconds', 60, 600,
    'longest idle-in-transaction session'
);
select health.register(
    'replication_lag', 'health', 'health.probe_replication_lag()', 'seconds', 30, 300,
    'replica replay lag'
);
select health.register(
    'wraparound', 'health', 'health.probe_wraparound()', 'ratio', 0.5, 0.8,
    'transaction-id wraparound headroom used'
);
select health.register(
    'bloat', 'health', 'health.probe_bloat()', 'ratio', 0.3, 0.6,
    'largest dead-tuple share'
);
select health.register(
    'cron_failures', 'health', 'health.probe_cron_failures()', 'count', 1, 10,
    'failed pg_cron runs in the last hour'
);

revoke all on function
health.register(text, text, text, text, numeric, numeric, text),
health.probe_migrations(),
health.probe_connections(),
health.probe_long_running(),
health.probe_idle_in_transaction(),
health.probe_replication_lag(),
health.probe_wraparound(),
health.probe_bloat(),
health.probe_cron_failures()
from public;
