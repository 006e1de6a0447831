-- Bad input: clear errors with stable SQLSTATEs, nothing written.
begin;
select plan(9);
select tests.seed_two_brands();

create table public.keyless (brand_id uuid, x int);
create table public.global_ids (id int primary key, brand_id uuid);
create table public.docs (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    body text,
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.docs to authenticated;
select brand.isolate('public.docs', 'content.read', 'content.write');
select versions.track('public.docs');
insert into public.docs values (tests.brand('acme'), 1, 'v1');
update public.docs set body = 'v2';

select throws_ok($$select versions.track('public.keyless')$$, '42P16', null, 'no primary key');
select
    throws_ok(
        $$select versions.track('public.global_ids')$$, '42P16', null, 'a primary key without brand_id'
    );
select
    throws_ok(
        $$select versions.track('public.docs', state_column => 'nope')$$,
        '42703',
        null,
        'a missing state column'
    );

select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok($$select api.list_versions('public.keyless', '{}')$$, '42P01', null, 'an unversioned table');
select throws_ok($$select api.list_versions('public.nope', '{}')$$, '42P01', null, 'an unknown table');
select throws_ok(
    format(
        'select api.restore_version(''public.docs'', %L, 9)',
        jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1)
    ),
    'PT404', null, 'a version that does not exist'
);
select throws_ok(
    format('select api.get_version(''public.docs'', %L, 1)', jsonb_build_object('id', 1)),
    '22023', null, 'a key missing a key column'
);

select tests.clear_authentication();
alter table public.docs drop column body;
select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    format(
        'select api.restore_version(''public.docs'', %L, 1)',
        jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1)
    ),
    'PT409', null, 'restoring into a table whose columns changed since'
);
select tests.clear_authentication();
select is(
    (
        select count(*)::int from versions.content_versions
        where table_name = 'public.docs'
    ), 2,
    'no version was written by the failed calls'
);

select * from finish();
rollback;
