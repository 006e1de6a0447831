-- audit.track(): inserts, updates (changed columns only), deletes and truncates are
-- captured with who, where and when; options exclude columns and skip no-op updates.
begin;
select plan(18);
select tests.seed_two_brands();

create table public.notes (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    secret text,
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.notes to authenticated;
select brand.isolate('public.notes', 'content.read', 'content.write');
select lives_ok($$select audit.track('public.notes', exclude_columns => '{secret}')$$, 'track a table');
select lives_ok($$select audit.track('public.notes', exclude_columns => '{secret}')$$, 'track is idempotent');
select is(
    (
        select count(*)::int from pg_trigger
        where tgrelid = 'public.notes'::regclass and tgname like 'audit_capture_%'
    ),
    4, 'four statement-level triggers, not duplicated'
);

select
    set_config(
        'request.headers', '{"x-request-id": "req-42", "x-forwarded-for": "198.51.100.7, 10.0.0.1"}', true
    );
select tests.authenticate_as(tests.uid('member@acme'));
insert into public.notes values (tests.brand('acme'), 1, 'first', 's3cret'),
(tests.brand('acme'), 2, 'second', null);
update public.notes set title = 'first!'
where id = 1;
update public.notes set title = title
where id = 2;
delete from public.notes
where id = 2;
select tests.clear_authentication();

create temp view entries as
select
    l.operation,
    l.record_key ->> 'id' as rid,
    l.old_data,
    l.new_data,
    l.actor_id,
    l.actor_role,
    l.request_id,
    l.client_ip,
    l.brand_id
from audit.logs as l
where l.table_name = 'public.notes'
order by l.id;

select results_eq(
    'select operation, rid from entries',
    $$values ('INSERT', '1'), ('INSERT', '2'), ('UPDATE', '1'), ('DELETE', '2')$$,
    'one entry per row and change; the no-op update left none'
);
select
    is((
        select new_data ->> 'title' from entries
        where operation = 'INSERT' and rid = '1'
    ), 'first', 'INSERT keeps the new row');
select
    ok((
        select not(new_data ? 'secret') from entries
        where operation = 'INSERT' and rid = '1'
    ), 'excluded columns are never stored');
select
    is((
        select old_data from entries
        where operation = 'UPDATE'
    ), '{"title": "first"}'::jsonb, 'UPDATE keeps only changed columns, old');
select is((
    select new_data from entries
    where operation = 'UPDATE'
), '{"title": "first!"}'::jsonb, 'and new');
select
    is((
        select old_data ->> 'title' from entries
        where operation = 'DELETE'
    ), 'second', 'DELETE keeps the old row');
select is((select distinct actor_id from entries), tests.uid('member@acme'), 'the actor is auth.uid()');
select is((select distinct actor_role from entries), 'authenticated', 'the JWT role is recorded');
select is((select distinct request_id from entries), 'req-42', 'the request id comes from request.headers');
select
    is(
        (select distinct client_ip from entries),
        '198.51.100.7'::inet,
        'the client IP is the first forwarded hop'
    );
select is((select distinct brand_id from entries), tests.brand('acme'), 'entries belong to the row''s brand');

-- A bulk statement: one trigger call, one entry per row.
insert into public.notes (brand_id, id, title)
select
    tests.brand('bolt') as brand_id,
    g as id,
    'bulk ' || g as title
from generate_series(10, 509) as g;
select is(
    (
        select count(*)::int from audit.logs
        where table_name = 'public.notes' and brand_id = tests.brand('bolt')
    ),
    500, 'a 500-row INSERT ... SELECT is captured whole'
);

truncate public.notes cascade;
select is(
    (
        select operation from audit.logs
        where table_name = 'public.notes'
        order by id desc limit 1
    ), 'TRUNCATE',
    'TRUNCATE is captured'
);

select ok(
    (
        select count(*) > 0 from audit.logs
        where table_name = 'brand.members' and operation = 'INSERT'
    ),
    'RBAC tables are tracked out of the box: memberships'
);
select ok(
    not exists (
        select from audit.logs
        where table_name = 'brand.invitations' and new_data ? 'token_sha256'
    ),
    'invitation token hashes are never logged'
);

select * from finish();
rollback;
