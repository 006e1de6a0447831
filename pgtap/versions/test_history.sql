-- versions.track(): numbered versions on insert/update, none for no-op updates, a
-- tombstone on delete; list, get, at, diff, restore (also of deleted rows), publish.
begin;
select plan(22);
select tests.seed_two_brands();

create table public.pages (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    status text not null default 'draft',
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.pages to authenticated;
select brand.isolate('public.pages', 'content.read', 'content.write');
select lives_ok($$select versions.track('public.pages')$$, 'track a table');
select lives_ok($$select versions.track('public.pages')$$, 'idempotently');
select is(
    (
        select state_column from versions.tracked
        where table_name = 'public.pages'
    ), 'status',
    'a status column is found as the draft/published state'
);

create temp table k as select jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1) as key;
grant select on k to authenticated;

select tests.freeze_time('2030-01-01 10:00+00');
select tests.authenticate_as(tests.uid('member@acme'));
insert into public.pages (brand_id, id, title) values (tests.brand('acme'), 1, 'Hello');
select tests.freeze_time('2030-01-01 11:00+00');
update public.pages set title = 'Hello, world', status = 'review'
where id = 1;
select tests.freeze_time('2030-01-01 12:00+00');
update public.pages set title = title
where id = 1;

select results_eq(
    $$select version, operation, state from api.list_versions('public.pages', (select key from k))$$,
    $$values (2, 'UPDATE', 'review'), (1, 'INSERT', 'draft')$$,
    'two versions, newest first, with the draft/published state; the no-op update made none'
);
select is(
    (
        select author_id from versions.content_versions
        where version = 2
    ), tests.uid('member@acme'
    ),
    'the author is recorded'
);
select
    is(
        api.get_version('public.pages', (select key from k), 1) ->> 'title',
        'Hello',
        'get() returns a version''s row'
    );
select is(
    api.version_at('public.pages', (select key from k), '2030-01-01 10:30+00') ->> 'title', 'Hello',
    'at() returns the row as it was at a time'
);
select
    ok(
        api.version_at('public.pages', (select key from k), '2029-12-31') is null,
        'and null before it existed'
    );
select results_eq(
    $$select column_name, old_value, new_value
      from api.diff_versions('public.pages', (select key from k), 1, 2)$$,
    $$values ('status', '"draft"'::jsonb, '"review"'::jsonb),
             ('title', '"Hello"'::jsonb, '"Hello, world"'::jsonb)$$,
    'diff() lists the changed columns, old and new'
);

select tests.authenticate_as(tests.uid('member@acme'));
select throws_ok(
    $$select api.restore_version('public.pages', (select key from k), 1)$$, '42501', null,
    'members cannot restore (content.restore is for editors)'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select is(api.restore_version('public.pages', (select key from k), 1), 3, 'restoring creates version 3');
select is((
    select title from public.pages
    where id = 1
), 'Hello', 'and the row is back as it was');
select is(api.publish_version('public.pages', (select key from k)), 3, 'publish the latest');
select ok(
    (
        select is_published from api.list_versions('public.pages', (select key from k))
        where version = 3
    ),
    'list() shows which version is live'
);

delete from public.pages
where id = 1;
select is(
    (
        select v.operation from api.list_versions('public.pages', (select key from k)) as v
        order by v.version desc limit 1
    ), 'DELETE',
    'a delete leaves a tombstone version'
);
select is(api.restore_version('public.pages', (select key from k), 2), 5, 'restoring a deleted row works');
select is((
    select title from public.pages
    where id = 1
), 'Hello, world', 'the deleted row is back');

-- Retention applies to sealed versions (tests/test_versions.py): versions still pending,
-- as every one of this transaction's is, are never pruned.
select tests.clear_authentication();
select versions.track('public.pages', keep_last => 2, state_column => 'status');
select is(versions.seal(), 0, 'a transaction that wrote does not number its own pending versions');
select is(versions.prune(), 0, 'prune() never deletes a pending version');
select set_eq(
    $$select version from versions.content_versions where table_name = 'public.pages'$$,
    array[1, 2, 3, 4, 5], 'every version remains'
);

select throws_ok(
    $$select versions.track('public.pages', keep_last => 0)$$, '22023', null,
    'retention must be positive'
);
select lives_ok($$select versions.untrack('public.pages')$$, 'untrack');

select * from finish();
rollback;
