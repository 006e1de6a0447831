-- jobs: the worker protocol. claim() leases up to N jobs in one statement (FOR UPDATE SKIP
-- LOCKED over the small ready index); complete() and fail() settle them in batches. Every
-- settle is fenced by the worker id that holds the lease, so a worker whose lease expired
-- (and whose job ran again elsewhere) cannot complete it a second time.

create or replace function jobs.backoff(attempt integer, base interval, cap interval)
returns interval
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    -- Exponential, with "equal jitter": half the delay is fixed, half random, so retries
    -- of jobs that failed together spread out but never come back early.
    select least(cap, base * power(2, least(greatest(attempt, 1) - 1, 30)))
        * (0.5 + random() * 0.5)
$$;

comment on function jobs.backoff(integer, interval, interval) is
'Delay before retry number attempt: base * 2^(attempt-1), capped, with equal jitter.';

create or replace function jobs.claim_capped(worker text, max_jobs integer, target jobs.queues)
returns setof jobs.job_queue
language plpgsql
-- Walk the ready index in order whatever the statistics say: a queue's size swings far
-- faster than ANALYZE follows, and a stale estimate picks a scan-and-sort of the backlog.
set enable_bitmapscan = off
set enable_seqscan = off
set jit = off
set search_path = pg_catalog, pg_temp
as $$
begin
    -- Counting running jobs and claiming must not interleave between workers, or two
    -- claims could both take a brand's last free slot.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('jobs.claim:' || target.name));
    return query
    with running as (
        select j.brand_id, count(*) as n from jobs.job_queue as j
        where j.locked_until is not null and j.queue = target.name and j.brand_id is not null
        group by j.brand_id
    ),

    candidates as (
        select j.id, j.brand_id, j.priority, j.fair_at from jobs.job_queue as j
        where j.locked_until is null and j.queue = target.name and j.run_at <= brandbase.now()
        order by j.priority, j.fair_at
        limit max_jobs * 10
        for update skip locked
    ),

    ranked as (
        select
            c.id, c.priority, c.fair_at, c.brand_id,
            row_number() over (partition by c.brand_id order by c.priority, c.fair_at)
            + coalesce(r.n, 0) as slot
        from candidates as c
        left join running as r on c.brand_id = r.brand_id
    ),

    picked as (
        select k.id from ranked as k
        where k.brand_id is null or k.slot <= target.brand_concurrency
        order by k.priority, k.fair_at
        limit max_jobs
    )

    update jobs.job_queue as j
    set locked_by = worker, locked_until = brandbase.now() + target.lease, attempts = j.attempts + 1
    from picked
    where j.id = picked.id
    returning j.*;
end
$$;

comment on function jobs.claim_capped(text, integer, jobs.queues) is
'claim() for a queue with a per-brand concurrency cap: looks ahead 10x the batch, skips '
'brands at their cap.';

create or replace function jobs.claim(worker text, max_jobs integer, queue_names text[])
returns setof jobs.job_queue
language plpgsql
security definer
-- Walk the ready index in order whatever the statistics say: a queue's size swings far
-- faster than ANALYZE follows, and a stale estimate picks a scan-and-sort of the backlog.
set enable_bitmapscan = off
set enable_seqscan = off
set jit = off
set search_path = pg_catalog, pg_temp
as $$
declare
    open_queues text[];
    capped jobs.queues;
begin
    if worker is null or worker = '' or max_jobs is null or max_jobs < 1 then
        raise exception 'claim needs a worker id and max_jobs >= 1'
            using errcode = '22023', hint = 'e.g. jobs.claim(''host:pid'', 20, array[''emails''])';
    end if;
    select array_agg(q.name) into open_queues from jobs.queues as q
    where q.name = any(queue_names) and not q.paused and q.brand_concurrency is null;

    if open_queues is not null then
        return query
        with picked as (
            select j.id from jobs.job_queue as j
            where j.locked_until is null and j.queue = any(open_queues) and j.run_at <= brandbase.now()
            order by j.priority, j.fair_at
            limit max_jobs
            for update skip locked
        )

        update jobs.job_queue as j
        set locked_by = worker, locked_until = brandbase.now() + q.lease, attempts = j.attempts + 1
        from picked, jobs.queues as q
        where j.id = picked.id and q.name = j.queue
        returning j.*;
    end if;

    for capped in
        select * from jobs.queues as q
        where q.name = any(queue_names) and not q.paused and q.brand_concurrency is not null
    loop
        return query select * from jobs.claim_capped(worker, max_jobs, capped);
    end loop;
end
$$;

comment on function jobs.claim(text, integer, text[]) is
'Leases up to max_jobs ready jobs of the given queues to worker, in priority then fair-share '
'order; paused queues are skipped. Settle them with complete() / fail() / release().';

create or replace function jobs.complete(worker text, ids bigint[], results jsonb[] default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    settled integer;
begin
    with done as (
        delete from jobs.job_queue as j
        where j.id = any(ids) and j.locked_by = worker
        returning j.*
    ),

    archived as (
        insert into jobs.job_history (
            finished_at, id, queue, brand_id, state, payload, result, attempts, errors, created_at
        )
        select
            brandbase.now(), d.id, d.queue, d.brand_id,
            case when d.cancel_requested then 'cancelled' else 'succeeded' end,
            d.payload, r.result, d.attempts, d.errors, d.created_at
        from done as d
        inner join jobs.queues as q on d.queue = q.name
        left join unnest(ids, results) as r (id, result) on d.id = r.id
        where q.on_success = 'archive' or d.cancel_requested
    )

    select count(*) into settled from done;
    return settled;
end
$$;

comment on function jobs.complete(text, bigint[], jsonb[]) is
'Marks the worker''s leased jobs done (results: one per id, optional); returns how many it '
'held. Jobs whose lease this worker lost are left alone.';

create or replace function jobs.settle_failures(job_ids bigint[], messages text[], worker text)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    -- Out of attempts: to history as dead, with the whole attempt log.
    with dead as (
        delete from jobs.job_queue as j
        using unnest(job_ids, messages) as f (id, error)
        where j.id = f.id and j.attempts >= j.max_attempts
        returning j.*, f.error
    )

    insert into jobs.job_history (
        finished_at, id, queue, brand_id, state, payload, attempts, errors, created_at
    )
    select brandbase.now(), d.id, d.queue, d.brand_id, 'dead', d.payload, d.attempts,
        d.errors || jsonb_build_object(
            'attempt', d.attempts, 'at', brandbase.now(), 'worker', worker, 'error', d.error
        ),
        d.created_at
    from dead as d;

    update jobs.job_queue as j
    set locked_by = null, locked_until = null, last_error = f.error,
        run_at = brandbase.now() + jobs.backoff(j.attempts, q.backoff_base, q.backoff_max),
        errors = j.errors || jsonb_build_object(
            'attempt', j.attempts, 'at', brandbase.now(), 'worker', worker, 'error', f.error
        )
    from unnest(job_ids, messages) as f (id, error), jobs.queues as q
    where j.id = f.id and q.name = j.queue;
    return cardinality(job_ids);
end
$$;

comment on function jobs.settle_failures(bigint[], text[], text) is
'Failed attempts of jobs the caller holds locked: dead when out of attempts, else back to '
'waiting after a backoff. Returns how many.';

create or replace function jobs.fail(worker text, ids bigint[], messages text[])
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    held bigint[];
    held_errors text[];
begin
    if cardinality(ids) is distinct from cardinality(messages) then
        raise exception 'fail() needs one error per id'
            using errcode = '22023', hint = 'Pass messages with as many elements as ids (null for "failed").';
    end if;
    select array_agg(h.id), array_agg(h.error) into held, held_errors
    from (
        select f.id, coalesce(f.error, 'failed') as error
        from unnest(ids, messages) as f (id, error)
        inner join jobs.job_queue as j on f.id = j.id and j.locked_by = worker
        for update of j
    ) as h;
    if held is null then
        return 0;
    end if;
    return jobs.settle_failures(held, held_errors, worker);
end
$$;

comment on function jobs.fail(text, bigint[], text[]) is
'Records failed attempts of the worker''s leased jobs: retried with backoff, or dead after '
'max_attempts. Returns how many it held.';

create or replace function jobs.reap()
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    expired bigint[];
    owners text[];
begin
    select array_agg(j.id), array_agg('lease expired (worker ' || j.locked_by || ' gone or stuck)')
    into expired, owners
    from (
        select id, locked_by from jobs.job_queue
        where locked_until < brandbase.now()
        for update skip locked
    ) as j;
    if expired is null then
        return 0;
    end if;
    perform jobs.settle_failures(expired, owners, 'reaper');
    return cardinality(expired);
end
$$;

comment on function jobs.reap() is
'Returns jobs whose lease expired (crashed or stuck workers) to the queue, counted as a failed '
'attempt; returns how many.';

create or replace function jobs.heartbeat(worker text, ids bigint[], progress jsonb default null)
returns setof bigint
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- Extends the leases still held; answers the ids whose cancellation was requested.
    update jobs.job_queue as j
    set locked_until = brandbase.now() + q.lease, progress = coalesce(heartbeat.progress, j.progress)
    from jobs.queues as q
    where j.id = any(ids) and j.locked_by = worker and q.name = j.queue
    returning case when j.cancel_requested then j.id end
$$;

comment on function jobs.heartbeat(text, bigint[], jsonb) is
'Extends the worker''s leases (and sets progress when given); returns the cancelled ids '
'among them (and nulls for the rest).';

create or replace function jobs.release(worker text, ids bigint[])
returns integer
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- Shutdown: hand unfinished jobs back without counting the attempt against them.
    with released as (
        update jobs.job_queue as j
        set locked_by = null, locked_until = null, attempts = greatest(j.attempts - 1, 0)
        where j.id = any(ids) and j.locked_by = worker
        returning 1
    )

    select count(*)::integer from released
$$;

comment on function jobs.release(text, bigint[]) is
'Gives leased jobs back to the queue uncounted (graceful shutdown); returns how many.';

create or replace function jobs.retry(job_id bigint)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    revived jobs.job_history;
begin
    delete from jobs.job_history as h where h.id = job_id and h.state = 'dead' returning * into revived;
    if not found then
        if exists (select from jobs.job_queue as j where j.id = job_id)
            or exists (select from jobs.job_history as h where h.id = job_id) then
            raise exception 'job % is not dead', job_id
                using errcode = 'PT409', hint = 'Only dead jobs (see jobs.job_history) can be retried.';
        end if;
        raise exception 'job % not found', job_id
            using errcode = 'PT404', hint = 'Job ids are listed in api.jobs (jobs.job_history for dead jobs).';
    end if;
    insert into jobs.job_queue (
        id, queue, brand_id, payload, run_at, fair_at, max_attempts, errors, created_at
    ) overriding system value
    select revived.id, revived.queue, revived.brand_id, revived.payload, brandbase.now(),
        jobs.fair_start(revived.queue, revived.brand_id, 1), q.max_attempts, revived.errors,
        revived.created_at
    from jobs.queues as q where q.name = revived.queue;
    return job_id;
end
$$;

comment on function jobs.retry(bigint) is
'Revives a dead job: back to the queue with its attempts reset and its error log kept.';

create or replace function jobs.cancel(job_id bigint)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    live jobs.job_queue;
begin
    select * into live from jobs.job_queue where id = job_id for update;
    if not found then
        if exists (select from jobs.job_history as h where h.id = job_id) then
            raise exception 'job % is not waiting or running', job_id
                using errcode = 'PT409', hint = 'It has finished already (see its state in api.jobs).';
        end if;
        raise exception 'job % not found', job_id
            using errcode = 'PT404', hint = 'Job ids are listed in api.jobs.';
    end if;
    if live.locked_by is not null then
        update jobs.job_queue set cancel_requested = true where id = job_id;
        return 'cancel requested';
    end if;
    delete from jobs.job_queue where id = job_id;
    insert into jobs.job_history (
        finished_at, id, queue, brand_id, state, payload, attempts, errors, created_at
    ) values (
        brandbase.now(), live.id, live.queue, live.brand_id, 'cancelled', live.payload,
        live.attempts, live.errors, live.created_at
    );
    return 'cancelled';
end
$$;

comment on function jobs.cancel(bigint) is
'Cancels a waiting job at once; a running one is flagged (its worker sees it at the next '
'heartbeat) and recorded as cancelled when it ends.';

create or replace function jobs.cycle(
    worker text,
    max_jobs integer,
    queue_names text[],
    done_ids bigint[] default '{}',
    results jsonb[] default null,
    failed_ids bigint[] default '{}',
    messages text[] default '{}'
)
returns setof jobs.job_queue
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- A worker's round in one statement and one commit: settle the last batch, claim the next.
    if cardinality(done_ids) > 0 then
        perform jobs.complete(worker, done_ids, results);
    end if;
    if cardinality(failed_ids) > 0 then
        perform jobs.fail(worker, failed_ids, messages);
    end if;
    if max_jobs > 0 then
        return query select * from jobs.claim(worker, max_jobs, queue_names);
    end if;
end
$$;

comment on function jobs.cycle(text, integer, text[], bigint[], jsonb[], bigint[], text[]) is
'complete() + fail() + claim() in one round trip and one transaction: what brandbase worker '
'calls; any client can.';

revoke all on function jobs.backoff(integer, interval, interval),
jobs.claim_capped(text, integer, jobs.queues), jobs.claim(text, integer, text[]),
jobs.complete(text, bigint[], jsonb[]), jobs.settle_failures(bigint[], text[], text),
jobs.fail(text, bigint[], text[]), jobs.reap(), jobs.heartbeat(text, bigint[], jsonb),
jobs.release(text, bigint[]), jobs.retry(bigint), jobs.cancel(bigint),
jobs.cycle(text, integer, text[], bigint[], jsonb[], bigint[], text[]) from public;
grant execute on function jobs.claim(text, integer, text[]), jobs.complete(text, bigint[], jsonb[]),
jobs.fail(text, bigint[], text[]), jobs.reap(), jobs.heartbeat(text, bigint[], jsonb),
jobs.release(text, bigint[]), jobs.retry(bigint), jobs.cancel(bigint),
jobs.cycle(text, integer, text[], bigint[], jsonb[], bigint[], text[]) to service_role;
