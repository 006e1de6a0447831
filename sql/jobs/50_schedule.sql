-- jobs: recurring jobs and the queue's own upkeep. jobs.schedule() enqueues a job on a
-- cron schedule: pg_cron fires it when installed, brandbase worker otherwise (both through
-- brand.schedule), so the API and its semantics are the same either way.

create or replace function jobs.schedule(
    schedule_name text,
    cron_expr text,
    queue_name text,
    payload jsonb default '{}',
    brand_id uuid default null
)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform jobs.queue(queue_name);
    if brand_id is not null and not exists (select from brand.brands as b where b.id = brand_id) then
        raise exception 'unknown brand: %', brand_id using errcode = 'P0002';
    end if;
    -- A cron command is SQL text by nature; every value in it is quoted with %L.
    return brand.schedule(
        'job:' || schedule_name, cron_expr,
        pg_catalog.format(
            'select jobs.enqueue(%L, %L::jsonb, %L::uuid, dedupe_key => %L)',
            queue_name, coalesce(payload, '{}'), brand_id, 'schedule:' || schedule_name
        )
    );
end
$$;

comment on function jobs.schedule(text, text, text, jsonb, uuid) is
'Enqueues a job into queue_name on a cron schedule (five fields). A run is skipped while the '
'previous one is still waiting or running. Returns whether pg_cron runs it.';

create or replace function jobs.unschedule(schedule_name text)
returns boolean
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select brand.unschedule('job:' || schedule_name)
$$;

comment on function jobs.unschedule(text) is 'Removes a jobs.schedule() entry; idempotent.';

create or replace function jobs.prune()
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    longest interval := (select max(keep_for) from jobs.queues);
    removed bigint := 0;
    queue_removed bigint;
    q jobs.queues;
begin
    perform brand.ensure_partitions('jobs.job_history', interval '1 day', 3);
    if longest is not null then
        perform brand.drop_partitions_before('jobs.job_history', brandbase.now() - longest);
    end if;
    -- Queues that keep less than the longest: delete their rows inside kept partitions.
    for q in select * from jobs.queues where keep_for < longest loop
        delete from jobs.job_history
        where queue = q.name and finished_at < brandbase.now() - q.keep_for;
        get diagnostics queue_removed = row_count;
        removed := removed + queue_removed;
    end loop;
    return removed;
end
$$;

comment on function jobs.prune() is
'History retention: creates the next days'' partitions, drops partitions older than every '
'queue''s keep_for, deletes older rows of queues that keep less.';

revoke all on function jobs.schedule(text, text, text, jsonb, uuid), jobs.unschedule(text),
jobs.prune() from public;
grant execute on function jobs.schedule(text, text, text, jsonb, uuid), jobs.unschedule(text)
to service_role;

select jobs.prune();
select brand.schedule('jobs-prune', '11 * * * *', 'select jobs.prune()');
select brand.schedule('jobs-reap', '* * * * *', 'select jobs.reap()');
