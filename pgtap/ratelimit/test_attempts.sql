-- Evasion of the request hook's limits, each bounded: requests that fail (and roll their
-- bucket writes back) still spend attempts, which live in unlogged sequences; a forged,
-- rotating X-Forwarded-For without a configured proxy shares one anonymous bucket.
begin;
select plan(9);
select tests.seed_two_brands();
select tests.freeze_time('2030-06-01 12:00+00');
update ratelimit.policies set rate = 1, burst = 0
where api_role = 'anon';

-- A request whose RPC fails after the hook admitted it: PostgREST rolls it back whole,
-- which the exception block does to its subtransaction. 'refused' when the hook refused.
create function tests.failing_request(api_role text, claims jsonb, headers jsonb)
returns text
language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', claims::text, true);
    perform set_config('request.headers', headers::text, true);
    perform set_config('request.method', 'POST', true);
    execute format('set local role %I', api_role);
    begin
        perform brandbase.pre_request();
        raise exception 'the RPC fails' using errcode = 'PT404';
    exception
        when sqlstate 'PGRST' then
            reset role;
            return 'refused';
        when sqlstate 'PT404' then
            reset role;
            return 'failed';
    end;
end
$$;

create function tests.request(api_role text, claims jsonb, headers jsonb)
returns text
language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', claims::text, true);
    perform set_config('request.headers', headers::text, true);
    perform set_config('request.method', 'POST', true);
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

select results_eq(
    $$select tests.failing_request('anon', '{"role": "anon"}', '{"x-forwarded-for": "198.51.100.7"}')
      from generate_series(1, 6)$$,
    $$values ('failed'), ('failed'), ('failed'), ('failed'), ('refused'), ('refused')$$,
    'failing requests roll their buckets back, yet spend attempts: four callers'' worth, then 429'
);
select is(
    (
        select count(*) from ratelimit.buckets
        where key = 'ip:unknown'
    ), 0::bigint,
    'the exact limiter kept nothing of them (rolled back)'
);

-- No proxy configured: every anonymous caller is "unknown", whatever it writes in
-- X-Forwarded-For, and they share one bucket.
update ratelimit.policies set rate = 60, burst = 30
where api_role = 'anon';
select is(
    (
        select count(*) from generate_series(1, 40) as g
        where
            tests.request(
                'anon', '{"role": "anon"}', jsonb_build_object('x-forwarded-for', '203.0.113.' || g)
            )
            = 'admitted'
    ), 31::bigint,
    'a rotating, forged X-Forwarded-For without a configured proxy: one shared bucket (burst 30 + 1)'
);

-- With the proxy named, each real address is its own caller again.
insert into access.settings (name, value) values ('client_ip_header', 'x-forwarded-for');
select is(
    (
        select count(*) from generate_series(1, 5) as g
        where
            tests.request(
                'anon', '{"role": "anon"}', jsonb_build_object('x-forwarded-for', '203.0.113.' || g)
            )
            = 'admitted'
    ), 5::bigint,
    'behind a configured proxy each client address has its own allowance'
);
select is(
    tests.request('anon', '{"role": "anon"}', '{"x-forwarded-for": "198.51.100.99, 203.0.113.77"}'),
    'admitted', 'the proxy''s own hop decides, not what the client wrote left of it'
);
select ok(
    exists (
        select from ratelimit.buckets
        where key = 'ip:203.0.113.77'
    )
    and not exists (
        select from ratelimit.buckets
        where key = 'ip:198.51.100.99'
    ),
    'and is the key counted'
);

-- Signed-in callers count per user, the failures too; service_role is not limited here.
update ratelimit.policies set rate = 1, burst = 0
where api_role = 'authenticated';
select results_eq(
    format(
        $$select tests.failing_request('authenticated', '{"sub": "%s", "role": "authenticated"}', '{}')
          from generate_series(1, 5)$$,
        tests.uid('outsider@nowhere')
    ),
    $$values ('failed'), ('failed'), ('failed'), ('failed'), ('refused')$$,
    'a signed-in caller''s failing requests are bounded the same way'
);
select is(
    (
        select count(*) from generate_series(1, 10)
        where tests.failing_request('service_role', '{"role": "service_role"}', '{}') = 'failed'
    ), 10::bigint,
    'service_role is not limited by attempts'
);

-- A changed default policy starts the slots afresh instead of reading old units.
update ratelimit.policies set rate = 600, burst = 100
where api_role = 'authenticated';
select ok(
    (ratelimit.attempt('authenticated', 'user:' || tests.uid('outsider@nowhere'))).allowed,
    'after the role''s default policy changes, its slots count in the new units'
);

select * from finish();
rollback;
