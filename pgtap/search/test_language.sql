-- search.enable with a language column: each row is indexed in the configuration its text
-- column names (a regconfig column would block pg_upgrade); unknown names fall back.
begin;
select plan(5);
select tests.seed_two_brands();

create table public.notes (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    lang text,
    primary key (brand_id, id)
);
grant select, insert on public.notes to authenticated;
select brand.isolate('public.notes', 'content.read', 'content.write');
select search.enable('public.notes', '{"title": "A"}', 'english', '{"language_column": "lang"}');
select tests.authenticate_as(tests.uid('editor@acme'));
insert into public.notes values
(tests.brand('acme'), 1, 'Die Häuser', 'german'),
(tests.brand('acme'), 2, 'running houses', 'klingon'),
(tests.brand('acme'), 3, 'running houses', null);
reset role;

select is(
    search.config_of('German'), 'german'::regconfig, 'a configuration name resolves, case-insensitively'
);
select is(search.config_of('klingon'), null, 'an unknown name is null');
select is(
    (
        select n.search_tsv from public.notes as n
        where n.id = 1
    ),
    setweight(to_tsvector('german', 'Die Häuser'), 'A'),
    'a german row is indexed in german'
);
select is(
    (
        select n.search_tsv from public.notes as n
        where n.id = 2
    ),
    setweight(to_tsvector('english', 'running houses'), 'A'),
    'an unknown language falls back to the table''s configuration'
);

create table public.bad_lang (
    brand_id uuid not null references brand.brands (id), id integer not null, title text, lang regconfig,
    primary key (brand_id, id)
);
select throws_ok(
    $$select search.enable('public.bad_lang', '{"title": "A"}', 'english', '{"language_column": "lang"}')$$,
    '22023', 'language column lang must be of type text', 'a regconfig language column is refused'
);

select * from finish();
rollback;
