-- brandbase.now(): transaction time unless a trusted session freezes it. Only sessions of
-- the pack owner or a superuser may (tests/test_brand.py checks other login roles get
-- 42501); pgTAP runs as the owner, so a frozen clock holds for every API role it acts as.
begin;
select plan(6);

select ok(brandbase.now() = now(), 'brandbase.now() is transaction time by default');

select tests.freeze_time('2030-01-02 03:04:05+00');
select is(brandbase.now(), '2030-01-02 03:04:05+00'::timestamptz, 'freeze_time() freezes it');

select tests.authenticate_as_role('anon');
select is(brandbase.now(), '2030-01-02 03:04:05+00'::timestamptz, 'API roles read the same clock');
select tests.clear_authentication();

select set_config('brandbase.frozen_now', '', true);
select ok(brandbase.now() = now(), 'an empty setting is the real clock again');

select set_config('brandbase.frozen_now', 'yesterday-ish', true);
select throws_ok('select brandbase.now()', '22023', null, 'a frozen time that is no timestamp is an error');
select isnt((select hint from tests.error_of('select brandbase.now()')), null, 'with a hint');

select * from finish();
rollback;
