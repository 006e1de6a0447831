-- webhooks: the delivery protocol brandbase worker speaks. claim() leases due deliveries
-- with everything needed to send them (URL, headers, live secrets, the body to sign and
-- send); record() settles a batch of outcomes: success, retry on the schedule (or after
-- Retry-After), failure after the last attempt, and endpoint disabling.

create or replace function webhooks.claim(worker text, max_deliveries integer)
returns table (
    brand_id uuid, delivery_id bigint, attempt integer, url text, headers jsonb,
    secrets text[], message_id text, sent_at bigint, body text, timeout_ms integer
)
language plpgsql
security definer
-- The due index, in order, whatever the statistics say (see jobs.claim).
set enable_bitmapscan = off
set enable_seqscan = off
set jit = off
set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    with picked as (
        select d.brand_id, d.id from webhooks.deliveries as d
        inner join webhooks.endpoints as p on d.brand_id = p.brand_id and d.endpoint_id = p.id
        where d.status = 'pending' and d.locked_until is null and d.next_attempt_at <= now() and p.enabled
            -- fifo endpoints: only their oldest pending delivery, and only when none is in flight
            and (not p.fifo or d.id = (
                select min(o.id) from webhooks.deliveries as o
                where o.brand_id = d.brand_id and o.endpoint_id = d.endpoint_id and o.status = 'pending'
                    and o.fifo
            ))
            -- per-endpoint rate limit; a token may be spent on a row another worker takes,
            -- which only ever slows the endpoint down, never past its limit
            and (p.rate_limit is null or (ratelimit.check('webhook:' || p.id, p.rate_limit, '1 second')).allowed)
        order by d.next_attempt_at
        limit max_deliveries
        for update of d skip locked
    ),

    leased as (
        update webhooks.deliveries as d
        set locked_by = worker, locked_until = now() + (select s.lease from webhooks.settings as s),
            attempts = d.attempts + 1
        from picked
        where d.brand_id = picked.brand_id and d.id = picked.id
        returning d.*
    )

    select
        l.brand_id, l.id, l.attempts, p.url, p.headers,
        array(
            select s.secret from webhooks.secrets as s
            where s.brand_id = l.brand_id and s.endpoint_id = l.endpoint_id
                and (s.expires_at is null or s.expires_at > now())
            order by s.created_at desc
        ),
        'msg_' || replace(l.event_id::text, '-', ''),
        extract(epoch from now())::bigint,
        -- A subquery on the event's whole key: one index probe into one partition, however
        -- stale the statistics of a partition just filled by a burst of events.
        (
            select jsonb_build_object('type', e.event_type, 'timestamp', e.created_at, 'data', e.payload)::text
            from webhooks.events as e
            where e.brand_id = l.brand_id and e.created_at = l.event_created_at and e.id = l.event_id
        ),
        (select t.timeout_ms from webhooks.settings as t)
    from leased as l
    inner join webhooks.endpoints as p on l.brand_id = p.brand_id and l.endpoint_id = p.id;
end
$$;

comment on function webhooks.claim(text, integer) is
'Leases up to max_deliveries due deliveries to worker, with the URL, headers, live secrets, '
'message id, timestamp and the exact body to sign and send.';

create or replace function webhooks.retry_delay(attempt integer, retry_after numeric)
returns interval
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    -- The schedule's wait after this attempt, with +-10 % jitter; a longer Retry-After wins.
    select greatest(
        s.retry_schedule[attempt] * (0.9 + random() * 0.2),
        coalesce(retry_after, 0) * interval '1 second'
    )
    from webhooks.settings as s
$$;

create or replace function webhooks.disable_endpoint(brand_id uuid, endpoint_id uuid, reason text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update webhooks.endpoints as e
    set enabled = false, disabled_reason = reason, updated_at = now()
    where e.brand_id = disable_endpoint.brand_id and e.id = endpoint_id and e.enabled;
    if found then
        perform webhooks.emit(brand_id, 'webhooks.endpoint.disabled',
            jsonb_build_object('endpoint_id', endpoint_id, 'reason', reason));
        -- The brand notification hook: listeners (the notifications module, an operator's
        -- script) hear every disabled endpoint.
        perform pg_catalog.pg_notify('brandbase_webhook_disabled', jsonb_build_object(
            'brand_id', brand_id, 'endpoint_id', endpoint_id, 'reason', reason)::text);
    end if;
end
$$;

comment on function webhooks.disable_endpoint(uuid, uuid, text) is
'Disables an endpoint, emits webhooks.endpoint.disabled and NOTIFYs brandbase_webhook_disabled.';

create or replace function webhooks.record(worker text, outcomes jsonb)
returns integer
language plpgsql
security definer
-- Key lookups whatever the statistics say (see claim).
set enable_seqscan = off
set jit = off
set search_path = pg_catalog, pg_temp
as $$
declare
    settled integer;
    touched uuid[];
    gone uuid[];
    endpoint record;
begin
    -- outcomes: [{brand_id, delivery_id, status_code, latency_ms, excerpt, error, retry_after}]
    with o as (
        select
            r.brand_id, r.delivery_id, r.status_code, r.latency_ms, r.retry_after, d.endpoint_id,
            d.attempts as attempt,
            left(r.excerpt, 1024) as excerpt,
            left(r.error, 1024) as error,
            coalesce(r.status_code between 200 and 299, false) as ok,
            coalesce(r.status_code = 410, false)
            or d.attempts > (select cardinality(s.retry_schedule) from webhooks.settings as s) as final
        from jsonb_to_recordset(outcomes) as r (
            brand_id uuid, delivery_id bigint, status_code integer, latency_ms numeric, excerpt text,
            error text, retry_after numeric
        )
        inner join webhooks.deliveries as d
            on r.brand_id = d.brand_id and r.delivery_id = d.id and d.locked_by = worker
        for update of d
    ),

    logged as (
        insert into webhooks.attempts (
            brand_id, attempted_at, delivery_id, attempt, status_code, latency_ms, response_excerpt, error
        )
        select o.brand_id, now(), o.delivery_id, o.attempt, o.status_code, o.latency_ms, o.excerpt, o.error
        from o
    ),

    updated as (
        update webhooks.deliveries as d
        set locked_by = null, locked_until = null, last_status_code = o.status_code, last_error = o.error,
            status = case when o.ok then 'succeeded' when o.final then 'failed' else 'pending' end,
            completed_at = case when o.ok or o.final then now() end,
            next_attempt_at = case
                when o.ok or o.final then d.next_attempt_at
                else now() + webhooks.retry_delay(o.attempt, o.retry_after)
            end
        from o
        where d.brand_id = o.brand_id and d.id = o.delivery_id
    ),

    -- Endpoints: healthy again on any success, else failing since their first failure.
    health as (
        update webhooks.endpoints as e
        set failing_since = case when f.any_ok then null else coalesce(e.failing_since, now()) end
        from (
            select o.brand_id, o.endpoint_id, bool_or(o.ok) as any_ok from o
            group by o.brand_id, o.endpoint_id
        ) as f
        where e.brand_id = f.brand_id and e.id = f.endpoint_id
            and (f.any_ok and e.failing_since is not null or not f.any_ok and e.failing_since is null)
    )

    select
        count(*), array_agg(distinct o.endpoint_id) filter (where not o.ok),
        array_agg(o.endpoint_id) filter (where o.status_code = 410)
    into settled, touched, gone
    from o;

    for endpoint in
        select e.brand_id, e.id,
            case when e.id = any(gone) then 'the endpoint answered 410 Gone'
                else 'failing for longer than ' || s.disable_after end as reason
        from webhooks.endpoints as e
        cross join webhooks.settings as s
        where e.enabled and (
            e.id = any(gone)
            or e.id = any(touched) and e.failing_since < now() - s.disable_after
        )
    loop
        perform webhooks.disable_endpoint(endpoint.brand_id, endpoint.id, endpoint.reason);
    end loop;
    return settled;
end
$$;

comment on function webhooks.record(text, jsonb) is
'Settles the worker''s leased deliveries from a JSON array of outcomes; returns how many.';

create or replace function webhooks.reap()
returns integer
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- A worker died holding leases: send again (the attempt was made, or may have been).
    with expired as (
        update webhooks.deliveries as d
        set locked_by = null, locked_until = null, last_error = 'lease expired (worker gone)'
        where d.locked_until < now()
        returning 1
    )

    select count(*)::integer from expired
$$;

comment on function webhooks.reap() is
'Returns deliveries whose lease expired to the queue at once: at least once, never lost.';

create or replace function webhooks.release(worker text, brand_ids uuid[], delivery_ids bigint[])
returns integer
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- Shutdown: hand unsent deliveries back without counting the attempt against them.
    with released as (
        update webhooks.deliveries as d
        set locked_by = null, locked_until = null, attempts = greatest(d.attempts - 1, 0)
        from unnest(brand_ids, delivery_ids) as r (brand_id, id)
        where d.brand_id = r.brand_id and d.id = r.id and d.locked_by = worker
        returning 1
    )

    select count(*)::integer from released
$$;

comment on function webhooks.release(text, uuid[], bigint[]) is
'Gives the worker''s leased deliveries back uncounted (graceful shutdown); returns how many.';

create or replace function webhooks.redeliver(brand_id uuid, delivery_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update webhooks.deliveries as d
    set status = 'pending', next_attempt_at = now(), completed_at = null
    where d.brand_id = redeliver.brand_id and d.id = delivery_id and d.locked_until is null;
    if not found then
        raise exception 'webhook delivery % not found (or being sent now)', delivery_id using errcode = 'P0002';
    end if;
    perform pg_catalog.pg_notify('brandbase_webhooks', '');
end
$$;

comment on function webhooks.redeliver(uuid, bigint) is
'Sends one delivery again now (same webhook-id), whatever its state.';

create or replace function webhooks.recover(brand_id uuid, endpoint_id uuid, since timestamptz)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    recovered integer;
begin
    update webhooks.deliveries as d
    set status = 'pending', next_attempt_at = now(), completed_at = null
    where d.brand_id = recover.brand_id and d.endpoint_id = recover.endpoint_id
        and d.status = 'failed' and d.created_at >= since;
    get diagnostics recovered = row_count;
    perform pg_catalog.pg_notify('brandbase_webhooks', '');
    return recovered;
end
$$;

comment on function webhooks.recover(uuid, uuid, timestamptz) is
'Sends every failed delivery of an endpoint created since a time again; returns how many.';

revoke all on function webhooks.claim(text, integer), webhooks.retry_delay(integer, numeric),
webhooks.disable_endpoint(uuid, uuid, text), webhooks.record(text, jsonb), webhooks.reap(),
webhooks.release(text, uuid[], bigint[]), webhooks.redeliver(uuid, bigint),
webhooks.recover(uuid, uuid, timestamptz) from public;
grant execute on function webhooks.claim(text, integer), webhooks.record(text, jsonb),
webhooks.reap(), webhooks.release(text, uuid[], bigint[]), webhooks.redeliver(uuid, bigint),
webhooks.recover(uuid, uuid, timestamptz), webhooks.disable_endpoint(uuid, uuid, text) to service_role;
