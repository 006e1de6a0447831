-- versions honour the versioned table's own permissions (finding F5): reading a record's
-- history needs read access to the record in its table (SELECT privilege and row-level
-- policies, checked for the calling role); restoring needs write access (UPDATE, or
-- INSERT for a deleted row, and the write policies). content.read/content.restore alone
-- are not enough. An ordinary content table keeps working.
begin;
select plan(25);
select tests.seed_two_brands();

-- Owner-only: isolated with billing.manage (owners), SELECT granted but no write grant.
create table public.billing (
    brand_id uuid not null references brand.brands (id),
    id bigint generated always as identity,
    iban text,
    primary key (brand_id, id)
);
grant select on public.billing to authenticated;
select brand.isolate('public.billing', 'billing.manage', 'billing.manage');
select versions.track('public.billing');
insert into public.billing (brand_id, iban) values (tests.brand('acme'), 'DE89370400440532013000');
update public.billing set iban = 'DE02120300000000202051';

-- An ordinary content table, for comparison.
create table public.posts (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.posts to authenticated;
select brand.isolate('public.posts', 'content.read', 'content.write');
select versions.track('public.posts');
insert into public.posts values (tests.brand('acme'), 1, 'v1');
update public.posts set title = 'v2';

-- Versioned, readable by members, but no write grant to authenticated at all.
create table public.notices (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    body text not null,
    primary key (brand_id, id)
);
grant select on public.notices to authenticated;
select brand.isolate('public.notices', 'content.read', 'content.write');
select versions.track('public.notices');
insert into public.notices values (tests.brand('acme'), 1, 'first');
update public.notices set body = 'second';

create temp table k as select
    jsonb_build_object('brand_id', tests.brand('acme'), 'id', (select min(id) from public.billing)) as bill,
    jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1) as post;
grant select on k to public;

select tests.authenticate_as(tests.uid('viewer@acme'));
select is((select count(*)::int from public.billing), 0, 'a viewer cannot read the owner-only table');
select throws_ok(
    $$select api.get_version('public.billing', (select bill from k), 1)$$, '42501', null,
    'nor a version of its row through api.get_version'
);
select throws_ok(
    $$select * from api.list_versions('public.billing', (select bill from k))$$, '42501', null,
    'nor list its versions'
);
select throws_ok(
    $$select api.version_at('public.billing', (select bill from k), now())$$, '42501', null, 'nor version_at'
);
select throws_ok(
    $$select * from api.diff_versions('public.billing', (select bill from k), 1, 2)$$,
    '42501',
    null,
    'nor diff'
);
select throws_ok(
    $$select versions.get('public.billing', (select bill from k), 1)$$, '42501', null,
    'nor through the inner function'
);
select is(
    (
        select count(*)::int from api.content_versions
        where table_name = 'public.billing'
    ), 0,
    'api.content_versions shows none of its versions'
);
select throws_ok(
    $$select * from versions.history('public.billing', (select bill from k), 'brand.read')$$, '42501', null,
    'versions.history (which takes the permission to check) is not callable by the API roles'
);
select is(
    api.get_version('public.posts', (select post from k), 1) ->> 'title', 'v1',
    'the ordinary content table still works for the viewer'
);
select is(
    (
        select count(*)::int from api.content_versions
        where table_name = 'public.posts'
    ), 2,
    'and lists in api.content_versions'
);

select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    $$select api.restore_version('public.billing', (select bill from k), 1)$$, '42501', null,
    'an editor cannot restore a row of the owner-only table'
);
select throws_ok(
    $$select api.restore_version(
        'public.notices', '{"brand_id": "00000000-0000-0000-0000-000000000000", "id": 1}', 1
    )$$,
    '42501', null, 'nor anything in a brand they are not in'
);
select throws_ok(
    format(
        'select api.restore_version(''public.notices'', %L, 1)',
        jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1)
    ),
    '42501', 'permission denied to restore this record of public.notices',
    'nor a row of a table they may read but hold no write grant on (restore runs as the owner)'
);
select is(
    api.get_version('public.notices', jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1), 1)
    ->> 'body',
    'first', 'reading that table''s versions works'
);
select is(api.restore_version('public.posts', (select post from k), 1), 3, 'restoring an ordinary row works');

select tests.authenticate_as(tests.uid('owner@acme'));
select is(
    api.get_version('public.billing', (select bill from k), 1) ->> 'iban', 'DE89370400440532013000',
    'the owner reads the owner-only versions'
);
select is(
    (
        select count(*)::int from api.content_versions
        where table_name = 'public.billing'
    ), 2,
    'and sees them in api.content_versions'
);
select throws_ok(
    $$select api.restore_version('public.billing', (select bill from k), 1)$$, '42501', null,
    'but not even the owner restores without an UPDATE grant on the table'
);
select tests.clear_authentication();
grant update, insert on public.billing to authenticated;
select tests.authenticate_as(tests.uid('owner@acme'));
select
    is(
        api.restore_version('public.billing', (select bill from k), 1),
        3,
        'with the grant, the owner restores'
    );
select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    $$select api.restore_version('public.billing', (select bill from k), 2)$$, '42501', null,
    'the editor still cannot: the write policy wants billing.manage'
);

-- A deleted row: judged on its last version (the row as it was).
select tests.clear_authentication();
delete from public.billing;
select tests.authenticate_as(tests.uid('viewer@acme'));
select throws_ok(
    $$select api.get_version('public.billing', (select bill from k), 1)$$, '42501', null,
    'a deleted owner-only row stays unreadable to a viewer'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    $$select api.restore_version('public.billing', (select bill from k), 1)$$, '42501', null,
    'and cannot be re-created by an editor'
);
select tests.authenticate_as(tests.uid('owner@acme'));
select is(
    api.restore_version('public.billing', (select bill from k), 1),
    5,
    'the owner re-creates it (INSERT policy)'
);

select tests.authenticate_as_role('service_role');
select is(
    (
        select count(*)::int from api.content_versions
        where table_name = 'public.billing'
    ), 0,
    'service_role without SELECT on the table sees none of its versions'
);
select tests.clear_authentication();
grant select on public.billing to service_role;
select tests.authenticate_as_role('service_role');
select is(
    (
        select count(*)::int from api.content_versions
        where table_name = 'public.billing'
    ), 5,
    'with the grant it sees every brand''s (its policy admits them all)'
);
select tests.clear_authentication();

select * from finish();
rollback;
