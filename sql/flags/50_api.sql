-- flags: the app's surface. Everyone signed in sees which flags exist (key, kind,
-- description, tags; never the targeting rules, which can list user ids and addresses);
-- members with flags.read see their brand's overrides, flags.manage sets and clears them.
-- api holds only security_invoker views and invoker wrappers over the definers in flags.

select brand.isolate('flags.overrides', 'flags.read');
revoke all on flags.flags, flags.flag_environments, flags.segments, flags.entitlements, flags.overrides,
flags.settings, flags.environments from public, anon, authenticated;
grant select (key, kind, description, tags, archived_at, created_at, updated_at) on flags.flags
to authenticated;
grant select on flags.overrides to authenticated;
grant select on flags.flags, flags.flag_environments, flags.segments, flags.entitlements, flags.overrides,
flags.settings, flags.environments to service_role;

do $$
declare
    t text;
begin
    execute format('drop policy if exists %I on flags.flags', 'signed-in users may see which flags exist');
    execute format('create policy %I on flags.flags for select to authenticated using (archived_at is null)',
        'signed-in users may see which flags exist');
    execute format('drop policy if exists %I on flags.flags', 'service role may read every flag');
    execute format('create policy %I on flags.flags for select to service_role using (true)',
        'service role may read every flag');
    foreach t in array array['flag_environments', 'segments', 'entitlements', 'settings', 'environments'] loop
        execute format('drop policy if exists %I on flags.%I', 'service role may read it', t);
        execute format('create policy %I on flags.%I for select to service_role using (true)',
            'service role may read it', t);
    end loop;
end
$$;

create or replace view api.flags
with (security_invoker = true) as
select
    f.key,
    f.kind,
    f.description,
    f.tags,
    f.created_at,
    f.updated_at
from flags.flags as f
where f.archived_at is null;

comment on view api.flags is 'The flags that exist (unarchived): key, kind, description, tags.';

create or replace view api.flag_overrides
with (security_invoker = true) as
select
    o.brand_id,
    o.flag_key,
    nullif(o.user_id, '00000000-0000-0000-0000-000000000000') as user_id,
    o.value,
    o.reason,
    o.set_by,
    o.set_at,
    o.expires_at
from flags.overrides as o;

comment on view api.flag_overrides is
'The brand''s flag overrides (flags.read): brand-wide (user_id null) and per member, who, when, why.';

revoke all on api.flags, api.flag_overrides from public, anon;
grant select on api.flags, api.flag_overrides to authenticated, service_role;

create or replace function api.evaluate_flag(
    flag_key text,
    context jsonb default '{}',
    default_value jsonb default null,
    environment text default null
)
returns flags.evaluation
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select flags.evaluate(flag_key, context, default_value, environment)
$$;

comment on function api.evaluate_flag(text, jsonb, jsonb, text) is
'A flag''s value, variant, reason and error code for the caller (see flags.evaluate).';

create or replace function api.evaluate_flags(context jsonb default '{}', environment text default null)
returns setof flags.evaluation
language sql
volatile
rows 200
set search_path = pg_catalog, pg_temp
as $$
    select * from flags.evaluate_all(context, environment)
$$;

comment on function api.evaluate_flags(jsonb, text) is
'Every flag evaluated for the caller, for the app''s boot.';

create or replace function api.flag_enabled(flag_key text)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select flags.enabled(flag_key)
$$;

comment on function api.flag_enabled(text) is 'Whether a flag is on for the caller and the request''s brand.';

create or replace function api.set_flag_override(
    brand_id uuid,
    flag_key text,
    value jsonb,
    reason text,
    user_id uuid default null,
    expires_at timestamptz default null
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select from flags.set_override(brand_id, flag_key, value, reason, user_id, expires_at)
$$;

comment on function api.set_flag_override(uuid, text, jsonb, text, uuid, timestamptz) is
'Sets the brand''s (or a member''s) value of a flag, with a reason (flags.manage).';

create or replace function api.clear_flag_override(brand_id uuid, flag_key text, user_id uuid default null)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select flags.clear_override(brand_id, flag_key, user_id)
$$;

comment on function api.clear_flag_override(uuid, text, uuid) is
'Removes an override of the brand''s (flags.manage).';

revoke all on function
api.evaluate_flag(text, jsonb, jsonb, text), api.evaluate_flags(jsonb, text), api.flag_enabled(text),
api.set_flag_override(uuid, text, jsonb, text, uuid, timestamptz), api.clear_flag_override(uuid, text, uuid)
from public;
grant execute on function
api.evaluate_flag(text, jsonb, jsonb, text), api.evaluate_flags(jsonb, text), api.flag_enabled(text)
to anon, authenticated, service_role;
grant execute on function
api.set_flag_override(uuid, text, jsonb, text, uuid, timestamptz), api.clear_flag_override(uuid, text, uuid)
to authenticated, service_role;
