-- brandbase.pre_request(), called as PostgREST calls it: version headers and 410, access
-- 403, rate limit headers and 429, the brand's API-call quota. The proxy in front of
-- PostgREST appends the client address to X-Forwarded-For (access.settings).
begin;
select plan(21);
select tests.seed_two_brands();
select tests.freeze_time('2030-06-01 12:00+00');
insert into access.settings (name, value) values ('client_ip_header', 'x-forwarded-for');

create function tests.request(api_role text, headers jsonb, method text default 'GET')
returns text
language plpgsql
as $$
begin
    perform set_config('request.headers', headers::text, true);
    perform set_config('request.method', method, true);
    perform set_config('response.headers', '', true);
    if api_role = 'anon' then
        perform tests.authenticate_as_role('anon');
    else
        perform tests.authenticate_as(tests.uid(api_role));
    end if;
    perform brandbase.pre_request();
    perform tests.clear_authentication();
    return current_setting('response.headers', true);
end
$$;

-- A refusal as PostgREST receives it: the PGRST error's body and its status and headers.
create function tests.refusal(api_role text, headers jsonb, method text default 'GET')
returns jsonb
language plpgsql
as $$
declare
    body text;
    response text;
begin
    perform tests.request(api_role, headers, method);
    return null;
exception when sqlstate 'PGRST' then
    get stacked diagnostics body = message_text, response = pg_exception_detail;
    return response::jsonb || jsonb_build_object('body', body::jsonb);
end
$$;

-- Refusals counted since the test began (the counters are not rolled back with it).
create table tests.refused_before as
select
    sequencename,
    coalesce(last_value, 0) as n
from pg_sequences
where schemaname = 'api';
create function tests.refused(reason text)
returns bigint
language sql
as $$
    select coalesce(s.last_value, 0) - b.n
    from pg_sequences as s inner join tests.refused_before as b using (sequencename)
    where s.schemaname = 'api' and s.sequencename = 'refused_' || reason
$$;

select ok(
    tests.request('anon', '{"x-forwarded-for": "198.51.100.7"}')::jsonb @> '[{"X-RateLimit-Limit": "31"}]',
    'an anonymous request gets RateLimit headers (burst 30 + 1)'
);
select ok(
    tests.request('anon', '{"x-forwarded-for": "198.51.100.7"}')::jsonb
    @> '[{"RateLimit-Policy": "60;w=60;burst=30"}]',
    'and the policy'
);

update ratelimit.policies set rate = 1, burst = 0
where api_role = 'anon';
select
    lives_ok(
        $$select tests.request('anon', '{"x-forwarded-for": "198.51.100.8"}')$$, 'the first request passes'
    );
select is(
    tests.refusal('anon', '{"x-forwarded-for": "198.51.100.8"}') - 'body',
    '{"status": 429, "headers": {"RateLimit": "limit=1, remaining=0, reset=60", "Retry-After": "60",
      "X-RateLimit-Limit": "1", "X-RateLimit-Reset": "60", "RateLimit-Policy": "1;w=60;burst=0",
      "X-RateLimit-Remaining": "0"}}'::jsonb,
    'the second is refused with 429, Retry-After and the RateLimit headers'
);
select is(
    tests.refusal('anon', '{"x-forwarded-for": "198.51.100.8"}') -> 'body',
    '{"code": "rate_limit", "message": "rate limit exceeded",
      "hint": "Retry after the number of seconds in Retry-After."}'::jsonb,
    'with a JSON body naming the reason'
);
select is(
    tests.refused('rate_limit'), 2::bigint,
    'each refusal is counted, though its transaction rolls back'
);
select tests.clear_authentication();
select lives_ok(
    $$select tests.request('anon', '{"x-forwarded-for": "198.51.100.9"}')$$,
    'anonymous callers are limited per client IP'
);
select lives_ok(
    $$select tests.request('anon', '{"x-forwarded-for": "198.51.100.8, 203.0.113.1"}')$$,
    'a spoofed X-Forwarded-For cannot borrow another IP''s allowance: the real hop counts'
);
select tests.clear_authentication();
update ratelimit.policies set rate = 60, burst = 30
where api_role = 'anon';

select ok(
    tests.request('member@acme', jsonb_build_object('x-brand-id', tests.brand('acme')))::jsonb
    @> '[{"X-RateLimit-Limit": "101"}]', 'signed-in callers have their own policy'
);
select is(
    (
        select used from quotas.metered(tests.brand('acme'), 'api_calls')
    ), 1::bigint,
    'a request names its brand and counts against its API-call quota'
);
insert into quotas.brand_quotas (brand_id, metric, hard_limit) values (tests.brand('acme'), 'api_calls', 1);
select is(
    tests.refusal('member@acme', jsonb_build_object('x-brand-id', tests.brand('acme'))) #>> '{body,code}',
    'quota',
    'a used-up quota refuses with 429'
);
select tests.clear_authentication();

insert into access.ip_rules (brand_id, network, action) values (tests.brand('bolt'), '192.0.2.0/24', 'deny');
select is(
    tests.refusal(
        'member@bolt', jsonb_build_object('x-brand-id', tests.brand('bolt'), 'x-forwarded-for', '192.0.2.44')
    )
    #>> '{body,message}', 'access denied: ip denied', 'a denied address gets 403 with the reason'
);
select tests.clear_authentication();
select is(tests.refused('access'), 1::bigint, 'and is counted');
select lives_ok(
    format(
        $$select tests.request('member@acme', '{"x-brand-id": "%s", "x-forwarded-for": "192.0.2.44"}')$$,
        tests.brand('bolt')
    ),
    'naming a brand one does not act for tells nothing of its rules (it is guarded where resolved)'
);
select tests.clear_authentication();
select is(
    tests.refusal('anon', '{"x-brand-id": "nope"}') ->> 'status', '400', 'a malformed brand id: 400'
);

insert into brandbase.api_versions (schema_name, version, deprecated_at, sunset_at, guide_url)
values ('api_v0', 'v0', '2030-01-01', '2030-12-31', 'https://docs.example.test/v1-migration'),
('api_old', 'v-1', '2029-01-01', '2029-06-30', null);
select ok(
    tests.request('anon', '{"accept-profile": "api_v0", "x-forwarded-for": "198.51.100.20"}')::jsonb
    @> jsonb_build_array(
        jsonb_build_object('Deprecation', '@1893456000'),
        jsonb_build_object('Sunset', 'Tue, 31 Dec 2030 00:00:00 GMT'),
        jsonb_build_object('Link', '<https://docs.example.test/v1-migration>; rel="deprecation"')
    ),
    'a deprecated version answers with Deprecation, Sunset and Link'
);
select tests.clear_authentication();
select is(
    tests.refusal('anon', '{"accept-profile": "api_old"}') -> 'headers',
    '{"Deprecation": "@1861920000", "Sunset": "Sat, 30 Jun 2029 00:00:00 GMT"}'::jsonb,
    'a sunset version answers 410 with its Deprecation and Sunset headers'
);
select is(
    tests.refusal('anon', '{"content-profile": "api_old"}', 'POST') ->> 'status', '410',
    'writes select the version with Content-Profile'
);

-- PostgREST runs GET and HEAD in read-only transactions: the hook must not write there.
do $$ begin perform set_config('transaction_read_only', 'on', true); end $$;
select tests.clear_authentication();
select lives_ok(
    $$select tests.request('anon', '{"x-forwarded-for": "198.51.100.20"}')$$,
    'in a read-only transaction (a GET) the hook passes without writing'
);
select tests.clear_authentication();
select is(
    tests.refusal('anon', '{"accept-profile": "api_old"}') ->> 'status',
    '410',
    'and still enforces versions there'
);
select is(tests.refused('version'), 2::bigint, 'though a read-only transaction cannot count the refusal');

select * from finish();
rollback;
