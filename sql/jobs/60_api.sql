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

create or replace function jobs.brand_of(job_id bigint)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid;
begin
    select j.brand_id into owner_brand from jobs.job_queue as j where j.id = job_id;
    if owner_brand is null then
        select h.brand_id into owner_brand from jobs.job_history as h where h.id = job_id;
    end if;
    if owner_brand is null then
        -- Another brand's job, a system job and a missing job look alike from outside.
        raise exception 'job % not found', job_id using errcode = 'P0002';
    end if;
    return owner_brand;
end
$$;

create or replace function api.enqueue_job(
    brand_id uuid, queue text, payload jsonb default '{}', run_at timestamptz default null,
    dedupe_key text default null
)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'jobs.manage');
    if not coalesce((select q.app_enqueue from jobs.queues as q where q.name = queue), false) then
        raise exception 'queue % does not take jobs from apps', queue
            using errcode = '42501', hint = 'Operators open a queue with app_enqueue => true.';
    end if;
    return jobs.enqueue(queue, payload, brand_id, run_at => run_at, dedupe_key => dedupe_key);
end
$$;

comment on function api.enqueue_job(uuid, text, jsonb, timestamptz, text) is
'Enqueues a job for a brand into a queue opened to apps (jobs.manage).';

create or replace function api.cancel_job(job_id bigint)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(jobs.brand_of(job_id), 'jobs.manage');
    return jobs.cancel(job_id);
end
$$;

comment on function api.cancel_job(bigint) is 'Cancels one of the brand''s jobs (jobs.manage).';

create or replace function api.retry_job(job_id bigint)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(jobs.brand_of(job_id), 'jobs.manage');
    return jobs.retry(job_id);
end
$$;

comment on function api.retry_job(bigint) is 'Revives one of the brand''s dead jobs (jobs.manage).';

revoke all on function jobs.brand_of(bigint), api.enqueue_job(uuid, text, jsonb, timestamptz, text),
api.cancel_job(bigint), api.retry_job(bigint) from public;
grant execute on function api.enqueue_job(uuid, text, jsonb, timestamptz, text),
api.cancel_job(bigint), api.retry_job(bigint) to authenticated, service_role;
