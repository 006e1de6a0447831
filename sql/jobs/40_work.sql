-- jobs: running SQL handlers inside the database. jobs.run_ready() runs one batch in the
-- caller's transaction; jobs.work() loops over batches with a commit after each. pg_cron
-- calls jobs.work() every minute and it long-polls for most of that minute; without
-- pg_cron, brandbase worker calls jobs.work(0) on every poll.
-- Each job runs in its own subtransaction: a handler that raises rolls back only its own
-- writes and is retried.

create or replace function jobs.run_ready(batch_size integer default 100)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    worker constant text := 'sql:' || pg_catalog.pg_backend_pid();
    sql_queues text[];
    job jobs.job_queue;
    handler record;
    result jsonb;
    claimed integer := 0;
begin
    select array_agg(q.name) into sql_queues from jobs.queues as q where q.handler is not null;
    if sql_queues is null then
        return 0;
    end if;
    for job in select * from jobs.claim(worker, batch_size, sql_queues) loop
        claimed := claimed + 1;
        select n.nspname, p.proname, p.prorettype = 'void'::regtype as returns_void
        into handler
        from jobs.queues as q
        inner join pg_catalog.pg_proc as p on q.handler = p.oid
        inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
        where q.name = job.queue;
        begin
            result := null;
            if handler.returns_void then
                execute pg_catalog.format('select %I.%I($1)', handler.nspname, handler.proname)
                using job;
            else
                execute pg_catalog.format('select %I.%I($1)', handler.nspname, handler.proname)
                using job into result;
            end if;
            perform jobs.complete(worker, array[job.id], array[result]);
        exception when others then
            perform jobs.fail(worker, array[job.id], array[sqlerrm]);
        end;
    end loop;
    return claimed;
end
$$;

comment on function jobs.run_ready(integer) is
'Runs up to batch_size ready jobs of queues with a SQL handler in this transaction; returns '
'how many it took.';

create or replace procedure jobs.work(max_seconds numeric default 0, batch_size integer default 100)
language plpgsql
set search_path = ''
as $$
declare
    deadline constant timestamptz := pg_catalog.clock_timestamp() + max_seconds * interval '1 second';
    claimed integer;
begin
    loop
        claimed := jobs.run_ready(batch_size);
        commit;
        exit when claimed < batch_size and pg_catalog.clock_timestamp() >= deadline;
        if claimed = 0 then
            perform pg_catalog.pg_sleep(1);
        end if;
    end loop;
end
$$;

comment on procedure jobs.work(numeric, integer) is
'Runs ready SQL-handler jobs batch by batch, committing after each, until nothing is ready '
'and max_seconds have passed (idle: polls once a second).';

revoke all on function jobs.run_ready(integer) from public;
revoke all on procedure jobs.work(numeric, integer) from public;
grant execute on function jobs.run_ready(integer) to service_role;
grant execute on procedure jobs.work(numeric, integer) to service_role;

-- Where pg_cron runs jobs in background workers (cron.use_background_workers = on, which
-- this role cannot read), re-register with 'select jobs.run_ready(1000)'; see docs/jobs.md.
select brand.schedule('jobs-work', '* * * * *', 'call jobs.work(55)')
where brand.has_pg_cron();
