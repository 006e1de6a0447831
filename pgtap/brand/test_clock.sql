begin;
select plan(3);

select ok(brandbase.now() = now(), 'brandbase.now() is transaction time by default');

select tests.freeze_time('2030-01-02 03:04:05+00');
select is(brandbase.now(), '2030-01-02 03:04:05+00'::timestamptz, 'freeze_time() freezes it');

select tests.authenticate_as_role('anon');
select is(brandbase.now(), '2030-01-02 03:04:05+00'::timestamptz, 'API roles read the same clock');

select * from finish();
rollback;
