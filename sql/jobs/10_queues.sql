-- jobs: queues and their policy. A queue is served either by a SQL function (run in the
-- database by jobs.run_ready) or by brandbase worker (a Python callable under the queue's name).

create or replace function jobs.assert_handler(handler regprocedure)
returns regprocedure
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if handler is not null and not exists (
        select from pg_catalog.pg_proc as p
        where p.oid = handler and p.pronargs = 1 and p.proargtypes[0] = 'jobs.job_queue'::regtype
            and p.prorettype in ('jsonb'::regtype, 'void'::regtype) and p.prokind = 'f'
    ) then
        raise exception 'handler % must be a function (job jobs.job_queue) returning jsonb or void',
            handler
            using errcode = '42883',
                  hint = 'create function my_handler(job jobs.job_queue) returns jsonb ...';
    end if;
    return handler;
end
$$;

create or replace function jobs.create_queue(
    queue_name text,
    handler regprocedure default null,
    max_attempts integer default 10,
    backoff_base interval default '2 seconds',
    backoff_max interval default '1 hour',
    lease interval default '5 minutes',
    brand_concurrency integer default null,
    on_success text default 'archive',
    keep_for interval default '14 days',
    app_enqueue boolean default false
)
returns jobs.queues
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    insert into jobs.queues as q (
        name, handler, max_attempts, backoff_base, backoff_max, lease, brand_concurrency,
        on_success, keep_for, app_enqueue
    )
    values (
        queue_name, jobs.assert_handler(handler), max_attempts, backoff_base, backoff_max, lease,
        brand_concurrency, on_success, keep_for, app_enqueue
    )
    on conflict (name) do update
    set handler = excluded.handler, max_attempts = excluded.max_attempts,
        backoff_base = excluded.backoff_base, backoff_max = excluded.backoff_max,
        lease = excluded.lease, brand_concurrency = excluded.brand_concurrency,
        on_success = excluded.on_success, keep_for = excluded.keep_for,
        app_enqueue = excluded.app_enqueue
    returning q.*
$$;

comment on function jobs.create_queue(
    text, regprocedure, integer, interval, interval, interval, integer, text, interval, boolean
) is
'Creates a queue or changes its policy (idempotent). Invalid values fail on the table''s checks (23514).';

create or replace function jobs.queue(queue_name text)
returns jobs.queues
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    found_queue jobs.queues;
begin
    select * into found_queue from jobs.queues where name = queue_name;
    if not found then
        raise exception 'unknown queue: %', queue_name
            using errcode = 'P0002', hint = 'Create it first with jobs.create_queue(name, ...).';
    end if;
    return found_queue;
end
$$;

comment on function jobs.queue(text) is 'The queue''s row; raises P0002 for an unknown queue.';

create or replace function jobs.drop_queue(queue_name text)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    dropped bigint;
begin
    perform jobs.queue(queue_name);
    delete from jobs.job_queue where queue = queue_name;
    get diagnostics dropped = row_count;
    delete from jobs.fair_clock where queue = queue_name;
    delete from jobs.queues where name = queue_name;
    return dropped;
end
$$;

comment on function jobs.drop_queue(text) is
'Removes a queue and its live jobs (history stays until retention); returns the jobs removed.';

create or replace function jobs.pause(queue_name text, paused boolean default true)
returns void
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    update jobs.queues set paused = pause.paused where name = (jobs.queue(queue_name)).name
$$;

comment on function jobs.pause(text, boolean) is
'Stops (or with false, resumes) claims from a queue; enqueueing continues.';

create or replace function jobs.resume(queue_name text)
returns void
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select jobs.pause(queue_name, false)
$$;

comment on function jobs.resume(text) is 'Lets workers claim from a paused queue again.';

revoke all on function jobs.assert_handler(regprocedure), jobs.create_queue(
    text, regprocedure, integer, interval, interval, interval, integer, text, interval, boolean
), jobs.queue(text), jobs.drop_queue(text), jobs.pause(text, boolean), jobs.resume(text) from public;
grant execute on function jobs.create_queue(
    text, regprocedure, integer, interval, interval, interval, integer, text, interval, boolean
), jobs.queue(text), jobs.drop_queue(text), jobs.pause(text, boolean), jobs.resume(text)
to service_role;
