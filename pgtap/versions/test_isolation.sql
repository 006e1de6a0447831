-- Versions, both ways: another brand's versions cannot be read, listed, diffed, restored
-- or published, through the tables or the api functions.
begin;
select plan(19);
select tests.seed_two_brands();

create table public.posts (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select, insert, update, delete on public.posts to authenticated;
select brand.isolate('public.posts', 'content.read', 'content.write');
select versions.track('public.posts');
insert into public.posts values (tests.brand('acme'), 1, 'acme v1'), (tests.brand('bolt'), 1, 'bolt v1');
update public.posts set title = title || '+';

create function tests.version_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
    own jsonb := jsonb_build_object('brand_id', tests.brand(mine), 'id', 1);
    other jsonb := jsonb_build_object('brand_id', tests.brand(theirs), 'id', 1);
begin
    perform tests.authenticate_as(tests.uid('admin@' || mine));
    return next is((select count(*)::int from api.list_versions('public.posts', own)), 2, 'own versions listed' || msg);
    return next is((select count(*)::int from versions.content_versions where brand_id = tests.brand(theirs)), 0,
        'other brand''s versions invisible in the table' || msg);
    return next throws_ok(format('select * from api.list_versions(''public.posts'', %L)', other), '42501', null,
        'list refused' || msg);
    return next is((select count(*)::int from api.content_versions where brand_id = tests.brand(theirs)), 0,
        'other brand''s versions invisible in api.content_versions' || msg);
    return next throws_ok(format('select api.get_version(''public.posts'', %L, 1)', other), '42501', null,
        'get refused' || msg);
    return next throws_ok(format('select * from api.diff_versions(''public.posts'', %L, 1, 2)', other), '42501', null,
        'diff refused' || msg);
    return next throws_ok(format('select api.restore_version(''public.posts'', %L, 1)', other), '42501', null,
        'restore refused' || msg);
    return next throws_ok(format('select api.publish_version(''public.posts'', %L)', other), '42501', null,
        'publish refused' || msg);
    perform tests.clear_authentication();
    return next is((select title from public.posts where brand_id = tests.brand(theirs)), theirs || ' v1+',
        'other brand''s row untouched' || msg);
end
$$;
select * from tests.version_checks('acme', 'bolt');
select * from tests.version_checks('bolt', 'acme');

select tests.authenticate_as_role('anon');
select throws_ok(
    $$select * from api.list_versions('public.posts', '{}')$$, '42501', null, 'anon gets nothing'
);

select * from finish();
rollback;
