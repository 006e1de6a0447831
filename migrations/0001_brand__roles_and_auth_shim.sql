-- brandbase 0001 (brand): Supabase's API roles and, on plain PostgreSQL only, a small
-- compatible `auth` schema. On Supabase the roles and `auth` already exist and this file
-- leaves them untouched. Needs CREATEROLE, not superuser.

do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
        if not exists (select from pg_catalog.pg_roles where rolname = api_role) then
            execute format('create role %I nologin noinherit', api_role);
        end if;
    end loop;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
        create role authenticator nologin noinherit;
        grant anon, authenticated, service_role to authenticator;
    end if;
    -- The installing role acts as the API roles in tests and maintenance, as on Supabase.
    execute format('grant anon, authenticated, service_role to %I', current_user);
end
$$;

do $$
begin
    if exists (select from pg_catalog.pg_namespace where nspname = 'auth') then
        return;  -- the real Supabase auth schema: never touch it
    end if;

    create schema auth;
    comment on schema auth is 'brandbase auth shim: the part of Supabase Auth brandbase relies on.';
    grant usage on schema auth to anon, authenticated, service_role;

    create table auth.users (
        id uuid primary key default gen_random_uuid(),
        email text unique,
        raw_app_meta_data jsonb not null default '{}',
        raw_user_meta_data jsonb not null default '{}',
        created_at timestamptz not null default now()
    );
    comment on table auth.users is 'Shim of Supabase auth.users: the identities members refer to.';
    grant select on auth.users to service_role;

    -- The three readers below are exactly Supabase's: claims come from the GUC PostgREST
    -- sets per request from the verified JWT.
    create function auth.jwt() returns jsonb
    language sql stable
    as $f$
        select coalesce(
            nullif(current_setting('request.jwt.claim', true), ''),
            nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
    $f$;
    comment on function auth.jwt() is 'The request''s JWT claims (request.jwt.claims).';

    create function auth.uid() returns uuid
    language sql stable
    as $f$
        select coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
    $f$;
    comment on function auth.uid() is 'The calling user''s id: the JWT''s sub claim.';

    create function auth.role() returns text
    language sql stable
    as $f$
        select coalesce(
            nullif(current_setting('request.jwt.claim.role', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
    $f$;
    comment on function auth.role() is 'The JWT''s role claim (anon, authenticated, service_role).';

    grant execute on function auth.jwt(), auth.uid(), auth.role()
        to anon, authenticated, service_role;
end
$$;

create schema api;
comment on schema api is
'The app''s surface: security_invoker views and thin functions, exposed through PostgREST.';
grant usage on schema api to anon, authenticated, service_role;

create schema brand;
comment on schema brand is
'Core tenancy: brands, members, role tiers, permissions and the isolation helpers.';
grant usage on schema brand to authenticated, service_role;
