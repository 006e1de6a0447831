-- webhooks: endpoints (URL checks, event types, secrets shown once and rotated with a
-- grace period), emit and fan-out (wildcards, disabled endpoints, capture, size cap,
-- rollback), and the delivery protocol (claim, record: success, retry schedule,
-- Retry-After, 410, giving up, auto-disable, fifo, redeliver, recover).
begin;
select plan(43);
select tests.seed_two_brands();
insert into webhooks.event_types (event_type, description) values
('order.created', 'an order was placed'), ('order.paid', 'an order was paid'), ('user.joined', 'x');
update webhooks.settings set allowed_networks = '{127.0.0.0/8}';

-- URLs and event types.
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://example.com/h', array['*'])$$,
    '22023', 'webhook URLs must use https: http://example.com/h', 'http is refused outside development mode'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'ftp://example.com', array['*'])$$,
    '22023', null, 'a URL that is not http(s) is refused'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://169.254.169.254/latest', array['*'])$$,
    '22023', null, 'a metadata address is refused'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://[::1]:8443/h', array['*'])$$,
    '22023', null, 'so is IPv6 loopback'
);
select lives_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://127.0.0.1:9/h', array['*'])$$,
    'unless its network is allowed in settings'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://example.com', array['nope.*'])$$,
    '22023', 'unknown event type: nope.*', 'an unknown event type is refused'
);
select is((select count(*)::int from webhooks.endpoints), 1, 'nothing was written by the refused calls');
delete from webhooks.endpoints;
update webhooks.settings set development_mode = true;

create temp table ep as
select
    'orders' as name,
    e.*
from webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/o', array['order.*']) as e
union all
select
    'all' as name,
    e.*
from webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/a', array['*']) as e
union all
select
    'users' as name,
    e.*
from webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/u', array['user.joined']) as e
union all
select
    'bolt' as name,
    e.*
from webhooks.create_endpoint(tests.brand('bolt'), 'http://127.0.0.1:9/b', array['*']) as e;
create function tests.ep(which text) returns uuid language sql as $$ select id from ep where name = which $$;

select ok(
    (select bool_and(ep.secret ~ '^whsec_[A-Za-z0-9+/]{32}$') from ep), 'each endpoint gets a whsec_ secret'
);
select is(
    (
        select count(*)::int from webhooks.secrets as s
        where s.secret in (select ep.secret from ep)
    ), 4,
    'stored for signing'
);

-- Emit and fan-out.
select
    ok(
        webhooks.emit(tests.brand('acme'), 'order.created', '{"id": 1}') is not null,
        'emit returns the event id'
    );
select results_eq(
    $$select endpoint_id from webhooks.deliveries order by endpoint_id$$,
    $$select id from ep where name in ('orders', 'all') order by id$$,
    'order.created reaches order.* and *, not user.joined nor another brand''s endpoint'
);
select is(
    (
        select count(*)::int
        from webhooks.emit_many(tests.brand('acme'), 'user.joined', '[{"u": 1}, {"u": 2}]')
    ),
    2,
    'emit_many emits one event per payload'
);
select is((select count(*)::int from webhooks.deliveries), 6, 'fanned out to 2 endpoints each');
do $$ begin perform webhooks.update_endpoint(tests.brand('acme'), tests.ep('all'), enabled => false); end $$;
do $$ begin perform webhooks.emit(tests.brand('acme'), 'order.paid', '{}'); end $$;
select is((select count(*)::int from webhooks.deliveries), 7, 'a disabled endpoint gets nothing');
do $$ begin perform webhooks.update_endpoint(tests.brand('acme'), tests.ep('all'), enabled => true); end $$;

select throws_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.shipped', '{}')$$, '22023', null, 'unknown event type'
);
update webhooks.settings set max_payload_bytes = 100;
select throws_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.paid', jsonb_build_object('x', repeat('a', 200)))$$,
    '22001', null, 'a payload over the size cap is refused'
);
update webhooks.settings set max_payload_bytes = 262144;
select is((select count(*)::int from webhooks.events), 4, 'and neither wrote an event');

create table public.orders (
    brand_id uuid not null, id integer not null, total integer, primary key (brand_id, id)
);
do $$ begin perform webhooks.capture('public.orders', 'shop_order'); end $$;
insert into public.orders values (tests.brand('acme'), 1, 10), (tests.brand('acme'), 2, 20);
update public.orders set total = 30
where id = 2;
delete from public.orders
where id = 1;
select results_eq(
    $$select event_type, count(*)::int from webhooks.events
      where event_type like 'shop_order.%' group by 1 order by 1$$,
    $$values ('shop_order.created', 2), ('shop_order.deleted', 1), ('shop_order.updated', 1)$$,
    'capture emits created, updated and deleted per row'
);
select ok(
    (
        select payload = jsonb_build_object('brand_id', tests.brand('acme'), 'id', 2, 'total', 30)
        from webhooks.events
        where event_type = 'shop_order.updated'
    ),
    'with the row as payload'
);
select is(
    (
        select count(*)::int from webhooks.event_types
        where source_table = 'public.orders'
    ), 3,
    'and registers the three types in the catalogue'
);
delete from webhooks.deliveries;

-- Claim and record.
do $$ begin perform webhooks.emit(tests.brand('acme'), 'user.joined', '{"u": 9}'); end $$;
create temp table c as select * from webhooks.claim('w1', 10);
select is((select count(*)::int from c), 2, 'claim leases the due deliveries');
select ok(
    (select bool_and(
        body::jsonb
        = jsonb_build_object(
            'type', 'user.joined', 'timestamp', (body::jsonb ->> 'timestamp'), 'data', '{"u": 9}'::jsonb
        )
        and message_id ~ '^msg_[0-9a-f]{32}$' and cardinality(secrets) = 1 and attempt = 1
    ) from c),
    'with the body to sign and send, the message id and the live secret'
);
select is(
    (select count(distinct message_id)::int from c), 1, 'one webhook-id per event, whatever the endpoint'
);
select is(
    webhooks.record(
        'w2',
        (
            select
                jsonb_agg(
                    jsonb_build_object('brand_id', brand_id, 'delivery_id', delivery_id, 'status_code', 200)
                )
            from c
        )
    ),
    0, 'another worker cannot settle them'
);
select is(
    webhooks.record('w1', (select jsonb_agg(jsonb_build_object(
        'brand_id', brand_id, 'delivery_id', delivery_id,
        'status_code', case when url like '%/u' then 200 else 500 end, 'latency_ms', 3.5, 'excerpt', 'nope'
    )) from c)),
    2, 'the holder settles both'
);
select results_eq(
    $$select status, attempts from webhooks.deliveries order by status$$,
    $$values ('pending', 1), ('succeeded', 1)$$,
    'the 200 succeeded, the 500 waits for a retry'
);
select ok(
    (
        select next_attempt_at between now() + interval '4.5 seconds' and now() + interval '5.5 seconds'
        from webhooks.deliveries
        where status = 'pending'
    ),
    'first retry after 5 s (+-10 %), as in the schedule'
);
select is((select count(*)::int from webhooks.attempts), 2, 'each attempt is logged');
select ok(
    (
        select failing_since is not null from webhooks.endpoints
        where id = tests.ep('all')
    ),
    'the failing endpoint is marked failing'
);

-- Retry-After, 410 and giving up.
update webhooks.deliveries set next_attempt_at = now()
where status = 'pending';
truncate c;
insert into c select * from webhooks.claim('w1', 10);
do $$
begin
    perform webhooks.record('w1', (select jsonb_agg(jsonb_build_object(
        'brand_id', brand_id, 'delivery_id', delivery_id,
        'status_code', 429, 'retry_after', 3600)) from c));
end
$$;
select ok(
    (
        select next_attempt_at > now() + interval '59 minutes' from webhooks.deliveries
        where status = 'pending'
    ),
    'a 429 with Retry-After waits as long as asked'
);
update webhooks.settings set retry_schedule = '{1 second}';
update webhooks.deliveries set next_attempt_at = now()
where status = 'pending';
truncate c;
insert into c select * from webhooks.claim('w1', 10);
do $$
begin
    perform webhooks.record('w1', (select jsonb_agg(jsonb_build_object(
        'brand_id', brand_id, 'delivery_id', delivery_id,
        'error', 'connection reset')) from c));
end
$$;
select is(
    (
        select status from webhooks.deliveries
        where endpoint_id = tests.ep('all')
    ), 'failed',
    'after the schedule''s last attempt the delivery has failed'
);
do $$ begin perform webhooks.emit(tests.brand('acme'), 'order.paid', '{"p": 1}'); end $$;
truncate c;
insert into c select * from webhooks.claim('w1', 10)
where url like '%/o';
do $$
begin
    perform webhooks.record('w1', (select jsonb_agg(jsonb_build_object(
        'brand_id', brand_id, 'delivery_id', delivery_id,
        'status_code', 410)) from c));
end
$$;
select results_eq(
    $$select enabled, disabled_reason from webhooks.endpoints where id = tests.ep('orders')$$,
    $$values (false, 'the endpoint answered 410 Gone')$$,
    '410 Gone disables the endpoint'
);
select is(
    (
        select count(*)::int from webhooks.events
        where event_type = 'webhooks.endpoint.disabled'
    ), 1,
    'and emits webhooks.endpoint.disabled'
);
update webhooks.endpoints set failing_since = now() - interval '6 days'
where id = tests.ep('all');
update webhooks.settings set retry_schedule = '{1 second, 1 second}';
update webhooks.deliveries set next_attempt_at = now()
where status = 'pending';
truncate c;
insert into c select * from webhooks.claim('w1', 10)
where url like '%/a';
do $$
begin
    perform webhooks.record('w1', (select jsonb_agg(jsonb_build_object(
        'brand_id', brand_id, 'delivery_id', delivery_id,
        'status_code', 503)) from c));
end
$$;
select ok(
    (
        select not enabled and disabled_reason like 'failing for longer than%' from webhooks.endpoints
        where id = tests.ep('all')
    ),
    'an endpoint failing for more than 5 days is disabled'
);

-- Redeliver, recover, reap.
do $$
begin
    perform webhooks.redeliver(tests.brand('acme'), (select id from webhooks.deliveries where status = 'succeeded' limit 1));
end
$$;
select is(
    (
        select count(*)::int from webhooks.deliveries
        where status = 'succeeded'
    ),
    0,
    'redeliver sends a delivery again'
);
do $$ begin perform webhooks.update_endpoint(tests.brand('acme'), tests.ep('all'), enabled => true); end $$;
select is(
    webhooks.recover(tests.brand('acme'), tests.ep('all'), now() - interval '1 hour'), 1,
    'recover resends every failed delivery of an endpoint since a time'
);
truncate c;
insert into c select * from webhooks.claim('w1', 10);
update webhooks.deliveries set locked_until = now() - interval '1 second'
where locked_by = 'w1';
select ok(webhooks.reap() > 0, 'expired leases are reaped');
select is(
    (
        select count(*)::int from webhooks.deliveries
        where locked_by is not null
    ), 0, 'and sent again by anyone'
);

-- Rotation: both secrets sign during the grace period.
create temp table rotated as select webhooks.rotate_secret(tests.brand('bolt'), tests.ep('bolt')) as secret;
do $$ begin perform webhooks.emit(tests.brand('bolt'), 'order.paid', '{}'); end $$;
truncate c;
insert into c select * from webhooks.claim('w1', 10)
where brand_id = tests.brand('bolt');
select is(
    (
        select secrets
        from c), array[(select secret from rotated), (
        select secret from ep
        where name = 'bolt'
    )
    ],
    'after a rotation the new and the old secret both sign'
);
select ok(
    (
        select expires_at between now() + interval '23 hours' and now() + interval '25 hours'
        from webhooks.secrets
        where secret = (
            select ep.secret from ep
            where ep.name = 'bolt'
        )
    ),
    'the old one for 24 hours'
);

-- FIFO: one at a time, in order.
do $$ begin perform webhooks.delete_endpoint(tests.brand('bolt'), tests.ep('bolt')); end $$;
create temp table fifo as select e.* from webhooks.create_endpoint(
    tests.brand('bolt'), 'http://127.0.0.1:9/f', array['*'], fifo => true
) as e;
do $$
begin
    perform count(*) from webhooks.emit_many(tests.brand('bolt'), 'order.paid', '[{"n": 1}, {"n": 2}, {"n": 3}]');
end
$$;
truncate c;
insert into c select * from webhooks.claim('w1', 10)
where brand_id = tests.brand('bolt');
select is((select count(*)::int from c), 1, 'a fifo endpoint gets one delivery at a time');
select is((select (body::jsonb -> 'data' ->> 'n') from c), '1', 'the oldest first');
select is(
    (
        select count(*)::int from webhooks.claim('w1', 10)
        where brand_id = tests.brand('bolt')
    ), 0,
    'nothing more while it is in flight'
);

select * from finish();
rollback;
