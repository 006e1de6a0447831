-- brandbase 0011 (brand): the record of every recurring schedule. brand.schedule() writes
-- here and hands the schedule to pg_cron when it is installed; without pg_cron,
-- `brandbase worker` runs the rows it finds here, so schedules never silently vanish.

create table brand.schedules (
    name text primary key check (name ~ '^[a-z][a-z0-9_.:-]*$'),
    cron text not null,
    command text not null,
    via_pg_cron boolean not null,
    next_run_at timestamptz,
    last_run_at timestamptz,
    last_error text,
    created_at timestamptz not null default now()
);

comment on table brand.schedules is
'Recurring maintenance and jobs.schedule() entries. via_pg_cron: pg_cron runs it; otherwise '
'brandbase worker does, claiming each run by moving next_run_at forward.';
comment on column brand.schedules.next_run_at is
'Worker-run schedules only: when the worker runs it next (null until a worker first sees it).';

revoke all on brand.schedules from public, anon, authenticated;
grant select on brand.schedules to service_role;
