-- jobs: enqueue, one job or thousands in one call. Each brand's jobs are spaced 1 ms apart
-- on a per-queue fair-share clock that never lags behind real time, so claims (which take
-- jobs in clock order) interleave brands: a brand that enqueues a million jobs delays
-- another brand's new job by at most the jobs it enqueued before that job's time.

create or replace function jobs.fair_start(queue_name text, brand_id uuid, jobs_count integer)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    spacing constant bigint := 1000;  -- microseconds between one brand's jobs
    clock_key uuid := coalesce(brand_id, '00000000-0000-0000-0000-000000000000');
    now_us bigint := (extract(epoch from brandbase.now()) * 1e6)::bigint;
    start_at bigint;
begin
    insert into jobs.fair_clock (queue, brand_key, next_at) values (queue_name, clock_key, now_us)
    on conflict do nothing;
    -- Never wait for another transaction enqueueing for the same brand: if its clock row
    -- is locked, this batch starts at "now", which only favours that brand a little.
    update jobs.fair_clock as f
    set next_at = greatest(f.next_at, now_us) + jobs_count * spacing
    from (
        select c.queue, c.brand_key from jobs.fair_clock as c
        where c.queue = queue_name and c.brand_key = clock_key
        for update skip locked
    ) as mine
    where f.queue = mine.queue and f.brand_key = mine.brand_key
    returning f.next_at - jobs_count * spacing into start_at;
    return coalesce(start_at, now_us);
end
$$;

comment on function jobs.fair_start(text, uuid, integer) is
'Reserves jobs_count consecutive 1 ms slots on the brand''s fair-share clock; returns the first.';

create or replace function jobs._payload_too_large(n bigint, bytes integer, cap integer)
returns boolean
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception 'job payload % is % bytes, more than this queue''s cap of % bytes', n, bytes, cap
        using errcode = '22001',
              hint = 'Store large inputs elsewhere (a table, storage) and enqueue a reference to '
                  'them; operators set the cap with jobs.create_queue(..., max_payload_bytes => ...).';
end
$$;

comment on function jobs._payload_too_large(bigint, integer, integer) is
'Raises 22001 for an oversized payload (called only for one, from inside the enqueue statement).';

-- The batch form took jsonb before migration 0019; callers now send json (kept as sent).
drop function if exists jobs.enqueue_many(
    text, jsonb, uuid, integer, timestamptz, interval, integer, text[], text
);

create or replace function jobs.enqueue_many(
    queue_name text,
    payloads json,
    brand_id uuid default null,
    priority integer default 0,
    run_at timestamptz default null,
    delay interval default null,
    max_attempts integer default null,
    dedupe_keys text[] default null,
    on_duplicate text default 'ignore'
)
returns setof bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    target jobs.queues := jobs.queue(queue_name);
    starts timestamptz;
    first_slot bigint;
    jobs_count integer;
begin
    if payloads is null or json_typeof(payloads) <> 'array' then
        raise exception 'payloads must be a JSON array of job payloads'
            using errcode = '22023', hint = 'Pass e.g. ''[{"to": "a@example.com"}, {}]''::json.';
    end if;
    jobs_count := json_array_length(payloads);  -- a pass over the text: once
    if delay < interval '0' or (delay is not null and run_at is not null) then
        raise exception 'delay must be positive and cannot be combined with run_at'
            using errcode = '22023', hint = 'Give either run_at or a delay >= 0, or neither.';
    end if;
    if not isfinite(run_at) or not isfinite(delay) then
        raise exception 'run_at and delay must be finite, got run_at %, delay %', run_at, delay
            using errcode = '22023', hint = 'Give a real time (or leave both null to run now).';
    end if;
    if dedupe_keys is not null and exists (
        select from unnest(dedupe_keys) as k (dedupe_key) where octet_length(k.dedupe_key) > 512
    ) then
        raise exception 'a dedupe key is longer than 512 bytes'
            using errcode = '22001',
                  hint = 'Use a short key that names the work, e.g. ''invoice:42'', or a hash of a long one.';
    end if;
    if priority not between -32768 and 32767 or max_attempts not between 1 and 1000
        or on_duplicate not in ('ignore', 'replace')
        or cardinality(dedupe_keys) <> jobs_count then
        raise exception 'invalid enqueue option'
            using errcode = '22023',
                  hint = 'priority is a smallint, max_attempts 1..1000, on_duplicate ignore|replace, '
                      'and dedupe_keys has one key per payload.';
    end if;
    if brand_id is not null and not exists (select from brand.brands as b where b.id = brand_id) then
        raise exception 'brand % not found', brand_id
            using errcode = 'PT404', hint = 'Enqueue for an existing brand, or with brand_id null for a system job.';
    end if;

    starts := coalesce(run_at, brandbase.now() + coalesce(delay, interval '0'));
    first_slot := greatest(
        jobs.fair_start(queue_name, brand_id, jobs_count),
        (extract(epoch from starts) * 1e6)::bigint
    );
    if dedupe_keys is null then
        return query
        insert into jobs.job_queue (queue, brand_id, payload, priority, run_at, fair_at, max_attempts)
        select queue_name, brand_id, p.payload, priority, starts, first_slot + (p.n - 1) * 1000,
            coalesce(max_attempts, target.max_attempts)
        from json_array_elements(payloads) with ordinality as p (payload, n)
        where octet_length(p.payload::text) <= target.max_payload_bytes
            or jobs._payload_too_large(p.n, octet_length(p.payload::text), target.max_payload_bytes)
        returning id;
        return;
    end if;
    -- With dedupe keys: the last payload of a key within the batch wins, as it would
    -- across two calls.
    return query
    insert into jobs.job_queue as j (
        queue, brand_id, payload, priority, run_at, fair_at, max_attempts, dedupe_key
    )
    select distinct on (coalesce(d.dedupe_key, p.n::text))
        queue_name, brand_id, p.payload, priority, starts, first_slot + (p.n - 1) * 1000,
        coalesce(max_attempts, target.max_attempts), d.dedupe_key
    from json_array_elements(payloads) with ordinality as p (payload, n)
    inner join unnest(dedupe_keys) with ordinality as d (dedupe_key, n) on p.n = d.n
    where octet_length(p.payload::text) <= target.max_payload_bytes
        or jobs._payload_too_large(p.n, octet_length(p.payload::text), target.max_payload_bytes)
    order by coalesce(d.dedupe_key, p.n::text), p.n desc
    on conflict (queue, brand_id, dedupe_key) where dedupe_key is not null do update
    set payload = excluded.payload, priority = excluded.priority, run_at = excluded.run_at,
        fair_at = excluded.fair_at
    where on_duplicate = 'replace' and j.locked_until is null
    returning j.id;
end
$$;

comment on function jobs.enqueue_many(
    text, json, uuid, integer, timestamptz, interval, integer, text[], text
) is
'Enqueues one job per element of the payloads array in one statement; returns the ids of the '
'jobs written. Payloads are stored as sent (json, never parsed into jsonb). A live job with '
'the same dedupe key is kept (ignore) or, unless it is running, updated (replace).';

create or replace function jobs._require_payload(payload jsonb)
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if payload is null then
        raise exception 'a job payload cannot be null'
            using errcode = '22023', hint = 'Pass ''{}'' for a job without input.';
    end if;
    return payload;
end
$$;

comment on function jobs._require_payload(jsonb) is 'The payload, or 22023 when it is null.';

create or replace function jobs.enqueue(
    queue_name text,
    payload jsonb default '{}',
    brand_id uuid default null,
    priority integer default 0,
    run_at timestamptz default null,
    delay interval default null,
    max_attempts integer default null,
    dedupe_key text default null,
    on_duplicate text default 'ignore'
)
returns bigint
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(
        (select id from jobs.enqueue_many(
            queue_name, json_build_array(jobs._require_payload(payload)), brand_id, priority, run_at, delay,
            max_attempts, case when dedupe_key is not null then array[dedupe_key] end, on_duplicate
        ) as e (id)),
        (select j.id from jobs.job_queue as j
         where j.queue = queue_name and j.brand_id is not distinct from enqueue.brand_id
             and j.dedupe_key = enqueue.dedupe_key)
    )
$$;

comment on function jobs.enqueue(text, jsonb, uuid, integer, timestamptz, interval, integer, text, text) is
'Enqueues one job and returns its id (with a dedupe key already live: the live job''s id). '
'It takes jsonb, the type SQL builds payloads in; the job keeps it as json.';

-- Wake idle workers once per statement, not once per row. Listeners re-check the queue.
create or replace function jobs.tg_job_queue__wake()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform pg_catalog.pg_notify('brandbase_jobs', '');
    return null;
end
$$;

drop trigger if exists job_queue_90_wake on jobs.job_queue;
create trigger job_queue_90_wake after insert on jobs.job_queue
for each statement execute function jobs.tg_job_queue__wake();

revoke all on function jobs.fair_start(text, uuid, integer),
jobs._payload_too_large(bigint, integer, integer), jobs._require_payload(jsonb), jobs.enqueue_many(
    text, json, uuid, integer, timestamptz, interval, integer, text[], text
), jobs.enqueue(
    text, jsonb, uuid, integer, timestamptz, interval, integer, text, text
), jobs.tg_job_queue__wake() from public;
grant execute on function jobs.enqueue_many(
    text, json, uuid, integer, timestamptz, interval, integer, text[], text
), jobs.enqueue(
    text, jsonb, uuid, integer, timestamptz, interval, integer, text, text
) to service_role;
