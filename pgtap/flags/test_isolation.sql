-- flags: a brand's overrides stay in the brand both ways (views, evaluation, management),
-- and flags.enabled() reads the request's user and brand inside an RLS policy.
begin;
select plan(10);
select tests.seed_two_brands();

select flags.set_flag('new-editor');
select flags.set_environment(
    'new-editor', 'production', true, '[{"name": "userWithId", "parameters": {"userIds": "nobody"}}]'
);
insert into flags.overrides (brand_id, flag_key, value, reason)
values (tests.brand('bolt'), 'new-editor', 'true', 'bolt pilot');

create table public.drafts (brand_id uuid not null, id integer not null, primary key (brand_id, id));
alter table public.drafts enable row level security;
create policy drafts_while_the_new_editor_is_on on public.drafts for select to authenticated
using (brand_id in (select brand.brands_with('brand.read')) and (select flags.enabled('new-editor')));
grant select on public.drafts to authenticated;
insert into public.drafts values (tests.brand('acme'), 1), (tests.brand('bolt'), 1);

select tests.authenticate_as(tests.uid('admin@acme'));
select is((select count(*) from api.flag_overrides)::integer, 0, 'acme sees none of bolt''s overrides');
select is(
    (api.evaluate_flag('new-editor', jsonb_build_object('brandId', tests.brand('bolt')))).enabled, false,
    'naming bolt in the context does not apply bolt''s override'
);
select throws_ok(
    format('select api.set_flag_override(%L, ''new-editor'', ''true'', ''x'')', tests.brand('bolt')),
    '42501', null, 'acme''s admin cannot set an override for bolt'
);
select throws_ok(
    format('select api.clear_flag_override(%L, ''new-editor'')', tests.brand('bolt')),
    '42501', null, 'nor clear one'
);
select set_config('request.headers', json_build_object('x-brand-id', tests.brand('acme'))::text, true);
select is((select count(*) from public.drafts)::integer, 0, 'the policy hides drafts while the flag is off');
select tests.clear_authentication();

select tests.authenticate_as(tests.uid('viewer@bolt'));
select set_config('request.headers', json_build_object('x-brand-id', tests.brand('bolt'))::text, true);
select is((select count(*) from api.flag_overrides)::integer, 1, 'bolt''s viewer sees bolt''s override');
select is(flags.enabled('new-editor'), true, 'and the flag is on for bolt''s members');
select is((select count(*) from public.drafts)::integer, 1, 'so the policy shows bolt''s draft, and only it');
select tests.clear_authentication();

select tests.authenticate_as(tests.uid('viewer@acme'));
select throws_ok(
    format('select api.set_flag_override(%L, ''new-editor'', ''true'', ''x'')', tests.brand('acme')),
    '42501', null, 'a viewer lacks flags.manage'
);
select tests.clear_authentication();

select tests.authenticate_as_role('anon');
select
    is(
        (api.evaluate_flag('no.such.flag', '{}', '"fallback"')).value, '"fallback"'::jsonb,
        'anon gets the default for an unknown flag, never an error'
    );
select tests.clear_authentication();

select * from finish();
rollback;
