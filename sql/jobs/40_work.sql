-- jobs: running SQL handlers inside the database. jobs.run_ready() claims one batch of
-- jobs of queues with a SQL handler and runs them in the caller's transaction, each in its
-- own subtransaction: a handler that raises rolls back only its own writes and is retried.
-- brandbase worker calls it on every poll (a committed batch at a time); pg_cron calls it
-- once a minute, so SQL jobs run even where no worker does. (A procedure that commits
-- between batches cannot be called by pg_cron or by drivers: both use the extended
-- protocol, where CALL may not commit.)

create or replace function jobs.run_ready(batch_size integer default 100)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
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
        begin
            -- The handler is stored as a signature (text); it is resolved for every job, so
            -- a dropped function fails its jobs with a clear error rather than the batch.
            select n.nspname, p.proname, p.prorettype = 'void'::regtype as returns_void
            into handler
            from jobs.queues as q
            inner join pg_catalog.pg_proc as p on jobs.handler_of(q.name, q.handler) = p.oid
            inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
            where q.name = job.queue;
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

revoke all on function jobs.run_ready(integer) from public;
grant execute on function jobs.run_ready(integer) to service_role;

select brand.schedule('jobs-work', '* * * * *', 'select jobs.run_ready(1000)')
where brand.has_pg_cron();
