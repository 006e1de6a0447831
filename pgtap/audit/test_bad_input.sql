-- audit.track() refuses what it cannot do, with stable SQLSTATEs, and writes nothing.
begin;
select plan(12);

create function tests.audit_hint(sql text)
returns text
language plpgsql
as $$
declare
    h text;
begin
    execute sql;
    return null;
exception when others then
    get stacked diagnostics h = pg_exception_hint;
    return nullif(h, '');
end
$$;

create table public.keyless (x int);
create table public.keyed (brand_id uuid, id int, secret text, primary key (brand_id, id));

select throws_ok(
    $$select audit.track('public.keyless')$$, '42P16', 'table public.keyless has no primary key',
    'a table without a primary key'
);
select throws_ok(
    $$select audit.track('public.nope')$$, '42P01', 'table public.nope does not exist', 'an unknown table'
);
select is(
    tests.audit_hint($$select audit.track('public.nope')$$),
    'Name it schema-qualified, e.g. public.posts (and create it before tracking it).',
    'with a hint (the name is resolved inside, not by a regclass cast)'
);
select throws_ok($$select audit.untrack('public.nope')$$, '42P01', null, 'untrack too');
select throws_ok(
    $$select audit.track('public.keyed', exclude_columns => '{secret, nope}')$$, '42703',
    'table public.keyed has no column(s) nope', 'excluding a missing column'
);
select throws_ok(
    $$select audit.track('public.keyed', exclude_columns => '{id}')$$, '22023', null,
    'excluding a key column'
);
select
    is((
        select count(*)::int from pg_trigger
        where tgrelid = 'public.keyed'::regclass
    ), 0, 'no trigger was left behind');

-- The trail's reader: a null page size is the default page, never the whole trail.
select tests.seed_two_brands();
create table public.items (brand_id uuid not null, id int not null, primary key (brand_id, id));
select audit.track('public.items');
insert into public.items (brand_id, id)
select
    tests.brand('acme') as brand_id,
    g as id
from generate_series(1, 120) as g;
select tests.authenticate_as(tests.uid('admin@acme'));
select is(
    (select count(*)::int from api.audit_activity(tests.brand('acme'), page_size => null)), 50,
    'page_size null gives the default page of 50'
);
select is(
    (
        select count(*)::int
        from api.audit_activity(tests.brand('acme'), table_name => 'public.items', page_size => 1000)
    ), 120,
    'a page of up to 1000 is allowed'
);
select throws_ok(
    format('select * from api.audit_activity(%L, page_size => 1001)', tests.brand('acme')), '22023', null,
    'more is refused'
);
select throws_ok(
    format('select * from api.audit_activity(%L, table_name => repeat(''x'', 201))', tests.brand('acme')),
    '22001', null, 'an oversized table_name is refused'
);
select throws_ok(
    format(
        'select * from api.audit_activity(%L, table_name => ''public.items'', record_key => %L)',
        tests.brand('acme'), jsonb_build_object('id', repeat('x', 9000))
    ),
    '22001', null, 'an oversized record_key is refused'
);
select tests.clear_authentication();

select * from finish();
rollback;
