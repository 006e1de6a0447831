-- brand: recurring maintenance. Modules register their background SQL here; with pg_cron
-- in this database it becomes a cron job, otherwise it is listed for `brandbase worker`
-- (the jobs module) to run. Re-registering a name replaces its schedule.

create or replace function brand.schedule(job_name text, cron_expr text, command text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        execute 'select cron.schedule($1, $2, $3)' using job_name, cron_expr, command;
        return true;
    end if;
    raise notice 'pg_cron is not installed here: "%" (%) runs from brandbase worker instead',
        job_name, cron_expr;
    return false;
end
$$;

comment on function brand.schedule(text, text, text) is
'Schedules maintenance SQL with pg_cron when present; returns whether pg_cron took it.';

create or replace function brand.unschedule(job_name text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        execute 'select cron.unschedule(jobid) from cron.job where jobname = $1' using job_name;
        return true;
    end if;
    return false;
end
$$;

comment on function brand.unschedule(text) is 'Removes a schedule made with brand.schedule(); idempotent.';

revoke all on function brand.schedule(text, text, text), brand.unschedule(text) from public;
