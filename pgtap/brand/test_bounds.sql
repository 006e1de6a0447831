-- Bounded inputs: too large → 22001, null or unknown → 22023, each with a hint and
-- nothing written.
begin;
select plan(18);
select tests.seed_two_brands();

create temp table cases (what text, query text, code text);
grant all on cases to authenticated;
insert into cases values
(
    'settings over 64 kB',
    format(
        'select api.update_brand(%L, settings => jsonb_build_object(''x'', repeat(''a'', 70000)))',
        tests.brand('acme')
    ),
    '22001'
),
(
    'settings not an object',
    format('select api.update_brand(%L, settings => ''[1]'')', tests.brand('acme')),
    '22023'
),
(
    'name over 200 chars',
    format('select api.update_brand(%L, %L)', tests.brand('acme'), repeat('n', 201)),
    '22001'
),
('blank name', format('select api.update_brand(%L, %L)', tests.brand('acme'), '   '), '22023'),
('slug over 64 chars', format('select api.create_brand(%L, ''x'')', repeat('s', 65)), '22001'),
('create: name over 200', format('select api.create_brand(''okslug'', %L)', repeat('n', 5000)), '22001'),
('null slug', $$select api.create_brand(null, 'x')$$, '22023'),
('null name', $$select api.create_brand('okslug', null)$$, '22023'),
('bad slug', $$select api.create_brand('Bad Slug!', 'x')$$, '22023'),
(
    'email over 254',
    format('select api.invite_member(%L, %L)', tests.brand('acme'), repeat('e', 250) || '@x.test'),
    '22001'
),
(
    'email of 1 MB',
    format('select api.invite_member(%L, %L)', tests.brand('acme'), repeat('e', 1000000) || '@x.test'),
    '22001'
),
('null email', format('select api.invite_member(%L, null)', tests.brand('acme')), '22023'),
(
    'null tier (invite)',
    format('select api.invite_member(%L, ''a@b.test'', null)', tests.brand('acme')),
    '22023'
),
(
    'unknown tier (invite)',
    format('select api.invite_member(%L, ''a@b.test'', ''boss'')', tests.brand('acme')),
    '22023'
),
(
    'null tier (set)',
    format('select api.set_member_tier(%L, %L, null)', tests.brand('acme'), tests.uid('viewer@acme')),
    '22023'
),
(
    'unknown tier (set)',
    format('select api.set_member_tier(%L, %L, ''boss'')', tests.brand('acme'), tests.uid('viewer@acme')),
    '22023'
),
('null user (set)', format('select api.set_member_tier(%L, null, ''viewer'')', tests.brand('acme')), '22023'),
('null user (remove)', format('select api.remove_member(%L, null)', tests.brand('acme')), '22023');

create temp table outcomes (what text, wanted text, code text, hint text);
grant all on outcomes to authenticated;
select tests.authenticate_as(tests.uid('owner@acme'));
insert into outcomes
select
    c.what,
    c.code as wanted,
    e.code,
    e.hint
from cases as c
cross join lateral tests.error_of(c.query) as e;
select is_empty(
    'select what, wanted, code from outcomes where code is distinct from wanted',
    'each bad input gets its SQLSTATE'
);
select tests.clear_authentication();

select is_empty('select what from outcomes where hint is null', 'each with a hint');
select is((select count(*)::int from outcomes), 18, 'every case raised');
select is((
    select name from brand.brands
    where slug = 'acme'
), 'Acme', 'nothing was written to the brand');
select is((
    select settings from brand.brands
    where slug = 'acme'
), '{}'::jsonb, 'nor its settings');
select is((select count(*)::int from brand.invitations), 0, 'no invitation was written');
select is((select count(*)::int from brand.brands), 2, 'no brand was created');

select tests.authenticate_as(tests.uid('owner@acme'));
select lives_ok(
    format(
        'select api.update_brand(%L, settings => jsonb_build_object(''x'', repeat(''a'', 60000)))',
        tests.brand('acme')
    ),
    'settings just under 64 kB are fine'
);
select lives_ok(
    format('select api.invite_member(%L, %L)', tests.brand('acme'), repeat('e', 240) || '@x.test'),
    'an address of 247 chars is fine'
);
select
    lives_ok(
        format('select api.update_brand(%L, %L)', tests.brand('acme'), repeat('n', 200)), '200 chars of name'
    );
select tests.clear_authentication();

-- The PT codes the module raises come with hints too (not found, conflict).
select tests.authenticate_as(tests.uid('owner@acme'));
select is(
    (select code || ' ' || coalesce(hint, 'NO HINT') from tests.error_of(
        format('select api.set_member_tier(%L, %L, ''viewer'')', tests.brand('acme'), tests.uid('owner@bolt'))
    )) like 'PT404 %' and (select hint from tests.error_of(
        format('select api.set_member_tier(%L, %L, ''viewer'')', tests.brand('acme'), tests.uid('owner@bolt'))
    )) is not null, true, 'a non-member''s tier: PT404 with a hint'
);
select is(
    (
        select code
        from
            tests.error_of(
                format('select api.remove_member(%L, %L)', tests.brand('acme'), tests.uid('owner@bolt'))
            )
    ),
    'PT404', 'removing a non-member: PT404'
);
select tests.authenticate_as_role('service_role');
select is(
    (select code from tests.error_of('select api.update_brand(gen_random_uuid(), ''x'')')),
    'PT404', 'service_role updating a missing brand: PT404'
);
select is(
    (select code from tests.error_of('select api.delete_brand(gen_random_uuid())')),
    'PT404', 'service_role deleting a missing brand: PT404'
);

-- No P0002 anywhere in the module's code.
select tests.clear_authentication();
select is_empty(
    $$select p.oid::regprocedure from pg_proc as p
      where p.pronamespace in ('brand'::regnamespace, 'brandbase'::regnamespace)
        and p.prosrc ~ 'P0002'$$,
    'brand raises no P0002'
);
select is_empty(
    $$select p.oid::regprocedure from pg_proc as p
      where p.pronamespace = 'brand'::regnamespace and p.prolang = (select oid from pg_language where lanname = 'plpgsql')
        and p.prosrc ~* 'raise exception' and p.prosrc !~* 'hint\s*='$$,
    'every raising function of brand gives hints'
);
select is(
    (select code from tests.error_of(
        format('select api.update_brand(%L, ''x'')', tests.brand('acme'))
    )), null, 'the owner''s own session (trusted) may update'
);
select ok(true, 'done');

select * from finish();
rollback;
