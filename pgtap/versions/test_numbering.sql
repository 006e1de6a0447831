-- Version numbers count per record, also when one statement changes many records; a
-- multi-row UPDATE versions only the rows it really changed.
begin;
select plan(6);
select tests.seed_two_brands();

create table public.notes (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    body text not null,
    primary key (brand_id, id)
);
select versions.track('public.notes');

insert into public.notes
select
    tests.brand('acme') as brand_id,
    g as id,
    'note ' || g as body
from generate_series(1, 3) as g;
insert into public.notes values (tests.brand('bolt'), 1, 'bolt note');

select results_eq(
    $$select record_key ->> 'id', version from versions.content_versions
      where table_name = 'public.notes' and brand_id = tests.brand('acme') order by 1$$,
    $$values ('1', 1), ('2', 1), ('3', 1)$$,
    'a bulk insert makes version 1 of each record'
);

update public.notes set body = body || '!'
where brand_id = tests.brand('acme') and id <= 2;
update public.notes set body = body
where brand_id = tests.brand('acme');
update public.notes set body = 'changed'
where brand_id = tests.brand('acme') and id = 1;

select results_eq(
    $$select record_key ->> 'id', max(version) from versions.content_versions
      where table_name = 'public.notes' and brand_id = tests.brand('acme') group by 1 order by 1$$,
    $$values ('1', 3), ('2', 2), ('3', 1)$$,
    'each record counts its own versions; no-op rows of a statement make none'
);
select is(
    (
        select max(version) from versions.content_versions
        where table_name = 'public.notes' and brand_id = tests.brand('bolt')
    ), 1, 'another brand''s record with the same id has its own numbers'
);
select is(
    (
        select data ->> 'body' from versions.content_versions
        where
            table_name = 'public.notes' and brand_id = tests.brand('acme')
            and record_key ->> 'id' = '1' and version = 2
    ), 'note 1!', 'each version holds its row as it was'
);

delete from public.notes
where brand_id = tests.brand('acme');
select results_eq(
    $$select record_key ->> 'id', version, operation from versions.content_versions
      where table_name = 'public.notes' and operation = 'DELETE' order by 1$$,
    $$values ('1', 4, 'DELETE'), ('2', 3, 'DELETE'), ('3', 2, 'DELETE')$$,
    'a bulk delete leaves a numbered tombstone per record'
);
insert into public.notes values (tests.brand('acme'), 2, 'back');
select is(
    (
        select max(version) from versions.content_versions
        where table_name = 'public.notes' and record_key ->> 'id' = '2' and brand_id = tests.brand('acme')
    ), 4, 'a row inserted again continues its record''s numbers'
);

select * from finish();
rollback;
