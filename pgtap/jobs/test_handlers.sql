-- SQL handlers are stored as signatures (text, no reg* column): checked when the queue is
-- created, resolved for every job, and a handler dropped since fails its jobs with a clear
-- error. The api job functions are SECURITY INVOKER wrappers over definers in jobs.
begin;
select plan(10);

create function public.touch(job jobs.job_queue) returns jsonb
language sql as $$ select jsonb_build_object('touched', job.id) $$;

select lives_ok(
    $$select jobs.create_queue('touching', handler => 'public.touch(jobs.job_queue)')$$,
    'a handler named by its signature'
);
select is(
    (
        select handler from jobs.queues
        where name = 'touching'
    ), 'public.touch(jobs.job_queue)',
    'stored schema-qualified, as text'
);
select ok(jobs.enqueue('touching', '{}') > 0, 'enqueue');
select is(jobs.run_ready(10), 1, 'run_ready runs it');
select is(
    (
        select state from jobs.job_history
        where queue = 'touching'
    ), 'succeeded', 'the job succeeded'
);

drop function public.touch(jobs.job_queue);
select ok(jobs.enqueue('touching', '{}', max_attempts => 1) > 0, 'enqueue after the handler was dropped');
select is(jobs.run_ready(10), 1, 'run_ready takes the job');
select is(
    (
        select h.errors -> -1 ->> 'error' from jobs.job_history as h
        where h.queue = 'touching' and h.state = 'dead'
    ),
    'the handler public.touch(jobs.job_queue) of queue touching no longer resolves to a function',
    'and fails it with a clear error'
);

select is(
    (
        select string_agg(p.proname || ':' || p.prosecdef, ', ' order by p.proname)
        from pg_catalog.pg_proc as p
        where p.pronamespace = 'api'::regnamespace and p.proname in ('enqueue_job', 'cancel_job', 'retry_job')
    ),
    'cancel_job:false, enqueue_job:false, retry_job:false',
    'api job functions are SECURITY INVOKER'
);
select is(
    (
        select string_agg(p.proname || ':' || p.prosecdef, ', ' order by p.proname)
        from pg_catalog.pg_proc as p
        where
            p.pronamespace = 'jobs'::regnamespace and p.proname in ('enqueue_job', 'cancel_job', 'retry_job')
    ),
    'cancel_job:true, enqueue_job:true, retry_job:true',
    'over definers in jobs with the same arguments'
);

select * from finish();
rollback;
