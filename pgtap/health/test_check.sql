-- health.check(): every registered probe, ok | degraded | down against its thresholds,
-- the worst overall; a failing probe is down, not hidden; api.health() hides details
-- from everyone but service_role.
begin;
select plan(25);

select is(
    jsonb_array_length(health.check() -> 'checks'), (select count(*)::int from health.probes),
    'one result per registered probe'
);
select ok(
    (
        select count(*) = 0 from jsonb_array_elements(health.check() -> 'checks') as c
        where c ->> 'status' not in ('ok', 'degraded', 'down')
    ),
    'every result is ok, degraded or down'
);
select ok(
    exists (
        select from health.probes
        where name = 'audit_seal_lag' and module = 'audit'
    ),
    'modules register their own probes (audit seal lag)'
);

update health.probes set degraded_at = 0
where name = 'connections';
select is(health.check() ->> 'status', 'degraded', 'a value at the degraded threshold degrades the whole');
update health.probes set down_at = 0
where name = 'connections';
select is(health.check() ->> 'status', 'down', 'and at the down threshold takes it down');
select lives_ok(
    $$select health.register('connections', 'health', 'health.probe_connections()', 'ratio',
                             0.8, 0.95, 'again')$$,
    're-register a probe'
);
select is(
    (
        select down_at from health.probes
        where name = 'connections'
    ), 0::numeric,
    're-registering keeps thresholds an operator changed'
);
update health.probes set degraded_at = 0.8, down_at = 0.95
where name = 'connections';

create function public.probe_broken(out value numeric, out detail text)
language sql as $$ select 1 / 0, 'never' $$;
select lives_ok(
    $$select health.register('broken', 'tests', 'public.probe_broken()', 'count',
                             1, 2, 'a probe that fails')$$,
    'register a probe'
);
select is(
    (
        select c ->> 'status' from jsonb_array_elements(health.check() -> 'checks') as c
        where c ->> 'name' = 'broken'
    ),
    'down', 'a failing probe is reported down'
);
select ok(
    (
        select c ->> 'detail' from jsonb_array_elements(health.check() -> 'checks') as c
        where c ->> 'name' = 'broken'
    )
    like 'probe failed: division by zero%',
    'with its error'
);
delete from health.probes
where name = 'broken';

select tests.authenticate_as_role('anon');
select is(
    (select array_agg(k order by k) from jsonb_object_keys(api.health()) as k), array['checked_at', 'status'],
    'anon sees the verdict only'
);
select throws_ok($$select health.check()$$, '42501', null, 'anon cannot call health.check() itself');
select tests.clear_authentication();
select tests.authenticate_as(tests.create_user('someone@health.test'));
select throws_ok($$select health.check()$$, '42501', null, 'nor can a signed-in user');
select is(
    (select array_agg(k order by k) from jsonb_object_keys(api.health()) as k), array['checked_at', 'status'],
    'who sees the verdict only too'
);
select tests.authenticate_as_role('service_role');
select ok(api.health() ? 'checks', 'service_role sees every check');
select ok(health.check() ? 'checks', 'and may call health.check()');
select tests.clear_authentication();

-- The anonymous answer comes from the cache while it is under a minute old.
select tests.freeze_time('2030-01-01 12:00:00+00');
select is(health.refresh_summary() ->> 'checked_at', '2030-01-01T12:00:00+00:00', 'refresh stores a verdict');
update health.summary_cache set status = 'degraded';
select tests.freeze_time('2030-01-01 12:00:50+00');
select tests.authenticate_as_role('anon');
select
    is(
        api.health() ->> 'status', 'degraded', 'within a minute, anon gets the cached verdict (no probe runs)'
    );
select tests.clear_authentication();
select tests.freeze_time('2030-01-01 12:01:30+00');
select tests.authenticate_as_role('anon');
select is(api.health() ->> 'checked_at', '2030-01-01T12:01:30+00:00', 'a stale one is measured again');
select tests.clear_authentication();
select is(
    (select checked_at from health.summary_cache), '2030-01-01 12:01:30+00'::timestamptz,
    'and stored (the transaction could write)'
);
select ok(
    exists (
        select from brand.schedules
        where name = 'health-summary'
    ),
    'a schedule keeps it fresh every minute'
);

select throws_ok(
    $$select health.register('x', 'm', 'public.probe_broken()', 'count', 2, 1, 'bad')$$, '22023', null,
    'degraded above down is refused (22023, not the raw check constraint)'
);
select throws_ok(
    $$select health.register('x', 'm', 'public.no_such_probe()', 'count', 1, 2, 'bad')$$, '22023', null,
    'a probe function that does not exist is refused'
);
select lives_ok(
    $$select health.register('broken2', 'tests', 'public.probe_broken()', 'count', 1, 2, 'x')$$,
    'register a probe, then drop its function'
);
drop function public.probe_broken();
select is(
    (
        select c ->> 'detail' from jsonb_array_elements(health.check() -> 'checks') as c
        where c ->> 'name' = 'broken2'
    ),
    'probe failed: probe function public.probe_broken() no longer exists',
    'a probe whose function is gone is down, saying so'
);

select * from finish();
rollback;
