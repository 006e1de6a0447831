-- The request hook charges only the brands the caller acts for: anon and non-members naming
-- a brand spend nothing of it (quota, brand-wide limit); members and service_role do; a
-- forged role claim does not make a caller service_role. The hook is no endpoint, api holds
-- no SECURITY DEFINER function and no table, and {"sub": null} is a clear 28000.
begin;
select plan(20);
select tests.seed_two_brands();
select tests.freeze_time('2030-06-01 12:00+00');
insert into access.settings (name, value) values ('client_ip_header', 'x-forwarded-for');
-- Victim brand acme: an API-call hard limit and a brand-wide limit of the size a probe used.
insert into quotas.brand_quotas (brand_id, metric, hard_limit) values (tests.brand('acme'), 'api_calls', 6);
insert into ratelimit.brand_policies (brand_id, api_role, scope, rate, period, burst) values
(tests.brand('acme'), 'authenticated', 'brand', 10, '1 minute', 4),
(tests.brand('acme'), 'anon', 'brand', 10, '1 minute', 4);

-- One request as PostgREST sends it: role, claims, headers, then the hook; a savepoint
-- stands for the request's own transaction, and a refusal is returned, not raised.
create function tests.call(api_role text, claims jsonb, headers jsonb)
returns text
language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', claims::text, true);
    perform set_config('request.headers', headers::text, true);
    perform set_config('request.method', 'POST', true);
    perform set_config('request.path', '/rpc/anything', true);
    execute format('set local role %I', api_role);
    begin
        perform brandbase.pre_request();
    exception when sqlstate 'PGRST' then
        reset role;
        return 'refused';
    end;
    reset role;
    return 'admitted';
end
$$;

create function tests.spent(brand_slug text)
returns bigint
language sql
as $$
    select coalesce((select sum(used) from quotas.counters where brand_id = tests.brand(brand_slug)), 0)
$$;

create function tests.brand_buckets(brand_slug text)
returns bigint
language sql
as $$
    select count(*) from ratelimit.buckets where key like 'brand:' || tests.brand(brand_slug) || ':%'
$$;

select is(
    (
        select count(*) from generate_series(1, 10) as g
        where tests.call(
            'anon', '{"role": "anon"}',
            jsonb_build_object('x-brand-id', tests.brand('acme'), 'x-forwarded-for', '198.51.100.' || g)
        ) = 'admitted'
    ), 10::bigint,
    'anon naming acme: every request admitted (its own key only)'
);
select is(tests.spent('acme'), 0::bigint, 'and acme''s API-call quota is untouched');
select is(
    tests.brand_buckets('acme'), 0::bigint, 'and so are acme''s buckets, its brand-wide limit included'
);

select is(
    (
        select count(*) from generate_series(1, 10) as g
        where tests.call(
            'authenticated',
            jsonb_build_object('sub', tests.uid('owner@bolt'), 'role', 'authenticated'),
            jsonb_build_object('x-brand-id', tests.brand('acme'), 'x-forwarded-for', '198.51.100.1')
        ) = 'admitted'
    ), 10::bigint,
    'a signed-in non-member naming acme: admitted under its own limit'
);
select is(tests.spent('acme') + tests.brand_buckets('acme'), 0::bigint, 'spending nothing of acme');
select ok(
    exists (
        select from ratelimit.buckets
        where key = 'user:' || tests.uid('owner@bolt')
    ),
    'its own key counted the requests, outside any brand'
);

select is(
    tests.call(
        'authenticated',
        jsonb_build_object('sub', tests.uid('owner@bolt'), 'role', 'service_role'),
        jsonb_build_object('x-brand-id', tests.brand('acme'))
    ),
    'admitted', 'a role claim of service_role with the database role authenticated'
);
select is(tests.spent('acme'), 0::bigint, 'is no service_role: still nothing spent');

select is(
    tests.call(
        'authenticated',
        jsonb_build_object('sub', tests.uid('member@acme'), 'role', 'authenticated'),
        jsonb_build_object('x-brand-id', tests.brand('acme'))
    ),
    'admitted', 'a member of acme naming acme'
);
select is(tests.spent('acme'), 1::bigint, 'is charged one API call');
select is(tests.brand_buckets('acme'), 2::bigint, 'and counted in acme''s caller and brand-wide buckets');
select is(
    tests.call(
        'service_role', '{"role": "service_role"}', jsonb_build_object('x-brand-id', tests.brand('acme'))
    ),
    'admitted', 'service_role acts for any brand'
);
select is(tests.spent('acme'), 2::bigint, 'and is charged to it');
select is(
    tests.call(
        'authenticated',
        jsonb_build_object('sub', tests.uid('member@acme'), 'role', 'authenticated'), '{}'
    ),
    'admitted', 'a member naming no brand'
);
select is(tests.spent('acme'), 2::bigint, 'is limited per caller and charges no brand');

select throws_ok(
    $$select set_config('request.jwt.claims', '{"sub": null, "role": "authenticated"}', true),
             brandbase.pre_request()$$,
    '28000', 'malformed JWT claims in request.jwt.claims: "sub" is not a user id',
    '{"sub": null} is a clear 28000 (403), not "invalid rate limit"'
);

select ok(to_regprocedure('api.pre_request()') is null, 'the hook is no RPC endpoint in api');
select is(
    (
        select array_agg(p.proname::text order by p.proname) from pg_proc as p
        where
            p.pronamespace = 'api'::regnamespace
            and p.prosecdef
            and has_function_privilege('anon', p.oid, 'execute')
    ), null,
    'no SECURITY DEFINER function in api is executable by anon'
);
select is(
    (
        select array_agg(c.relname::text order by c.relname) from pg_class as c
        where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p')
    ), null,
    'api holds no table (the version registry is brandbase.api_versions, behind a view)'
);

select is(
    (
        select array_agg(p.proname::text order by p.proname) from pg_proc as p
        where
            p.pronamespace = 'api'::regnamespace and p.prosecdef
            and p.proname in ('add_ip_rule', 'remove_ip_rule', 'set_geo_rule', 'refuse', 'pre_request')
    ), null,
    'the gate''s api functions are SECURITY INVOKER wrappers'
);

select * from finish();
rollback;
