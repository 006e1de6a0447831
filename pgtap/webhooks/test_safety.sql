-- webhooks as a tenant cannot abuse them: exact rate limits in the claim (per endpoint, per
-- target host, a backlog holding nobody back), caps (endpoints per plan, replays, Retry-After,
-- body size, recover window), what is checked when saved (URLs as the resolver reads them,
-- IPv4 inside IPv6, ports, headers, rate limits, sizes), the platform's own event types, the
-- error contract (PT404 for another brand's and a missing object alike) and the api layer
-- (invoker wrappers over definers with the same arguments).
begin;
select plan(96);
select tests.seed_two_brands();
insert into webhooks.event_types (event_type, description) values ('order.paid', 'paid');
update webhooks.settings set allowed_networks = '{}', development_mode = false;

-- URLs, read as glibc's resolver reads them.
select is(webhooks.parse_ipv4(h), '127.0.0.1'::inet, 'the resolver reads ' || h || ' as 127.0.0.1')
from unnest(array['0177.0.0.1', '0x7f000001', '127.1', '2130706433', '0x7f.1', '127.0.1', '0177.1']) as h;
select is(webhooks.parse_ipv4('example.com'), null, 'a name is no address');
select is(webhooks.parse_ipv4('1572395042'), '93.184.216.34'::inet, 'a public address in decimal');
select
    throws_ok(
        format('select webhooks.create_endpoint(tests.brand(''acme''), %L, array[''*''])', u), '22023',
        null, 'refused with 22023: ' || u
    )
from unnest(array[
    'https://0177.0.0.1/h', 'https://0x7f000001/h', 'https://127.1/h', 'https://2130706433/h',
    'https://0xa9.0xfe.0xa9.0xfe/', 'https://08.1/h', 'https://256.1.1.1/h',
    'https://[::127.0.0.1]/h', 'https://[::ffff:0:7f00:1]/h', 'https://[2002:a9fe:a9fe::]/h',
    'https://[64:ff9b::a9fe:a9fe]/h', 'https://[64:ff9b:1::a00:1]/h', 'https://[::ffff:10.0.0.1]/h',
    'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h', 'https://[1::2::3]/h',
    'https://example.com:99999/h',
    'https://example.com:0/h',
    'https://localhost/h',
    'https://api.localhost/h',
    'https://metadata.google.internal/h', 'https://example.com/caf' || chr(233)
]) as u;
select throws_like(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://0177.0.0.1/h', array['*'])$$,
    '%refused address: 127.0.0.1', 'the refusal names the address the resolver would reach'
);
select lives_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://1572395042:8443/h', array['*'])$$,
    'a public address in any form, with a valid port, is fine'
);
select lives_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://[2002:5db8:d822::1]/h', array['*'])$$,
    'so is 6to4 of a public address'
);
update webhooks.settings set allowed_networks = '{10.0.0.0/8}';
select lives_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'https://[::ffff:10.0.0.1]/h', array['*'])$$,
    'an allowed network is allowed inside IPv6 forms too'
);
update webhooks.settings set allowed_networks = '{127.0.0.0/8}', development_mode = true;
delete from webhooks.endpoints;

-- Headers, rate limits, sizes: 22023 / 22001 with a hint before anything is written.
select
    throws_ok(
        format(
            'select webhooks.create_endpoint(tests.brand(''acme''), ''http://127.0.0.1:9/h'', array[''*''], '
            'headers => %L)', h
        ), '22023', null, 'headers refused: ' || h
    )
from unnest(array[
    '{"X": "a\r\nInjected: 1"}', '{"Bad Name": "1"}', '{"X\n": "1"}', '{"Host": "internal.example"}',
    '{"transfer-encoding": "chunked"}', '{"Content-Length": "0"}', '{"Webhook-Signature": "v1,x"}',
    '{"webhook-id": "msg_1"}', '{"CONNECTION": "close"}', '{"X": "€"}', '{"X": 1}', '[1]'
]) as h;
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/h', array['*'],
        headers => (select jsonb_object_agg('X-' || g, 'v') from generate_series(1, 21) as g))$$,
    '22001', null, 'more than 20 headers'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/h', array['*'],
        headers => jsonb_build_object('X', repeat('v', 5000)))$$,
    '22001', null, 'more than 4 KB of headers'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/h', array['*'],
        rate_limit => 0)$$,
    '22023', 'invalid webhook rate limit: 0', 'rate limit 0 (no raw 23514)'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/h', array['*'],
        description => repeat('d', 1001))$$,
    '22001', null, 'a description past 1000 characters'
);
create temp table ep as
select e.id from webhooks.create_endpoint(
    tests.brand('acme'), 'http://127.0.0.1:9/slow', array['*'],
    headers => '{"X-Tenant": "42", "Authorization": "Bearer t"}', rate_limit => 2
) as e;
select is((select count(*)::int from webhooks.endpoints), 1, 'only the valid endpoint was written');
select throws_ok(
    format(
        'select webhooks.update_endpoint(tests.brand(''acme''), %L, rate_limit => -5)', (select ep.id from ep)
    ),
    '22023', null, 'a negative rate limit on update'
);
select throws_ok(
    format(
        'select webhooks.update_endpoint(tests.brand(''acme''), %L, headers => ''{"Host": "x"}'')',
        (select ep.id from ep)
    ),
    '22023', null, 'a reserved header on update'
);
select
    throws_ok(
        format('select webhooks.rotate_secret(tests.brand(''acme''), %L, %L)', (select ep.id from ep), g),
        '22023',
        null,
        'rotation grace refused: ' || g
    )
from unnest(array['-1 hour', '31 days']) as g;

-- The claim: exact per-endpoint limits, and a backlog holds no one else back.
insert into webhooks.event_types (event_type, description) values ('other.thing', 'x');
create temp table fast as
select e.id
from webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/fast', array['other.*']) as e;
do $$ begin perform webhooks.emit_many(tests.brand('acme'), 'order.paid',
    (select jsonb_agg(g) from generate_series(1, 200) as g)); end $$;
-- the limiter keeps to the clock, not the settable one
do $$ begin perform set_config('brandbase.frozen_now', '2000-01-01', true); end $$;
do $$ begin perform webhooks.emit_many(tests.brand('acme'), 'other.thing', '[1, 2, 3, 4, 5]'); end $$;
update webhooks.deliveries set next_attempt_at = next_attempt_at - interval '1 minute'
where endpoint_id = (select ep.id from ep);  -- the limited backlog first in the due order
create temp table claimed as select * from webhooks.claim('w', 50);
select is(
    (
        select count(*)::int from claimed as c inner join webhooks.deliveries as d on c.delivery_id = d.id
        where d.endpoint_id = (select ep.id from ep)
    ),
    2, 'a claim of 50 takes 2 of the 2/s endpoint (one second''s worth)'
);
select is(
    (
        select count(*)::int from claimed as c inner join webhooks.deliveries as d on c.delivery_id = d.id
        where d.endpoint_id = (select fast.id from fast)
    ),
    5, 'and every delivery of the unlimited endpoint behind its backlog'
);
select is((select count(*)::int from webhooks.claim('w', 50)), 0, 'the next claim finds no token left');
select ok(
    (
        select count(*) >= 48 from webhooks.deliveries as d
        where d.endpoint_id = (select ep.id from ep) and d.locked_by is null and d.next_attempt_at > now()
    ),
    'held-back deliveries wait for their token'
);
select ok(
    (
        select c.lease_ms = 60000 and c.timeout_ms = 15000 from claimed as c
        order by c.delivery_id limit 1
    ),
    'the claim says how long the lease and the timeout are'
);
do $$ begin perform set_config('brandbase.frozen_now', '', true); end $$;
update webhooks.deliveries set
    next_attempt_at = now() - interval '1 minute', locked_by = null, locked_until = null;
delete from ratelimit.buckets
where key like 'webhook%';
create temp table by_slots as
select
    0 as ready,
    c.*
from webhooks.claim('w', 50, 0) as c
union all
select
    1 as ready,
    c.*
from webhooks.claim('w', 50, 1) as c;
select is(
    (
        select array_agg(c.ready)
        from by_slots as c
        inner join webhooks.deliveries as d on c.delivery_id = d.id
        where d.endpoint_id = (select ep.id from ep)
    ),
    '{1}', 'a rate-limited endpoint gets only free slots: none with none free, one with one'
);
select
    is((
        select count(*)::int from by_slots
        where ready = 0
    ), 5, 'the unlimited endpoint fills the prefetch');
-- The host ceiling, across endpoints.
delete from ratelimit.buckets
where key like 'webhook%';
update webhooks.deliveries set
    locked_by = null, locked_until = null, next_attempt_at = now() - interval '1 minute';
update webhooks.endpoints set rate_limit = null;
update webhooks.settings set host_rate_limit = 7;
select is((select count(*)::int from webhooks.claim('w', 50)), 7, 'one host: 7/s across its endpoints');
-- Exact: at 3/s a token is 333,333 1/3 µs; three single claims owe exactly one second.
delete from ratelimit.buckets
where key like 'webhook%';
update webhooks.deliveries set
    locked_by = null, locked_until = null, next_attempt_at = now() - interval '1 minute';
update webhooks.settings set host_rate_limit = 3;
select is((select count(*)::int from webhooks.claim('w', 1)), 1, 'at 3/s, one claim of one');
create temp table first_spend as
select
    b.tat,
    b.rem,
    b.den
from ratelimit.buckets as b
where b.key like 'webhook-host:%';
select is(
    (select (f.rem, f.den) from first_spend as f), (1::bigint, 3::bigint),
    'a token of 1,000,000 / 3 µs keeps its third of a microsecond (ratelimit.check''s state)'
);
select is(
    (select count(*)::int from webhooks.claim('w', 1)) + (select count(*)::int from webhooks.claim('w', 1)),
    2, 'two more single claims'
);
select is(
    (
        select (b.tat - f.tat, b.rem) from ratelimit.buckets as b
        cross join first_spend as f
        where b.key like 'webhook-host:%'
    ),
    (666667::bigint, 0::bigint), 'three tokens at 3/s are exactly one second: nothing is rounded away'
);
select is((select count(*)::int from webhooks.claim('w', 50)), 0, 'and the fourth in that second is held');
update webhooks.settings set host_rate_limit = 1000;

-- Caps: Retry-After, body size, null payloads, the platform's own types.
select is(webhooks.retry_delay(1, 31536000), interval '24 hours', 'Retry-After is capped at 24 hours');
update webhooks.settings set max_payload_bytes = 100;
select lives_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.paid', to_jsonb(repeat('a', 100 - 71 - 10 - 2)))$$,
    'a body of exactly the cap (at the longest timestamp)'
);
select throws_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.paid', to_jsonb(repeat('a', 100 - 71 - 10 - 1)))$$,
    '22001', 'webhook body of 101 bytes exceeds the 100 byte limit', 'one more byte is refused (22001)'
);
select ok(
    (select max(octet_length(jsonb_build_object(
        'type', e.event_type, 'timestamp', e.created_at,
        'data', e.payload
    )::text)) <= 100 from webhooks.events as e
    where octet_length(e.payload::text) = 19),
    'the body sent is within the cap'
);
update webhooks.settings set max_payload_bytes = 262144;
select throws_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.paid', null)$$, '22023', null, 'a SQL null payload'
);
select lives_ok(
    $$select webhooks.emit(tests.brand('acme'), 'order.paid', 'null')$$, 'JSON null is a payload'
);
select throws_ok(
    $$select webhooks.emit(gen_random_uuid(), 'order.paid', '{}')$$, 'PT404', 'brand not found',
    'an unknown brand: PT404'
);

select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    $$select api.emit_webhook(tests.brand('acme'), 'webhooks.endpoint.disabled', '{"endpoint_id": "x"}')$$,
    '42501', 'event type webhooks.endpoint.disabled is emitted by the platform only',
    'the app cannot forge the platform''s events'
);
select tests.clear_authentication();
insert into webhooks.event_types (event_type, description, source_table) values (
    'row.created', 'x', 'public.t'
);
select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    $$select api.emit_webhook(tests.brand('acme'), 'row.created', '{}')$$, '42501', null,
    'nor table capture''s'
);
select lives_ok($$select api.emit_webhook(tests.brand('acme'), 'order.paid', '{}')$$, 'its own types it can');

-- Endpoints per plan.
select tests.clear_authentication();
delete from webhooks.endpoints;
select lives_ok(
    $$select count(*) from generate_series(1, 10) as g,
        lateral webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/' || g, array['*'])$$,
    'a free brand may have 10 endpoints'
);
select throws_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/11', array['*'])$$,
    'PT429', 'the brand has its 10 webhook endpoints already', 'not 11'
);
update brand.brands set plan = 'pro'
where id = tests.brand('acme');
select lives_ok(
    $$select webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/11', array['*'])$$,
    'a pro brand may have more'
);
update brand.brands set plan = 'mystery'
where id = tests.brand('acme');
select is(webhooks.max_endpoints(tests.brand('acme')), 10, 'an unknown plan gets the smallest cap');

-- Replays: limited per brand, recover in a bounded window, re-enabling after 410.
delete from webhooks.endpoints;
delete from webhooks.deliveries;
create temp table rp as
select e.id from webhooks.create_endpoint(tests.brand('acme'), 'http://127.0.0.1:9/r', array['*']) as e;
grant select on rp to public;
do $$ begin perform webhooks.emit_many(tests.brand('acme'), 'order.paid', '[1, 2, 3]'); end $$;
update webhooks.deliveries set status = 'failed', completed_at = now();
update webhooks.deliveries set created_at = now() - interval '8 days'
where id = (select min(id) from webhooks.deliveries);
update webhooks.settings set replay_rate = 3;
select tests.authenticate_as(tests.uid('admin@acme'));
select is(api.recover_webhooks((select rp.id from rp), null), 2, 'recover(since => null): the last 7 days');
select tests.clear_authentication();
update webhooks.deliveries set status = 'failed';
select tests.authenticate_as(tests.uid('admin@acme'));
select is(api.recover_webhooks((select rp.id from rp), '-infinity'), 2, '-infinity: the same window');
select lives_ok(
    format(
        'select api.redeliver_webhook(%L, %s)', tests.brand('acme'), (select min(id) from webhooks.deliveries)
    ),
    'a third replay'
);
select throws_ok(
    format(
        'select api.redeliver_webhook(%L, %s)', tests.brand('acme'), (select min(id) from webhooks.deliveries)
    ),
    'PT429', null, 'a fourth within the hour is refused'
);
select throws_ok(
    format('select api.recover_webhooks(%L, now())', (select rp.id from rp)), 'PT429', null, 'recover too'
);
select tests.clear_authentication();
update webhooks.settings set replay_rate = 60;
delete from ratelimit.buckets
where key like 'webhook-replay:%';
do $$ begin
    perform webhooks.disable_endpoint(tests.brand('acme'), (select rp.id from rp), 'the endpoint answered 410 Gone');
end $$;
select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    format('select api.update_webhook_endpoint(%L, enabled => true)', (select rp.id from rp)), 'PT409', null,
    'an endpoint that answered 410 is not turned straight back on'
);
select lives_ok(
    format(
        'select api.update_webhook_endpoint(%L, url => ''http://127.0.0.1:9/new'', enabled => true)',
        (select rp.id from rp)
    ),
    'with a new URL it is'
);

-- Not found: a missing object and another brand's look alike, and name no brand.
select throws_ok(
    format('select api.update_webhook_endpoint(%L, description => ''x'')', gen_random_uuid()), 'PT404', null,
    'a missing endpoint: PT404'
);
select throws_like(
    format('select api.rotate_webhook_secret(%L)', (
        select e.id from webhooks.endpoints as e
        where e.brand_id = tests.brand('bolt')
        order by e.id limit 1
    )),
    'webhook endpoint % not found', 'another brand''s: the same'
);
select throws_ok(
    format('select api.redeliver_webhook(%L, -1)', tests.brand('acme')), 'PT404',
    'webhook delivery -1 not found', 'a missing delivery: PT404'
);
select tests.clear_authentication();

-- The api layer: invoker wrappers over definers of the same arguments; no P0002/54000/55000.
select is(
    (
        select count(*)::int
        from pg_proc as p
        where
            p.pronamespace = 'api'::regnamespace
            and p.proname ~ 'webhook' and p.prosecdef
    ),
    0, 'no api webhook function is SECURITY DEFINER'
);
select is(
    (
        select count(*)::int
        from pg_proc as p
        where
            p.pronamespace = 'api'::regnamespace
            and p.proname ~ 'webhook' and not exists (
                select from
                    pg_proc as d
                where
                    d.pronamespace = 'webhooks'::regnamespace and d.proname like 'app\_%'
                    and d.prosecdef and d.proargtypes = p.proargtypes and d.proargnames = p.proargnames
                    and p.prosrc like '%webhooks.' || d.proname || '(%'
                    and has_function_privilege('authenticated', d.oid, 'execute')
            )
    ),
    0, 'each wraps a definer in webhooks taking exactly its arguments'
);
select is(
    (
        select count(*)::int
        from pg_proc as p
        where
            p.pronamespace = 'webhooks'::regnamespace
            and p.prosrc ~ '''(P0002|54000|55000)'''
    ),
    0, 'no webhooks function raises P0002, 54000 or 55000'
);
select is(
    (
        select count(*)::int
        from pg_proc as p
        where
            p.pronamespace = 'webhooks'::regnamespace
            and p.prosrc ~* 'raise exception' and p.prosrc !~* 'hint'
    ),
    0, 'every webhooks function that raises gives a hint'
);

select * from finish();
rollback;
