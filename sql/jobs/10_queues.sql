-- jobs: queues and their policy. A queue is served either by a SQL function (run in the
-- database by jobs.run_ready) or by brandbase worker (a Python callable under the queue's name).

-- Before migration 0023 handlers were regprocedure values (pg_upgrade refuses reg* columns).
drop function if exists jobs.create_queue(
    text, regprocedure, integer, interval, interval, interval, integer, text, interval, boolean
);
drop function if exists jobs.assert_handler(regprocedure);

create or replace function jobs.assert_handler(handler text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    resolved regprocedure;
begin
    if handler is null then
        return null;
    end if;
    if octet_length(handler) > 1000 then
        raise exception 'handler signature of % bytes is too long', octet_length(handler)
            using errcode = '22001', hint = 'A signature such as public.send_mail(jobs.job_queue).';
    end if;
    resolved := pg_catalog.to_regprocedure(handler);
    if resolved is null or not exists (
        select from pg_catalog.pg_proc as p
        where p.oid = resolved and p.pronargs = 1 and p.proargtypes[0] = 'jobs.job_queue'::regtype
            and p.prorettype in ('jsonb'::regtype, 'void'::regtype) and p.prokind = 'f'
    ) then
        raise exception 'handler % must be a function (job jobs.job_queue) returning jsonb or void',
            handler
            using errcode = '22023',
                  hint = 'create function my_handler(job jobs.job_queue) returns jsonb ...; then pass '
                      'its signature, e.g. ''public.my_handler(jobs.job_queue)''.';
    end if;
    -- Printed under this function's search_path: schema-qualified, stable across sessions.
    return resolved::text;
end
$$;

comment on function jobs.assert_handler(text) is
'The canonical signature of a valid SQL handler (function (jobs.job_queue) returning jsonb or '
'void); raises 22023 otherwise.';

create or replace function jobs.handler_of(queue_name text, handler text)
returns regprocedure
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    resolved regprocedure := pg_catalog.to_regprocedure(handler);
begin
    if resolved is null then
        raise exception 'the handler % of queue % no longer resolves to a function', handler, queue_name
            using errcode = '42883',
                  hint = 'Create the function again, or point the queue at another one with '
                      'jobs.create_queue(name, handler => ...).';
    end if;
    return resolved;
end
$$;

comment on function jobs.handler_of(text, text) is
'A queue''s stored handler signature resolved to its function; 42883 if it no longer exists.';

create or replace function jobs.create_queue(
    queue_name text,
    handler text default null,
    max_attempts integer default 10,
    backoff_base interval default '2 seconds',
    backoff_max interval default '1 hour',
    lease interval default '5 minutes',
    brand_concurrency integer default null,
    on_success text default 'archive',
    keep_for interval default '14 days',
    app_enqueue boolean default false,
    max_payload_bytes integer default 262144
)
returns jobs.queues
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    created jobs.queues;
begin
    -- Checked here, with hints, rather than left to the table's constraints (raw 23514).
    if queue_name is null or queue_name !~ '^[a-z][a-z0-9_.-]{0,62}$' then
        raise exception 'invalid queue name: %', coalesce(left(queue_name, 100), 'null')
            using errcode = '22023',
                  hint = 'Lower-case letters, digits, _ . -, starting with a letter, at most 63 characters.';
    end if;
    if max_attempts is null or max_attempts not between 1 and 1000 then
        raise exception 'max_attempts must be between 1 and 1000, got %', coalesce(max_attempts::text, 'null')
            using errcode = '22023', hint = 'Attempts include the first run: 1 means never retry.';
    end if;
    if backoff_base is null or backoff_max is null or backoff_base <= interval '0'
        or backoff_max < backoff_base then
        raise exception 'invalid backoff: base %, max %', backoff_base, backoff_max
            using errcode = '22023', hint = 'backoff_base > 0 and backoff_max >= backoff_base.';
    end if;
    if lease is null or lease < interval '1 second' then
        raise exception 'lease must be at least 1 second, got %', lease
            using errcode = '22023', hint = 'How long a worker holds a job before it is reaped.';
    end if;
    if brand_concurrency <= 0 then
        raise exception 'brand_concurrency must be positive, got %', brand_concurrency
            using errcode = '22023', hint = 'Leave it null for no per-brand cap.';
    end if;
    if on_success is null or on_success not in ('archive', 'delete') then
        raise exception 'on_success must be archive or delete, got %', coalesce(left(on_success, 100), 'null')
            using errcode = '22023', hint = 'archive keeps finished jobs in jobs.job_history for keep_for.';
    end if;
    if keep_for is null or keep_for <= interval '0' then
        raise exception 'keep_for must be positive, got %', keep_for
            using errcode = '22023', hint = 'e.g. ''14 days''.';
    end if;
    if max_payload_bytes is null or max_payload_bytes not between 1 and 104857600 then
        raise exception 'max_payload_bytes must be between 1 and 104857600, got %',
            coalesce(max_payload_bytes::text, 'null')
            using errcode = '22023', hint = 'The default is 262144 (256 kB).';
    end if;
    insert into jobs.queues as q (
        name, handler, max_attempts, backoff_base, backoff_max, lease, brand_concurrency,
        on_success, keep_for, app_enqueue, max_payload_bytes
    )
    values (
        queue_name, jobs.assert_handler(handler), max_attempts, backoff_base, backoff_max, lease,
        brand_concurrency, on_success, keep_for, coalesce(app_enqueue, false), max_payload_bytes
    )
    on conflict (name) do update
    set handler = excluded.handler, max_attempts = excluded.max_attempts,
        backoff_base = excluded.backoff_base, backoff_max = excluded.backoff_max,
        lease = excluded.lease, brand_concurrency = excluded.brand_concurrency,
        on_success = excluded.on_success, keep_for = excluded.keep_for,
        app_enqueue = excluded.app_enqueue, max_payload_bytes = excluded.max_payload_bytes
    returning q.* into created;
    return created;
end
$$;

comment on function jobs.create_queue(
    text, text, integer, interval, interval, interval, integer, text, interval, boolean, integer
) is
'Creates a queue or changes its policy (idempotent). handler: a SQL function''s signature '
'as text. Invalid values raise 22023 with a hint.';

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
        raise exception 'unknown queue: %', left(queue_name, 100)
            using errcode = '22023', hint = 'Create it first with jobs.create_queue(name, ...).';
    end if;
    return found_queue;
end
$$;

comment on function jobs.queue(text) is 'The queue''s row; raises 22023 for an unknown queue.';

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

revoke all on function jobs.assert_handler(text), jobs.handler_of(text, text), jobs.create_queue(
    text, text, integer, interval, interval, interval, integer, text, interval, boolean, integer
), jobs.queue(text), jobs.drop_queue(text), jobs.pause(text, boolean), jobs.resume(text) from public;
grant execute on function jobs.create_queue(
    text, text, integer, interval, interval, interval, integer, text, interval, boolean, integer
), jobs.queue(text), jobs.drop_queue(text), jobs.pause(text, boolean), jobs.resume(text),
jobs.handler_of(text, text) to service_role;
