-- A Supabase-shaped database for the tests, written here from what Supabase publishes
-- (supabase/postgres init scripts, supabase/auth migrations, its docs): the roles with
-- their attributes, schema `extensions`, an `auth` owned by supabase_auth_admin that
-- behaves as GoTrue's where brandbase touches it (users, identities and the rows a user
-- deletion cascades to; uid/role/email/jwt), `storage`, `realtime` and the realtime
-- publication. Run as a superuser (it plays supabase_admin) with `twin.installer` set to
-- the role that plays Supabase's `postgres`. Idempotent: the fixture may run it twice.

do $$
declare
    installer text := current_setting('twin.installer');
    spec record;
begin
    for spec in
        select *
        from (values
            ('anon', 'nologin inherit'),
            ('authenticated', 'nologin inherit'),
            ('service_role', 'nologin inherit bypassrls'),
            ('authenticator', 'login noinherit'),
            ('supabase_auth_admin', 'login noinherit createrole'),
            ('supabase_storage_admin', 'login noinherit createrole'),
            ('dashboard_user', 'nologin createrole createdb replication')
        ) as r (name, attrs)
    loop
        if not exists (select from pg_catalog.pg_roles where rolname = spec.name) then
            execute format('create role %I', spec.name);
        end if;
        -- attrs is a fixed keyword list above, never input
        execute format('alter role %I ' || spec.attrs, spec.name);
    end loop;
    execute 'grant anon, authenticated, service_role to authenticator';
    -- Supabase's `postgres`: not a superuser, but CREATEDB CREATEROLE REPLICATION
    -- BYPASSRLS, a member of the API roles and of the monitoring roles.
    execute format('alter role %I createdb createrole replication bypassrls', installer);
    execute format('grant anon, authenticated, service_role to %I', installer);
    execute format('grant pg_monitor, pg_read_all_data, pg_signal_backend to %I', installer);
    execute format('alter role %I set search_path = "$user", public, extensions', installer);
    -- PostgREST switches to these roles with the statement timeouts Supabase sets.
    execute 'alter role anon set statement_timeout = ''3s''';
    execute 'alter role authenticated set statement_timeout = ''8s''';
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- Tables a project creates in public are granted to the API roles by default.
do $$
begin
    execute format(
        'alter default privileges for role %I in schema public '
        'grant all on tables to anon, authenticated, service_role',
        current_setting('twin.installer'));
    execute format(
        'alter default privileges for role %I in schema public '
        'grant all on functions to anon, authenticated, service_role',
        current_setting('twin.installer'));
    execute format(
        'alter default privileges for role %I in schema public '
        'grant all on sequences to anon, authenticated, service_role',
        current_setting('twin.installer'));
end
$$;

-- auth: owned by supabase_auth_admin, as GoTrue's migrations leave it.
create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role;
do $$
begin
    execute format('grant usage on schema auth to %I', current_setting('twin.installer'));
end
$$;

set role supabase_auth_admin;

create table if not exists auth.users (
    instance_id uuid,
    id uuid primary key,
    aud varchar(255),
    role varchar(255),
    email varchar(255),
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    invited_at timestamptz,
    confirmation_token varchar(255),
    recovery_token varchar(255),
    last_sign_in_at timestamptz,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    created_at timestamptz,
    updated_at timestamptz,
    phone text unique default null,
    phone_confirmed_at timestamptz,
    confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
    banned_until timestamptz,
    is_sso_user boolean not null default false,
    deleted_at timestamptz,
    is_anonymous boolean not null default false,
    email_change_confirm_status smallint default 0 check (email_change_confirm_status between 0 and 2)
);
create unique index if not exists users_email_partial_key on auth.users (email) where is_sso_user = false;

create table if not exists auth.identities (
    provider_id text not null,
    user_id uuid not null references auth.users (id) on delete cascade,
    identity_data jsonb not null,
    provider text not null,
    last_sign_in_at timestamptz,
    created_at timestamptz,
    updated_at timestamptz,
    email text generated always as (lower(identity_data ->> 'email')) stored,
    id uuid primary key default gen_random_uuid(),
    unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);

create table if not exists auth.sessions (
    id uuid primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz,
    updated_at timestamptz,
    not_after timestamptz
);

create table if not exists auth.refresh_tokens (
    instance_id uuid,
    id bigserial primary key,
    token varchar(255) unique,
    user_id varchar(255),
    revoked boolean,
    session_id uuid references auth.sessions (id) on delete cascade,
    created_at timestamptz,
    updated_at timestamptz
);

create table if not exists auth.mfa_factors (
    id uuid primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    friendly_name text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists auth.one_time_tokens (
    id uuid primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    token_hash text not null check (char_length(token_hash) > 0),
    relates_to text not null,
    created_at timestamptz not null default now()
);

-- GoTrue enables RLS on its tables and gives the API roles no policy.
alter table auth.users enable row level security;
alter table auth.identities enable row level security;
alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
alter table auth.mfa_factors enable row level security;
alter table auth.one_time_tokens enable row level security;

-- The claim readers: the per-claim GUC first (older PostgREST), then the claims document.
create or replace function auth.uid() returns uuid
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;

create or replace function auth.email() returns text
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
to anon, authenticated, service_role;
grant all on all tables in schema auth to dashboard_user;

reset role;

-- Supabase gives its `postgres` every privilege on auth's tables (the dashboard's SQL
-- editor runs as it), which is what lets brandbase reference auth.users.
do $$
begin
    execute format('grant all on all tables in schema auth to %I', current_setting('twin.installer'));
end
$$;

-- storage: the two tables brandbase reads (quotas.storage_bytes).
create schema if not exists storage authorization supabase_storage_admin;
grant usage on schema storage to anon, authenticated, service_role;
set role supabase_storage_admin;
create table if not exists storage.buckets (
    id text primary key,
    name text not null unique,
    owner uuid,
    public boolean default false,
    created_at timestamptz default now()
);
create table if not exists storage.objects (
    id uuid primary key default gen_random_uuid(),
    bucket_id text references storage.buckets (id),
    name text,
    owner uuid,
    metadata jsonb,
    created_at timestamptz default now()
);
alter table storage.objects enable row level security;
alter table storage.buckets enable row level security;
reset role;

create schema if not exists realtime;
create schema if not exists graphql_public;
do $$
begin
    if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
end
$$;

-- realtime: Broadcast from the database. realtime.send() as the realtime service's tenant
-- migrations define it (supabase/realtime: one 'broadcast' row in realtime.messages per call,
-- realtime.topic set for the RLS of private channels, any error turned into a WARNING), on
-- an unpartitioned realtime.messages of the same columns. Supabase grants execute to
-- postgres (here: the installer); module notify calls it for every in-app notification.
create table if not exists realtime.messages (
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    updated_at timestamp without time zone not null default now(),
    inserted_at timestamp without time zone not null default now(),
    id uuid not null default gen_random_uuid(),
    primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;

create or replace function realtime.topic()
returns text
language sql
stable
as $$
    select nullif(current_setting('realtime.topic', true), '')::text
$$;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
begin
    begin
        execute format('set local realtime.topic to %L', topic);
        insert into realtime.messages (payload, event, topic, private, extension)
        values (payload, event, topic, private, 'broadcast');
    exception
        when others then
            raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
    end;
end
$$;

revoke all on function realtime.send(jsonb, text, text, boolean) from public;
do $$
begin
    execute format('grant usage on schema realtime to %I', current_setting('twin.installer'));
    execute format('grant execute on function realtime.send(jsonb, text, text, boolean), realtime.topic() to %I',
        current_setting('twin.installer'));
    execute format('grant select, insert on realtime.messages to %I', current_setting('twin.installer'));
    execute 'grant usage on schema realtime to authenticated';
    execute 'grant execute on function realtime.topic() to authenticated';
    execute 'grant select on realtime.messages to authenticated';
end
$$;
