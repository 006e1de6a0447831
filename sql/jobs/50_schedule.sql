-- jobs: recurring jobs and the queue's own upkeep. jobs.schedule() enqueues a job on a
-- cron schedule: pg_cron fires it when installed, brandbase worker otherwise (both through
-- brand.schedule), so the API and its semantics are the same either way.

create or replace function jobs.assert_cron(cron_expr text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    fields text[];
    lows constant integer[] := array[0, 0, 1, 1, 0];
    highs constant integer[] := array[59, 23, 31, 12, 7];
    names constant text[] := array['minute', 'hour', 'day of month', 'month', 'day of week'];
    item text;
    bound text;
begin
    if octet_length(cron_expr) > 200 then
        raise exception 'cron expression of % bytes is too long', octet_length(cron_expr)
            using errcode = '22001', hint = 'Five fields, e.g. ''17 3 * * *''.';
    end if;
    perform brand.assert_cron(cron_expr);  -- the shape: five fields or an @keyword
    if cron_expr ~ '^@' then
        return cron_expr;
    end if;
    -- pg_cron refuses values out of range with a bare "invalid schedule"; say which.
    fields := regexp_split_to_array(btrim(cron_expr), '\s+');
    for i in 1..5 loop
        foreach item in array string_to_array(fields[i], ',') loop
            if item ~ '/0+$' then
                raise exception 'invalid cron expression: %: a step of 0 in the % field', cron_expr, names[i]
                    using errcode = '22023', hint = 'Steps are 1 or more, e.g. ''*/5''.';
            end if;
            foreach bound in array regexp_split_to_array(regexp_replace(item, '/\d+$', ''), '-') loop
                continue when bound = '*';
                if bound::numeric not between lows[i] and highs[i] then
                    raise exception 'invalid cron expression: %: % is out of range for the % field',
                        cron_expr, bound, names[i]
                        using errcode = '22023',
                              hint = pg_catalog.format('The %s field takes %s to %s.', names[i], lows[i], highs[i]);
                end if;
            end loop;
        end loop;
    end loop;
    return cron_expr;
end
$$;

comment on function jobs.assert_cron(text) is
'Returns a five-field cron expression whose values are in range (minute 0-59, hour 0-23, '
'day 1-31, month 1-12, weekday 0-7); raises 22023 with the field at fault otherwise.';

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
    perform jobs.assert_cron(cron_expr);
    if schedule_name is null or schedule_name !~ '^[A-Za-z0-9_.:-]{1,100}$' then
        raise exception 'invalid schedule name: %', coalesce(left(schedule_name, 100), 'null')
            using errcode = '22023', hint = 'Letters, digits and _ . : -, at most 100 characters.';
    end if;
    if brand_id is not null and not exists (select from brand.brands as b where b.id = brand_id) then
        raise exception 'brand % not found', brand_id
            using errcode = 'PT404', hint = 'Schedule for an existing brand, or with brand_id null.';
    end if;
    -- A cron command is SQL text by nature; every value in it is quoted with %L.
    return brand.schedule(
        'job:' || schedule_name, cron_expr,
        pg_catalog.format(
            'select jobs.enqueue(%L, %L::jsonb, %L::uuid, dedupe_key => %L)',
            queue_name, coalesce(payload, '{}'), brand_id, 'schedule:' || schedule_name
        )
    );
exception when invalid_parameter_value then
    -- pg_cron's own refusal ("invalid schedule: ...") carries no hint.
    if sqlerrm like 'invalid schedule%' then
        raise exception 'invalid cron expression: % (%)', cron_expr, sqlerrm
            using errcode = '22023',
                  hint = 'Five fields: minute hour day-of-month month day-of-week, e.g. ''*/5 * * * *''.';
    end if;
    raise;
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

revoke all on function jobs.assert_cron(text), jobs.schedule(text, text, text, jsonb, uuid),
jobs.unschedule(text), jobs.prune() from public;
grant execute on function jobs.schedule(text, text, text, jsonb, uuid), jobs.unschedule(text)
to service_role;

select jobs.prune();
select brand.schedule('jobs-prune', '11 * * * *', 'select jobs.prune()');
select brand.schedule('jobs-reap', '* * * * *', 'select jobs.reap()');
