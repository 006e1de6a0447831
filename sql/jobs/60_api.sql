-- jobs: what brands see and do. Members read their brand's jobs (jobs.read); admins
-- enqueue into queues opened to apps, cancel and retry (jobs.manage). System jobs
-- (no brand) are the operator's only.

select brand.isolate('jobs.job_queue', 'jobs.read');
select brand.isolate('jobs.job_history', 'jobs.read');
revoke all on jobs.job_queue, jobs.job_history, jobs.queues, jobs.fair_clock
from public, anon, authenticated;
grant select on jobs.job_queue, jobs.job_history to authenticated;
grant select on jobs.job_queue, jobs.job_history, jobs.queues to service_role;

create or replace view jobs.queue_stats
with (security_invoker = true) as
select
    q.name as queue,
    q.paused,
    count(j.id) filter (where j.locked_until is null and j.run_at <= brandbase.now()) as ready,
    count(j.id) filter (where j.locked_until is not null) as running,
    count(j.id) filter (where j.locked_until is null and j.run_at > brandbase.now()) as scheduled,
    (
        select count(*) from jobs.job_history as h
        where h.queue = q.name and h.state = 'dead'
    ) as dead,
    coalesce(extract(epoch from brandbase.now() - min(j.run_at) filter (
        where j.locked_until is null and j.run_at <= brandbase.now()
    )), 0)::numeric(12, 3) as oldest_ready_age_s
from jobs.queues as q
left join jobs.job_queue as j on q.name = j.queue
group by q.name, q.paused;

comment on view jobs.queue_stats is
'Per queue: ready, running, scheduled (future run_at), dead, and the oldest ready job''s age.';

revoke all on jobs.queue_stats from public, anon, authenticated;
grant select on jobs.queue_stats to service_role;

create or replace view api.jobs
with (security_invoker = true) as
select
    j.id,
    j.brand_id,
    j.queue,
    case
        when j.locked_until is not null then 'running'
        when j.run_at > brandbase.now() then 'scheduled'
        else 'waiting'
    end as state,
    j.payload,
    null::jsonb as result,
    j.progress,
    j.attempts,
    j.last_error,
    j.run_at,
    j.created_at,
    null::timestamptz as finished_at
from jobs.job_queue as j
union all
select
    h.id,
    h.brand_id,
    h.queue,
    h.state,
    h.payload,
    h.result,
    null as progress,
    h.attempts,
    h.errors -> -1 ->> 'error' as last_error,
    null as run_at,
    h.created_at,
    h.finished_at
from jobs.job_history as h;

comment on view api.jobs is
'The caller''s brands'' jobs, live and finished (jobs.read): waiting, scheduled, running, '
'succeeded, dead, cancelled.';

comment on column api.jobs.payload is
'The job''s input as its producer sent it (json: use ->, ->> or a cast to jsonb).';

revoke all on api.jobs from public, anon;
grant select on api.jobs to authenticated, service_role;

drop function if exists jobs.brand_of(bigint);

create or replace function jobs.managed_brand_of(job_id bigint)
returns uuid
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid;
begin
    select j.brand_id into owner_brand from jobs.job_queue as j where j.id = job_id;
    if owner_brand is null then
        select h.brand_id into owner_brand from jobs.job_history as h where h.id = job_id;
    end if;
    -- Another brand's job, a system job and a missing job give the same answer: only a
    -- job the caller can see in api.jobs (jobs.read) is "found".
    if owner_brand is null or not brand.has_permission(owner_brand, 'jobs.read') then
        raise exception 'job % not found', job_id
            using errcode = 'PT404', hint = 'Job ids are listed in api.jobs.';
    end if;
    -- A member who may see the job but not manage it: 42501, naming only their own brand.
    perform brand.require_permission(owner_brand, 'jobs.manage');
    return owner_brand;
end
$$;

comment on function jobs.managed_brand_of(bigint) is
'The brand of a job the caller may manage (jobs.manage); PT404 "job N not found" for a job '
'the caller cannot see (another brand''s, a system job, or none), 42501 for a member without '
'jobs.manage.';

create or replace function jobs.enqueue_job(
    brand_id uuid, queue text, payload jsonb, run_at timestamptz, dedupe_key text
)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'jobs.manage');
    if octet_length(queue) > 63 then
        raise exception 'queue name of % bytes is too long', octet_length(queue)
            using errcode = '22001', hint = 'Queue names have at most 63 characters.';
    end if;
    if not coalesce((select q.app_enqueue from jobs.queues as q where q.name = queue), false) then
        raise exception 'queue % does not take jobs from apps', queue
            using errcode = '42501', hint = 'Operators open a queue with app_enqueue => true.';
    end if;
    return jobs.enqueue(queue, payload, brand_id, run_at => run_at, dedupe_key => dedupe_key);
end
$$;

comment on function jobs.enqueue_job(uuid, text, jsonb, timestamptz, text) is
'api.enqueue_job''s body: enqueues for a brand into a queue opened to apps (jobs.manage).';

create or replace function jobs.cancel_job(job_id bigint)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform jobs.managed_brand_of(job_id);
    return jobs.cancel(job_id);
end
$$;

comment on function jobs.cancel_job(bigint) is
'api.cancel_job''s body: cancels one of the caller''s brands'' jobs (jobs.manage).';

create or replace function jobs.retry_job(job_id bigint)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform jobs.managed_brand_of(job_id);
    return jobs.retry(job_id);
end
$$;

comment on function jobs.retry_job(bigint) is
'api.retry_job''s body: revives one of the caller''s brands'' dead jobs (jobs.manage).';

create or replace function api.enqueue_job(
    brand_id uuid, queue text, payload jsonb default '{}', run_at timestamptz default null,
    dedupe_key text default null
)
returns bigint
language sql
set search_path = pg_catalog, pg_temp
as $$ select jobs.enqueue_job(brand_id, queue, payload, run_at, dedupe_key) $$;

comment on function api.enqueue_job(uuid, text, jsonb, timestamptz, text) is
'Enqueues a job for a brand into a queue opened to apps (jobs.manage); payload at most the '
'queue''s max_payload_bytes (256 kB by default), dedupe_key at most 512 bytes.';

create or replace function api.cancel_job(job_id bigint)
returns text
language sql
set search_path = pg_catalog, pg_temp
as $$ select jobs.cancel_job(job_id) $$;

comment on function api.cancel_job(bigint) is
'Cancels one of the brand''s jobs (jobs.manage); PT404 for a job the caller cannot see.';

create or replace function api.retry_job(job_id bigint)
returns bigint
language sql
set search_path = pg_catalog, pg_temp
as $$ select jobs.retry_job(job_id) $$;

comment on function api.retry_job(bigint) is
'Revives one of the brand''s dead jobs (jobs.manage); PT404 for a job the caller cannot see, '
'PT409 for one that is not dead.';

revoke all on function jobs.managed_brand_of(bigint),
jobs.enqueue_job(uuid, text, jsonb, timestamptz, text), jobs.cancel_job(bigint), jobs.retry_job(bigint),
api.enqueue_job(uuid, text, jsonb, timestamptz, text), api.cancel_job(bigint), api.retry_job(bigint)
from public;
grant execute on function jobs.enqueue_job(uuid, text, jsonb, timestamptz, text),
jobs.cancel_job(bigint), jobs.retry_job(bigint),
api.enqueue_job(uuid, text, jsonb, timestamptz, text), api.cancel_job(bigint), api.retry_job(bigint)
to authenticated, service_role;
