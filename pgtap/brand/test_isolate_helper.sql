-- brand.isolate() puts any user table with brand_id under isolation, both ways, with
-- separate read and write permissions.
begin;
select plan(16);
select tests.seed_two_brands();

create table public.posts (
    brand_id uuid not null references brand.brands (id),
    id bigint generated always as identity,
    title text not null,
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.posts to authenticated;
select
    lives_ok(
        $$select brand.isolate('public.posts', 'content.read', 'content.write')$$, 'isolate() a user table'
    );
select
    lives_ok(
        $$select brand.isolate('public.posts', 'content.read', 'content.write')$$, 'isolate() is idempotent'
    );
select
    is((
        select count(*)::int from pg_policies
        where tablename = 'posts'
    ), 5, 'five policies, none duplicated');
insert into public.posts (brand_id, title) values (tests.brand('acme'), 'acme post'),
(tests.brand('bolt'), 'bolt post');

create function tests.post_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
begin
    perform tests.authenticate_as(tests.uid('member@' || mine));
    return next results_eq('select title from public.posts', array[mine || ' post'], 'reads only its brand' || msg);
    return next throws_ok(format('insert into public.posts (brand_id, title) values (%L, ''x'')', tests.brand(theirs)),
        '42501', null, 'cannot insert into the other brand' || msg);
    return next is_empty(format('update public.posts set title = ''x'' where brand_id = %L returning 1', tests.brand(theirs)),
        'cannot update the other brand''s rows' || msg);
    return next is_empty(format('delete from public.posts where brand_id = %L returning 1', tests.brand(theirs)),
        'cannot delete the other brand''s rows' || msg);
    return next lives_ok(format('insert into public.posts (brand_id, title) values (%L, ''more'')', tests.brand(mine)),
        'writes its own brand with content.write' || msg);
    perform tests.clear_authentication();
end
$$;
select * from tests.post_checks('acme', 'bolt');
select * from tests.post_checks('bolt', 'acme');

select tests.authenticate_as(tests.uid('viewer@acme'));
select throws_ok(
    format('insert into public.posts (brand_id, title) values (%L, ''x'')', tests.brand('acme')),
    '42501', null, 'viewers (no content.write) cannot write'
);
select tests.clear_authentication();

create table public.no_brand (id int primary key);
select throws_ok(
    $$select brand.isolate('public.no_brand', 'content.read')$$, '42703', null,
    'a table without brand_id is refused'
);
select throws_ok(
    $$select brand.isolate('public.posts', 'content.reed')$$, '22023',
    'unknown permission "content.reed"', 'a misspelt permission is refused'
);

select * from finish();
rollback;
