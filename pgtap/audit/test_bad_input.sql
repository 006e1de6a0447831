-- audit.track() refuses what it cannot do, with stable SQLSTATEs, and writes nothing.
begin;
select plan(5);

create table public.keyless (x int);
create table public.keyed (brand_id uuid, id int, secret text, primary key (brand_id, id));

select throws_ok(
    $$select audit.track('public.keyless')$$, '42P16', 'table public.keyless has no primary key',
    'a table without a primary key'
);
select throws_ok($$select audit.track('public.nope')$$, '42P01', null, 'an unknown table');
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

select * from finish();
rollback;
