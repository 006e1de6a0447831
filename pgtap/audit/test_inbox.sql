-- The write path appends one raw capture per statement: entries are visible in audit.logs
-- at once, in the statement's row order; the captures are as append-only as the log; odd
-- request headers never block a write.
begin;
select plan(18);
select tests.seed_two_brands();

create table public.cards (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
select audit.track('public.cards');

insert into public.cards (brand_id, id, title)
select
    tests.brand('acme') as brand_id,
    g as id,
    'card ' || g as title
from generate_series(1, 5) as g;

select is(
    (
        select count(*)::int from audit.captures
        where table_name = 'public.cards'
    ), 1, 'a statement is one capture'
);
select is(
    (
        select count(*)::int from audit.logs
        where table_name = 'public.cards' and not sealed
    ), 5, 'and audit.logs shows the entries before they are sealed'
);
select is(
    (
        select array_agg((record_key ->> 'id')::int order by id) from audit.logs
        where table_name = 'public.cards'
    ),
    array[1, 2, 3, 4, 5],
    'ids follow the statement''s row order'
);

-- A multi-row UPDATE pairs old and new rows; one that changes the key is one entry.
update public.cards set title = upper(title)
where id <= 2;
update public.cards set id = 50
where id = 5;
select results_eq(
    $$select record_key ->> 'id', old_data, new_data from audit.logs
      where table_name = 'public.cards' and operation = 'UPDATE' order by id$$,
    $$values ('1', '{"title": "card 1"}'::jsonb, '{"title": "CARD 1"}'::jsonb),
             ('2', '{"title": "card 2"}'::jsonb, '{"title": "CARD 2"}'::jsonb),
             ('50', '{"id": 5}'::jsonb, '{"id": 50}'::jsonb)$$,
    'a multi-row UPDATE keeps each row''s changes; a key change shows the old and new key'
);
update public.cards set title = title
where id = 1;
select is(
    (
        select count(*)::int from audit.logs
        where table_name = 'public.cards' and operation = 'UPDATE'
    ), 3, 'a no-op update in a statement of its own leaves no entry'
);

select audit.track('public.cards', skip_noop_updates => false);
update public.cards set title = title
where id = 1;
select is(
    (
        select old_data is null and new_data is null from audit.logs
        where table_name = 'public.cards' and operation = 'UPDATE'
        order by id desc limit 1
    ), true, 'with skip_noop_updates off, a no-op update is an entry with no changed columns'
);

-- The captures refuse changes like the log does.
select throws_ok(
    'update audit.captures set operation = ''DELETE''', '42501', null, 'UPDATE of the captures is refused'
);
select throws_ok(
    'delete from audit.captures', '42501', null, 'DELETE of unsealed captures is refused'
);
select throws_ok('truncate audit.logs_inbox', '42501', null, 'TRUNCATE of the inbox is refused');
select throws_ok('truncate audit.logs_sealed', '42501', null, 'TRUNCATE of the sealed log is refused');

-- Request headers are evidence only: odd ones never block a write.
select set_config('request.headers', 'not json at all', true);
select lives_ok(
    $$insert into public.cards values (tests.brand('acme'), 60, 'x')$$,
    'headers that are not JSON do not block a write'
);
select set_config(
    'request.headers', '{"x-forwarded-for": "2001:db8::7, 10.0.0.1", "x-request-id": "r-1"}', true
);
insert into public.cards values (tests.brand('acme'), 61, 'y');
select is(
    (
        select client_ip from audit.logs
        where table_name = 'public.cards'
        order by id desc limit 1
    ), '2001:db8::7'::inet, 'an IPv6 client address is recorded'
);
select set_config('request.headers', '{"x-forwarded-for": "999.1.1.1"}', true);
insert into public.cards values (tests.brand('acme'), 62, 'z');
select is(
    (
        select client_ip from audit.logs
        where table_name = 'public.cards'
        order by id desc limit 1
    ), null, 'an impossible address is not recorded, and does not block the write'
);
select set_config('request.headers', '{"x-forwarded-for": "1:::2"}', true);
insert into public.cards values (tests.brand('acme'), 63, 'w');
select is(
    (
        select client_ip from audit.logs
        where table_name = 'public.cards'
        order by id desc limit 1
    ), null, 'nor is a malformed IPv6 one'
);
select set_config('request.headers', '', true);

-- Capture by another table's trigger, in the same transaction, keeps its own rows.
create table public.decks (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    primary key (brand_id, id)
);
create function public.tg_decks__add_card() returns trigger language plpgsql as $$
begin
    insert into public.cards select brand_id, id + 100, 'from deck' from new_rows;
    return null;
end
$$;
create trigger decks_add_card after insert on public.decks
referencing new table as new_rows
for each statement execute function public.tg_decks__add_card();
select audit.track('public.decks');
insert into public.decks values (tests.brand('acme'), 1), (tests.brand('bolt'), 2);
select is(
    (
        select count(*)::int from audit.logs
        where table_name = 'public.decks'
    ), 2, 'the outer statement''s rows are captured'
);
select is(
    (
        select array_agg(brand_id order by id) from audit.logs
        where table_name = 'public.cards' and new_data ->> 'title' = 'from deck'
    ), array[tests.brand('acme'), tests.brand('bolt')],
    'and so are the nested statement''s, each in its brand'
);

select ok(
    (select value from audit.probe_seal_lag()) >= 0, 'the seal-lag probe reads the inbox'
);

-- A column named like the trigger's row alias is still a column, not the row.
create table public.tees (brand_id uuid not null, id integer not null, t text, primary key (brand_id, id));
select audit.track('public.tees');
insert into public.tees values (tests.brand('acme'), 1, 'x');
select is(
    (
        select new_data from audit.logs
        where table_name = 'public.tees'
    ),
    jsonb_build_object('brand_id', tests.brand('acme'), 'id', 1, 't', 'x'),
    'a row with a column named t is captured whole'
);

select * from finish();
rollback;
