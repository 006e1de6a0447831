-- webhooks: the delivery protocol brandbase worker speaks. claim() leases due deliveries
-- with everything needed to send them (URL, headers, live secrets, the body to sign and
-- send); record() settles a batch of outcomes: success, retry on the schedule (or after
-- Retry-After), failure after the last attempt, and endpoint disabling.

drop function if exists webhooks.claim(text, integer);
drop function if exists webhooks.claim(text, integer, integer);

create function webhooks.claim(worker text, max_deliveries integer, ready integer default null)
returns table (
    brand_id uuid, delivery_id bigint, attempt integer, url text, headers jsonb,
    secrets text[], message_id text, sent_at bigint, body text, timeout_ms integer, lease_ms integer
)
language plpgsql
security definer
-- The due index, in order, whatever the statistics say (see jobs.claim).
set enable_bitmapscan = off
set enable_seqscan = off
set jit = off
set search_path = pg_catalog, pg_temp
as $$
declare
    s webhooks.settings := (select t from webhooks.settings as t);
    now_us bigint := (date_part('epoch', clock_timestamp()) * 1000000)::bigint;
    -- a host's emission interval rounded up (only to tell a held delivery when to come back)
    host_em bigint := (999999 + s.host_rate_limit) / s.host_rate_limit;
    room integer := least(greatest(coalesce(max_deliveries, 0), 0), 1000);
    -- Deliveries of rate-limited endpoints are taken only as many as can start at once (the
    -- worker's free slots): a token is spent when the request goes, not while it waits.
    ready_left integer := least(coalesce(ready, room), room);
    skip_endpoints uuid [] := '{}'::uuid [];
    skip_hosts text [] := '{}'::text [];
    c_brand uuid [];
    c_id bigint [];
    c_endpoint uuid [];
    c_rate integer [];
    c_host text [];
    c_why text [];  -- null: granted; e: the endpoint's limit; h: the host's
    c_wait bigint [];
    picked integer;
    leased integer;
    refused_endpoints uuid [];
    refused_hosts text [];
    passes integer := 0;
    held integer;  -- picked, not granted
    limited boolean;  -- any picked delivery of a rate-limited endpoint
begin
    -- Rate limits are exact: per endpoint (rate_limit per second, one second's worth at
    -- once) and per target host across brands (settings.host_rate_limit), both GCRA keys of
    -- ratelimit. A pass takes the due deliveries in order, grants each endpoint and host as
    -- many as its tokens allow (read from its bucket, then spent in one statement: the GCRA
    -- step of ratelimit.check with that cost), leases those and moves the others' next
    -- attempt to when their token comes; a later pass skips the exhausted endpoints and hosts, so a backlog behind a
    -- slow limit never holds other endpoints back.
    while room > 0 and passes < 4 loop
        passes := passes + 1;
        now_us := (date_part('epoch', clock_timestamp()) * 1000000)::bigint;
        with c as (
            select d.brand_id, d.id, d.endpoint_id, d.next_attempt_at, p.rate_limit, left(coalesce(p.host, ''), 255) as host
            from webhooks.deliveries as d
            inner join webhooks.endpoints as p on d.brand_id = p.brand_id and d.endpoint_id = p.id
            where d.status = 'pending' and d.locked_until is null and d.next_attempt_at <= now() and p.enabled
                -- fifo endpoints: only their oldest pending delivery, and only when none is in flight
                and (not p.fifo or d.id = (
                    select min(o.id) from webhooks.deliveries as o
                    where o.brand_id = d.brand_id and o.endpoint_id = d.endpoint_id and o.status = 'pending'
                        and o.fifo
                ))
                and d.endpoint_id <> all(skip_endpoints) and left(coalesce(p.host, ''), 255) <> all(skip_hosts)
                and (p.rate_limit is null or ready_left > 0)
            order by d.next_attempt_at
            limit room
            for update of d skip locked
        ),

        -- tokens left: the capacity less what the bucket owes, rounded up to whole tokens (a
        -- token is 1 s in units of 1/rate µs: the exact GCRA state of ratelimit.check)
        ek as (
            select e.endpoint_id, (999999 + e.rate_limit) / e.rate_limit as em,
                greatest(e.rate_limit - (coalesce(
                    ratelimit.owed(b.tat, b.rem, b.den, e.rate_limit, now_us), 0
                ) + 999999) / 1000000, 0) as avail
            from (select distinct c.endpoint_id, c.rate_limit from c where c.rate_limit is not null) as e
            left join ratelimit.buckets as b on b.key = 'webhook:' || e.endpoint_id
        ),

        hk as (
            select h.host,
                greatest(s.host_rate_limit - (coalesce(
                    ratelimit.owed(b.tat, b.rem, b.den, s.host_rate_limit, now_us), 0
                ) + 999999) / 1000000, 0) as avail
            from (select distinct c.host from c where s.host_rate_limit is not null) as h
            left join ratelimit.buckets as b on b.key = 'webhook-host:' || h.host
        ),

        by_endpoint as (
            select c.*, ek.avail as e_avail, ek.em as e_em,
                row_number() over (partition by c.endpoint_id order by c.next_attempt_at, c.id) as e_rank
            from c left join ek on c.endpoint_id = ek.endpoint_id
        ),

        by_host as (
            select r.*, coalesce(r.e_rank <= r.e_avail, true) as e_ok,
                case when r.rate_limit is not null and r.e_rank <= r.e_avail then row_number() over (
                    partition by r.rate_limit is not null and r.e_rank <= r.e_avail order by r.next_attempt_at, r.id
                ) end as ready_rank,
                row_number() over (
                    partition by r.host, coalesce(r.e_rank <= r.e_avail, true) order by r.next_attempt_at, r.id
                ) as h_rank
            from by_endpoint as r
        )

        select
            array_agg(r.brand_id order by r.next_attempt_at, r.id),
            array_agg(r.id order by r.next_attempt_at, r.id),
            array_agg(r.endpoint_id order by r.next_attempt_at, r.id),
            array_agg(r.rate_limit order by r.next_attempt_at, r.id),
            array_agg(r.host order by r.next_attempt_at, r.id),
            array_agg(case when not r.e_ok then 'e' when r.ready_rank > ready_left then 'r'
                when r.h_rank > hk.avail then 'h' end
                order by r.next_attempt_at, r.id),
            array_agg(greatest(
                case when not r.e_ok then (r.e_rank - r.e_avail) * r.e_em end,
                case when r.e_ok and r.h_rank > hk.avail then (r.h_rank - hk.avail) * host_em end
            ) order by r.next_attempt_at, r.id),
            count(*),
            count(*) filter (where not r.e_ok or r.ready_rank > ready_left or r.h_rank > hk.avail),
            coalesce(bool_or(r.rate_limit is not null), false)
        into c_brand, c_id, c_endpoint, c_rate, c_host, c_why, c_wait, picked, held, limited
        from by_host as r left join hk on r.host = hk.host;

        exit when picked = 0;
        -- Spend the tokens: the GCRA step of ratelimit.check (same keys, same buckets), for
        -- every key in one statement, timed by the clock (not the transaction's start, which
        -- may be a record() earlier: the requests go out after this commit).
        refused_endpoints := '{}';
        refused_hosts := '{}';
        if s.host_rate_limit is not null or limited then
            with spend as (
                select 'webhook-host:' || g.host as key, s.host_rate_limit as rate, count(*)::bigint as n
                from unnest(c_host, c_why) as g (host, why)
                where g.why is null and s.host_rate_limit is not null
                group by g.host
                union all
                select 'webhook:' || g.endpoint_id, g.rate_limit, count(*)
                from unnest(c_endpoint, c_rate, c_why) as g (endpoint_id, rate_limit, why)
                where g.why is null and g.rate_limit is not null
                group by g.endpoint_id, g.rate_limit
            ),

            -- n tokens are n seconds in units of 1/rate µs; the key conforms while it owes at
            -- most its capacity (rate tokens)
            spent as (
                insert into ratelimit.buckets as b (key, tat, rem, den)
                select x.key, now_us + x.n * 1000000 / x.rate, x.n * 1000000 % x.rate, x.rate
                from spend as x
                on conflict on constraint buckets_pkey do update
                set tat = now_us + (ratelimit.owed(b.tat, b.rem, b.den, excluded.den, now_us)
                    + ratelimit.owed(excluded.tat, excluded.rem, excluded.den, excluded.den, now_us))
                / excluded.den,
                    rem = (ratelimit.owed(b.tat, b.rem, b.den, excluded.den, now_us)
                        + ratelimit.owed(excluded.tat, excluded.rem, excluded.den, excluded.den, now_us))
                    % excluded.den,
                    den = excluded.den
                where ratelimit.owed(b.tat, b.rem, b.den, excluded.den, now_us)
                + ratelimit.owed(excluded.tat, excluded.rem, excluded.den, excluded.den, now_us)
                <= excluded.den * 1000000
                returning b.key
            )

            -- a key refused here was spent meanwhile by another worker
            select
                array(select substr(x.key, 9)::uuid from spend as x
                    where x.key like 'webhook:%' and x.key not in (select k.key from spent as k)),
                array(select substr(x.key, 14) from spend as x
                    where x.key like 'webhook-host:%' and x.key not in (select k.key from spent as k))
            into refused_endpoints, refused_hosts;
        end if;

        return query
        with taken as (
            select g.brand_id, g.id from unnest(c_brand, c_id, c_endpoint, c_host, c_why)
                as g (brand_id, id, endpoint_id, host, why)
            where g.why is null and g.endpoint_id <> all(refused_endpoints) and g.host <> all(refused_hosts)
        ),

        leased as (
            update webhooks.deliveries as d
            set locked_by = worker, locked_until = now() + s.lease, attempts = d.attempts + 1
            from taken
            where d.brand_id = taken.brand_id and d.id = taken.id
            returning d.*
        )

        select
            l.brand_id, l.id, l.attempts, p.url, p.headers,
            array(
                select x.secret from webhooks.secrets as x
                where x.brand_id = l.brand_id and x.endpoint_id = l.endpoint_id
                    and (x.expires_at is null or x.expires_at > now())
                order by x.created_at desc
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
            s.timeout_ms,
            (extract(epoch from s.lease) * 1000)::integer
        from leased as l
        inner join webhooks.endpoints as p on l.brand_id = p.brand_id and l.endpoint_id = p.id
        order by p.rate_limit is null;  -- the rate-limited first: they start first
        get diagnostics leased = row_count;

        -- The rest wait for their token (a refused check: about one token's time).
        if held > 0 or refused_endpoints <> '{}' or refused_hosts <> '{}' then
            update webhooks.deliveries as d
            set next_attempt_at = now() + coalesce(g.wait, 1000) * interval '1 microsecond'
            from unnest(c_brand, c_id, c_endpoint, c_host, c_why, c_wait)
                as g (brand_id, id, endpoint_id, host, why, wait)
            where d.brand_id = g.brand_id and d.id = g.id and g.why is distinct from 'r'
                and not (g.why is null and g.endpoint_id <> all(refused_endpoints) and g.host <> all(refused_hosts));
        end if;

        room := room - leased;
        ready_left := ready_left - (
            select count(*) from unnest(c_rate, c_why, c_endpoint, c_host) as g (rate_limit, why, endpoint_id, host)
            where g.rate_limit is not null and g.why is null and g.endpoint_id <> all(refused_endpoints)
                and g.host <> all(refused_hosts)
        );
        exit when leased = picked or picked < room + leased;
        -- Some were held back and more may be due: skip what is exhausted, look further.
        skip_endpoints := skip_endpoints || refused_endpoints || array(
            select distinct g.endpoint_id from unnest(c_endpoint, c_why) as g (endpoint_id, why) where g.why = 'e'
        );
        skip_hosts := skip_hosts || refused_hosts || array(
            select distinct g.host from unnest(c_host, c_why) as g (host, why) where g.why = 'h'
        );
    end loop;
end
$$;

comment on function webhooks.claim(text, integer, integer) is
'Leases up to max_deliveries due deliveries to worker, each endpoint and target host within '
'its rate limit (rate-limited ones only as many as ready, the slots free now), with the '
'URL, headers, live secrets, message id, timestamp, the exact body to sign and send, the '
'timeout and the lease.';

create or replace function webhooks.retry_delay(attempt integer, retry_after numeric)
returns interval
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- The schedule's wait after this attempt, with +-10 % jitter; a longer Retry-After wins,
    -- up to settings.max_retry_after (24 hours).
    return (
        select greatest(
            s.retry_schedule[attempt] * (0.9 + random() * 0.2),
            least(greatest(coalesce(retry_after, 0), 0) * interval '1 second', s.max_retry_after)
        )
        from webhooks.settings as s
    );
end
$$;

create or replace function webhooks.disable_endpoint(brand_id uuid, endpoint_id uuid, reason text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update webhooks.endpoints as e
    set enabled = false, disabled_reason = reason, disabled_at = now(), updated_at = now()
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
        if exists (select from webhooks.deliveries as d where d.brand_id = redeliver.brand_id and d.id = delivery_id) then
            raise exception 'webhook delivery % is being sent now', delivery_id
                using errcode = 'PT409', hint = 'Wait for this attempt''s outcome, then redeliver.';
        end if;
        raise exception 'webhook delivery % not found', delivery_id
            using errcode = 'PT404', hint = 'See api.webhook_deliveries for the brand''s deliveries.';
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
    earliest timestamptz := now() - (select s.recover_window from webhooks.settings as s);
begin
    if not exists (select from webhooks.endpoints as e where e.brand_id = recover.brand_id and e.id = endpoint_id) then
        raise exception 'webhook endpoint % not found', endpoint_id
            using errcode = 'PT404', hint = 'See api.webhook_endpoints for the brand''s endpoints.';
    end if;
    -- null, -infinity or anything older: the recover window (settings.recover_window, 7 days)
    update webhooks.deliveries as d
    set status = 'pending', next_attempt_at = now(), completed_at = null
    where d.brand_id = recover.brand_id and d.endpoint_id = recover.endpoint_id
        and d.status = 'failed' and d.created_at >= greatest(coalesce(since, earliest), earliest);
    get diagnostics recovered = row_count;
    perform pg_catalog.pg_notify('brandbase_webhooks', '');
    return recovered;
end
$$;

comment on function webhooks.recover(uuid, uuid, timestamptz) is
'Sends every failed delivery of an endpoint created since a time (at most settings.recover_window '
'ago; null: that long) again; returns how many.';

revoke all on function webhooks.claim(text, integer, integer), webhooks.retry_delay(integer, numeric),
webhooks.disable_endpoint(uuid, uuid, text), webhooks.record(text, jsonb), webhooks.reap(),
webhooks.release(text, uuid[], bigint[]), webhooks.redeliver(uuid, bigint),
webhooks.recover(uuid, uuid, timestamptz) from public;
grant execute on function webhooks.claim(text, integer, integer), webhooks.record(text, jsonb),
webhooks.reap(), webhooks.release(text, uuid[], bigint[]), webhooks.redeliver(uuid, bigint),
webhooks.recover(uuid, uuid, timestamptz), webhooks.disable_endpoint(uuid, uuid, text) to service_role;
