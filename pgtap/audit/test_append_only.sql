-- The log is append-only, even for its owner; retention drops whole monthly partitions.
begin;
select plan(8);
select tests.seed_two_brands();

select
    throws_ok(
        'update audit.logs set operation = ''DELETE''', '42501', null, 'UPDATE is refused, even for the owner'
    );
select throws_ok('delete from audit.logs', '42501', null, 'DELETE is refused, even for the owner');
select throws_ok('truncate audit.entries', '42501', null, 'TRUNCATE is refused');
select throws_ok('truncate audit.captures', '42501', null, 'TRUNCATE of the captures is refused');
select throws_ok(
    'update audit.captures set operation = ''DELETE''', '42501', null, 'UPDATE of the captures is refused'
);
select throws_ok(
    format(
        'truncate audit.%I', (
            select c.relname from pg_inherits as i inner join pg_class as c on i.inhrelid = c.oid
            where i.inhparent = 'audit.entries'::regclass and c.relname <> 'logs_default'
            order by c.relname limit 1
        )
    ),
    '42501', null, 'TRUNCATE of a partition is refused too'
);

select tests.freeze_time(date_trunc('month', now()) - interval '2 months' + interval '1 day');
select ok(audit.ensure_partitions(0) = 1, 'a partition for an old month (for the test)');
select tests.freeze_time(now());
select
    is(
        audit.drop_before(date_trunc('month', now())::date - 1),
        1,
        'drop_before drops whole months before the cutoff'
    );

select * from finish();
rollback;
