-- Test helpers, installed into the test template only (schema tests). They act exactly
-- as PostgREST does: switch to the API role and set request.jwt.claims for the
-- transaction. Modelled on supabase_test_helpers. Helpers used as statements return a
-- TAP diagnostic line ('# ...'), so a bare `select tests.x()` fits in a TAP stream.

create schema if not exists tests;
grant usage on schema tests to public;

create or replace function tests.create_user(email text)
returns uuid
language sql
as $$
    insert into auth.users (email) values (lower(email)) returning id
$$;

create or replace function tests.email_of(user_id uuid)
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.email from auth.users as u where u.id = user_id
$$;

create or replace function tests.authenticate_as(user_id uuid)
returns text
language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', json_build_object(
        'sub', user_id, 'role', 'authenticated',
        'email', tests.email_of(user_id)
    )::text, true);
    set local role authenticated;
    return '# acting as user ' || user_id;
end
$$;

-- anon or service_role, with the claims PostgREST would set for them.
create or replace function tests.authenticate_as_role(api_role text)
returns text
language plpgsql
as $$
begin
    if api_role not in ('anon', 'service_role') then
        raise exception 'use tests.authenticate_as(user_id) for authenticated users';
    end if;
    perform set_config('request.jwt.claims', json_build_object('role', api_role)::text, true);
    execute format('set local role %I', api_role);
    return '# acting as ' || api_role;
end
$$;

create or replace function tests.clear_authentication()
returns text
language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', '', true);
    reset role;
    return '# acting as the table owner';
end
$$;

create or replace function tests.freeze_time(frozen timestamptz)
returns text
language sql
as $$
    select '# time frozen at ' || set_config('brandbase.frozen_now', frozen::text, true)
$$;

-- A brand with an owner, created through the API as that owner.
create or replace function tests.create_brand(owner_id uuid, slug text)
returns uuid
language plpgsql
as $$
declare
    created uuid;
begin
    perform tests.authenticate_as(owner_id);
    select (brand.create_brand(slug, initcap(slug))).id into created;
    perform tests.clear_authentication();
    return created;
end
$$;

-- Add a user to a brand at a tier directly (as the table owner): test set-up only.
create or replace function tests.add_member(brand_id uuid, user_id uuid, tier brand.tier)
returns text
language sql
as $$
    insert into brand.members (brand_id, user_id, tier) values (brand_id, user_id, tier);
    select '# added ' || user_id || ' as ' || tier;
$$;


-- Two brands for isolation tests: acme has one user per tier, bolt has its own owner.
-- Users are named <tier>@<slug>.test; look them up with tests.uid('owner@acme').
create or replace function tests.seed_two_brands()
returns text
language plpgsql
as $$
declare
    acme uuid;
    bolt uuid;
    t brand.tier;
begin
    acme := tests.create_brand(tests.create_user('owner@acme.test'), 'acme');
    bolt := tests.create_brand(tests.create_user('owner@bolt.test'), 'bolt');
    foreach t in array array['admin', 'editor', 'member', 'viewer']::brand.tier[] loop
        perform tests.add_member(acme, tests.create_user(t || '@acme.test'), t);
        perform tests.add_member(bolt, tests.create_user(t || '@bolt.test'), t);
    end loop;
    perform tests.create_user('outsider@nowhere.test');
    return '# seeded brands acme and bolt';
end
$$;

create or replace function tests.uid(handle text)
returns uuid
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.id from auth.users as u where u.email = handle || '.test'
$$;

create or replace function tests.brand(slug text)
returns uuid
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select b.id from brand.brands as b where b.slug = brand.slug
$$;

-- The error a statement raises, with its hint: every error of the pack carries one.
-- Runs the statement in a subtransaction (nothing it did survives); null when it succeeds.
create or replace function tests.error_of(query text)
returns table (code text, message text, hint text)
language plpgsql
as $$
begin
    begin
        execute query;
    exception when others then
        get stacked diagnostics code = returned_sqlstate, message = message_text, hint = pg_exception_hint;
        hint := nullif(hint, '');
        return next;
        return;
    end;
end
$$;

-- Freezing the clock: brandbase.now() honours brandbase.frozen_now in the sessions of
-- the pack owner or a superuser only (the session user, which set local role leaves as
-- it is), so tests log in as the owner, freeze, then act as any API role.

grant execute on all functions in schema tests to public;
