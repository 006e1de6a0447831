-- jobs: health probes. Lag is the wait of the jobs next in line; dead jobs are those that
-- ran out of attempts in the last day.

create or replace function jobs.probe_lag(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- Among the next 1,000 jobs in claim order (an index range, cheap at any backlog).
    select coalesce(round(extract(epoch from brandbase.now() - min(n.run_at))::numeric, 1), 0),
           count(*) || ' ready jobs looked at (next 1,000 in claim order at most)'
    from (
        select j.run_at from jobs.job_queue as j
        where j.locked_until is null and j.run_at <= brandbase.now()
        order by j.priority, j.fair_at
        limit 1000
    ) as n
$$;

comment on function jobs.probe_lag() is 'Seconds the longest-waiting job next in line has been ready.';

create or replace function jobs.probe_dead(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select count(*), coalesce(string_agg(distinct h.queue, ', '), 'none') || ' (queues)'
    from jobs.job_history as h
    where h.state = 'dead' and h.finished_at > brandbase.now() - interval '1 day'
$$;

comment on function jobs.probe_dead() is 'Jobs that ran out of attempts in the last 24 hours.';

select health.register(
    'jobs_queue_lag', 'jobs', 'jobs.probe_lag()', 'seconds', 60, 600,
    'how long the job next in line has waited'
);
select health.register(
    'jobs_dead', 'jobs', 'jobs.probe_dead()', 'jobs', 1, 100, 'jobs dead in the last 24 hours'
);

revoke all on function jobs.probe_lag(), jobs.probe_dead() from public;
