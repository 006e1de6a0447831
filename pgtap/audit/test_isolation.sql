-- The audit trail, both ways: a brand's entries are visible only to its own members with
-- audit.read, through the table and through api.audit_activity; keyset pagination.
begin;
select plan(19);
select tests.seed_two_brands();

create function tests.audit_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
begin
    perform tests.authenticate_as(tests.uid('admin@' || mine));
    return next ok((select count(*) > 0 from api.audit_activity(tests.brand(mine))), 'own trail readable' || msg);
    return next throws_ok(format('select * from api.audit_activity(%L)', tests.brand(theirs)), '42501', null,
        'other brand''s trail refused' || msg);
    return next is((select count(*)::int from audit.logs where brand_id = tests.brand(theirs)), 0,
        'other brand''s entries invisible in the table' || msg);
    return next is((select count(*)::int from audit.chain where brand_id = tests.brand(theirs)), 0,
        'other brand''s seals invisible' || msg);
    return next is((select count(*)::int from api.audit_log where brand_id = tests.brand(theirs)), 0,
        'other brand''s entries invisible in api.audit_log' || msg);
    return next ok((select count(*) > 0 from api.audit_log where brand_id = tests.brand(mine)),
        'own entries visible in api.audit_log' || msg);
    perform tests.authenticate_as(tests.uid('editor@' || mine));
    return next throws_ok(format('select * from api.audit_activity(%L)', tests.brand(mine)), '42501', null,
        'editors (no audit.read) are refused' || msg);
    perform tests.clear_authentication();
end
$$;
select * from tests.audit_checks('acme', 'bolt');
select * from tests.audit_checks('bolt', 'acme');

select tests.authenticate_as(tests.uid('admin@acme'));
create temp table page1 as select * from api.audit_activity(tests.brand('acme'), page_size => 3);
grant select on page1 to authenticated;
select is((select count(*)::int from page1), 3, 'a page holds page_size entries');
select ok((select count(*) = 0 from
    api.audit_activity(
        tests.brand('acme'), page_size => 3,
        before_at => (select min(occurred_at) from page1), before_id => (select min(id) from page1)
    ) as p
where p.id in (select page1.id from page1)), 'the next page continues after the last row');
select is(
    (select count(*)::int from api.audit_activity(tests.brand('acme'), actor_id => tests.uid('owner@acme'))),
    (
        select count(*)::int from audit.logs
        where brand_id = tests.brand('acme') and actor_id = tests.uid('owner@acme')
    ),
    'one user''s activity'
);
select ok((
    select bool_and(record_key = jsonb_build_object('id', tests.brand('acme')))
    from
        api.audit_activity(
            tests.brand('acme'),
            table_name => 'brand.brands',
            record_key => jsonb_build_object('id', tests.brand('acme'))
        )
),
'one record''s history');
select throws_ok(
    format('select * from api.audit_activity(%L, page_size => 0)', tests.brand('acme')), '22023', null,
    'a bad page size is refused'
);

select * from finish();
rollback;
