-- webhooks: the outbox. Events are written in the emitting transaction; a statement-level
-- trigger fans every new event out to the brand's matching, enabled endpoints in one
-- set-based insert, so an event and its deliveries commit (or roll back) together.

create or replace function webhooks.matches(patterns text[], event_type text)
returns boolean
language sql
immutable
parallel safe
as $$
    -- No SET clause: the planner inlines it into the fan-out (it names no table).
    select exists (
        select from unnest(patterns) as p
        where p = '*' or p = event_type or (right(p, 2) = '.*' and starts_with(event_type, left(p, -1)))
    )
$$;

comment on function webhooks.matches(text[], text) is
'Whether an endpoint subscribed with these patterns (exact, prefix.*, *) gets this event type.';

create or replace function webhooks.tg_events__fan_out()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- Subscriptions are matched once per brand and event type, not once per event: a
    -- batch of 10,000 events of one type to 10 endpoints tests 10 pairs, not 100,000.
    insert into webhooks.deliveries (brand_id, endpoint_id, event_id, event_created_at, next_attempt_at, fifo)
    select e.brand_id, t.endpoint_id, e.id, e.created_at, e.created_at, t.fifo
    from new_events as e
    inner join (
        select k.brand_id, k.event_type, p.id as endpoint_id, p.fifo
        from (select distinct n.brand_id, n.event_type from new_events as n) as k
        inner join webhooks.endpoints as p
            on k.brand_id = p.brand_id and p.enabled and webhooks.matches(p.event_types, k.event_type)
    ) as t on e.brand_id = t.brand_id and e.event_type = t.event_type;
    if found then
        perform pg_catalog.pg_notify('brandbase_webhooks', '');
    end if;
    return null;
end
$$;

drop trigger if exists events_50_fan_out on webhooks.events;
create trigger events_50_fan_out after insert on webhooks.events
referencing new table as new_events
for each statement execute function webhooks.tg_events__fan_out();

create or replace function webhooks.emit_many(brand_id uuid, event_type text, payloads jsonb)
returns setof uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cap integer := (select s.max_payload_bytes from webhooks.settings as s);
    oversize integer;
begin
    if not exists (select from webhooks.event_types as t where t.event_type = emit_many.event_type) then
        raise exception 'unknown event type: %', event_type
            using errcode = '22023', hint = 'Register it first: insert into webhooks.event_types.';
    end if;
    if payloads is null or jsonb_typeof(payloads) <> 'array' then
        raise exception 'payloads must be a JSON array'
            using errcode = '22023', hint = 'One element per event: [{"order_id": 1}, {"order_id": 2}].';
    end if;
    if not exists (select from brand.brands as b where b.id = brand_id) then
        raise exception 'brand not found' using errcode = 'PT404', hint = 'Check the brand id.';
    end if;
    -- The cap is on the body sent: {"data": <payload>, "type": "<type>", "timestamp": "<32
    -- characters at most>"} is 71 bytes and the type around the payload's text as jsonb
    -- prints it (the body is that text).
    select max(octet_length(p::text)) + octet_length(event_type) + 71 into oversize
    from jsonb_array_elements(payloads) as p;
    if oversize > cap then
        raise exception 'webhook body of % bytes exceeds the % byte limit', oversize, cap
            using errcode = '22001', hint = 'Send a reference (an id or a URL) instead of the data.';
    end if;
    return query
    insert into webhooks.events (brand_id, created_at, event_type, payload)
    select emit_many.brand_id, now(), emit_many.event_type, p
    from jsonb_array_elements(payloads) as p
    returning id;
end
$$;

comment on function webhooks.emit_many(uuid, text, jsonb) is
'Emits one event per element of payloads (one statement, fanned out in one more); returns '
'their ids. Refuses unknown types (22023) and bodies over settings.max_payload_bytes (22001).';

create or replace function webhooks.emit(brand_id uuid, event_type text, payload jsonb)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if payload is null then
        raise exception 'webhook payload is null'
            using errcode = '22023', hint = 'Send a JSON value; ''null''::jsonb if you mean JSON null.';
    end if;
    return (select e.id from webhooks.emit_many(brand_id, event_type, jsonb_build_array(payload)) as e (id));
end
$$;

comment on function webhooks.emit(uuid, text, jsonb) is 'Emits one event for a brand; returns its id.';

-- Table changes as events: <prefix>.created|updated|deleted with the row as payload.
create or replace function webhooks.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    -- tg_argv: brand column, event prefix
    brand_col text := tg_argv[0];
    kind text := case tg_op when 'INSERT' then 'created' when 'UPDATE' then 'updated' else 'deleted' end;
    changed jsonb[];
begin
    if tg_op = 'DELETE' then
        changed := (select array_agg(to_jsonb(t)) from old_rows as t);
    else
        changed := (select array_agg(to_jsonb(t)) from new_rows as t);
    end if;
    insert into webhooks.events (brand_id, created_at, event_type, payload)
    select (r ->> brand_col)::uuid, now(), tg_argv[1] || '.' || kind, r
    from unnest(changed) as r;
    return null;
end
$$;

comment on function webhooks.tg_capture() is
'Statement-level capture: one event per changed row, all in one insert.';

create or replace function webhooks.capture(
    target regclass, event_prefix text, brand_column name default 'brand_id'
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    kind text;
begin
    perform brand.assert_columns(target, array[brand_column::text]);
    foreach kind in array array['created', 'updated', 'deleted'] loop
        insert into webhooks.event_types (event_type, description, source_table)
        values (event_prefix || '.' || kind, pg_catalog.format('A row of %s was %s', target, kind), target::text)
        on conflict (event_type) do update set source_table = excluded.source_table;
    end loop;
    perform brand.install_capture_triggers(
        target, 'webhooks_capture', 'webhooks.tg_capture'::regproc, array[brand_column::text, event_prefix]
    );
end
$$;

comment on function webhooks.capture(regclass, text, name) is
'Emits <prefix>.created|updated|deleted for every row a statement changes on target, in the '
'same transaction; registers the three event types. Idempotent.';

create or replace function webhooks.uncapture(target regclass)
returns void
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select brand.drop_capture_triggers(target, 'webhooks_capture')
$$;

comment on function webhooks.uncapture(regclass) is 'Stops webhooks.capture() on a table.';

revoke all on function webhooks.matches(text[], text), webhooks.tg_events__fan_out(),
webhooks.emit_many(uuid, text, jsonb), webhooks.emit(uuid, text, jsonb), webhooks.tg_capture(),
webhooks.capture(regclass, text, name), webhooks.uncapture(regclass) from public;
grant execute on function webhooks.emit_many(uuid, text, jsonb), webhooks.emit(uuid, text, jsonb)
to service_role;
