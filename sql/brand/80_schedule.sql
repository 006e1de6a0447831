-- brand: recurring maintenance. Modules register their background SQL here. Every
-- schedule is recorded in brand.schedules; with pg_cron in this database it also becomes
-- a cron job, otherwise `brandbase worker` runs it. Re-registering a name replaces it.

create or replace function brand.has_pg_cron()
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
$$;

comment on function brand.has_pg_cron() is 'Whether pg_cron is installed in this database.';

create or replace function brand.assert_cron(cron_expr text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    field constant text := '(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*';
begin
    if cron_expr is null or (
        cron_expr !~ ('^\s*' || field || '(\s+' || field || '){4}\s*$')
        and cron_expr !~ '^@(yearly|annually|monthly|weekly|daily|hourly|reboot)$'
    ) then
        raise exception 'invalid cron expression: %', coalesce(cron_expr, 'null')
            using errcode = '22023',
                  hint = 'Five fields: minute hour day-of-month month day-of-week, e.g. '
                      '''*/5 * * * *'' or ''17 3 * * *''.';
    end if;
    return cron_expr;
end
$$;

comment on function brand.assert_cron(text) is
'Returns the expression when it has the five-field cron shape pg_cron and the worker share; '
'raises 22023 otherwise.';

create or replace function brand.schedule(job_name text, cron_expr text, command text)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    via_pg_cron boolean := brand.has_pg_cron();
begin
    perform brand.assert_cron(cron_expr);
    if via_pg_cron then
        execute 'select cron.schedule($1, $2, $3)' using job_name, cron_expr, command;
    end if;
    insert into brand.schedules as s (name, cron, command, via_pg_cron)
    values (job_name, cron_expr, command, via_pg_cron)
    on conflict (name) do update
    set cron = excluded.cron, command = excluded.command, via_pg_cron = excluded.via_pg_cron,
        next_run_at = case when s.cron = excluded.cron then s.next_run_at end;
    return via_pg_cron;
end
$$;

comment on function brand.schedule(text, text, text) is
'Schedules recurring SQL: pg_cron runs it when present, brandbase worker otherwise. Returns '
'whether pg_cron took it.';

create or replace function brand.unschedule(job_name text)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if brand.has_pg_cron() then
        execute 'select cron.unschedule(jobid) from cron.job where jobname = $1' using job_name;
    end if;
    delete from brand.schedules where name = job_name;
    return found;
end
$$;

comment on function brand.unschedule(text) is
'Removes a schedule made with brand.schedule(); idempotent. Returns whether it existed.';

revoke all on function brand.has_pg_cron(), brand.assert_cron(text),
brand.schedule(text, text, text), brand.unschedule(text) from public;

-- pg_cron keeps a row per run forever; a week of history is enough to diagnose failures.
select
    brand.schedule(
        'pg-cron-history', '37 * * * *',
        'delete from cron.job_run_details where end_time < now() - interval ''7 days'''
    )
where brand.has_pg_cron();
