-- brand: the app's surface in schema api. Views are security_invoker, so the caller's
-- RLS applies; functions are thin wrappers over the brand.* functions.
-- Each view that depends on the caller checks the claims in a qual without columns: the
-- planner makes it a one-time filter, run once per statement before any row is read, so
-- malformed claims are a 28000 even when no row (and so no policy) would be evaluated.
-- api.permissions is the same for everyone and reads no claims.

create or replace view api.my_brands
with (security_invoker = true) as
select
    b.id,
    b.slug,
    b.name,
    b.plan,
    b.settings,
    b.created_at,
    m.tier
from brand.brands as b
inner join brand.members as m on b.id = m.brand_id
where (select brand.require_caller()) is not null and m.user_id = (select brand.require_caller());

comment on view api.my_brands is 'The brands the caller belongs to, with the caller''s tier.';

create or replace view api.brand_members
with (security_invoker = true) as
select
    m.brand_id,
    m.user_id,
    m.tier,
    m.invited_by,
    m.created_at
from brand.members as m
where (select brand.claims()) is not null;

comment on view api.brand_members is
'Members of the caller''s brands (permission members.read); filter by brand_id.';

create or replace view api.my_permissions
with (security_invoker = true) as
select
    m.brand_id,
    tp.permission
from brand.members as m
inner join brand.tier_permissions as tp on m.tier = tp.tier
where (select brand.require_caller()) is not null and m.user_id = (select brand.require_caller());

comment on view api.my_permissions is 'Every permission the caller holds, per brand.';

create or replace view api.permissions
with (security_invoker = true) as
select
    p.permission,
    p.module,
    p.description,
    (
        select min(tp.tier) from brand.tier_permissions as tp
        where tp.permission = p.permission)
        as lowest_tier
from brand.permissions as p;

comment on view api.permissions is
'The permission catalogue and the lowest tier that holds each permission.';

-- Revocations (revoked_at, revoked_by) exist from migration 0020 on. Upgrades apply
-- migrations before code, but a test may apply today's code over older migrations (the
-- jobs upgrade test installs 0001-0018 so): there the view is made without them.
do $$
begin
    if exists (
        select from pg_catalog.pg_attribute
        where attrelid = 'brand.invitations'::regclass and attname = 'revoked_at' and not attisdropped
    ) then
        create or replace view api.brand_invitations
        with (security_invoker = true) as
        select
            i.brand_id,
            i.id,
            i.email,
            i.tier,
            i.invited_by,
            i.created_at,
            i.expires_at,
            i.accepted_at,
            i.accepted_by,
            i.revoked_at,
            i.revoked_by
        from brand.invitations as i
        where (select brand.claims()) is not null;
    else
        create or replace view api.brand_invitations
        with (security_invoker = true) as
        select
            i.brand_id,
            i.id,
            i.email,
            i.tier,
            i.invited_by,
            i.created_at,
            i.expires_at,
            i.accepted_at,
            i.accepted_by
        from brand.invitations as i
        where (select brand.claims()) is not null;
    end if;
end
$$;

comment on view api.brand_invitations is
'Invitations of the caller''s brands (permission members.invite); tokens are never shown.';

create or replace function api.create_brand(slug text, name text)
returns brand.brands
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.create_brand(slug, name) $$;

create or replace function api.update_brand(
    brand_id uuid, name text default null, settings jsonb default null
)
returns brand.brands
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.update_brand(brand_id, name, settings) $$;

create or replace function api.delete_brand(brand_id uuid)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.delete_brand(brand_id) $$;

create or replace function api.invite_member(brand_id uuid, email text, tier text default 'member')
returns text
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.invite(brand_id, email, tier) $$;

create or replace function api.revoke_invitation(brand_id uuid, invitation_id uuid)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.revoke_invitation(brand_id, invitation_id) $$;

create or replace function api.accept_invitation(token text)
returns brand.members
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.accept_invitation(token) $$;

create or replace function api.set_member_tier(brand_id uuid, user_id uuid, tier text)
returns brand.members
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.set_tier(brand_id, user_id, tier) $$;

create or replace function api.remove_member(brand_id uuid, user_id uuid)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select brand.remove_member(brand_id, user_id) $$;

comment on function api.create_brand(text, text) is
'Create a brand owned by the caller, on the free plan, within the per-user caps.';
comment on function api.update_brand(uuid, text, jsonb) is 'Rename a brand or set its settings.';
comment on function api.delete_brand(uuid) is 'Delete a brand (owners only).';
comment on function api.invite_member(uuid, text, text) is
'Invite an email at a tier for 7 days; returns the one-time token.';
comment on function api.revoke_invitation(uuid, uuid) is
'Revoke a pending invitation (owners and admins); its token stops working.';
comment on function api.accept_invitation(text) is 'Join a brand with an invitation token.';
comment on function api.set_member_tier(uuid, uuid, text) is 'Change a member''s tier.';
comment on function api.remove_member(uuid, uuid) is 'Remove a member, or leave a brand.';

revoke all on api.my_brands, api.brand_members, api.my_permissions, api.permissions,
api.brand_invitations from public, anon;
grant select on api.my_brands, api.brand_members, api.my_permissions, api.permissions,
api.brand_invitations to authenticated, service_role;

revoke all on function
api.create_brand(text, text),
api.update_brand(uuid, text, jsonb),
api.delete_brand(uuid),
api.invite_member(uuid, text, text),
api.revoke_invitation(uuid, uuid),
api.accept_invitation(text),
api.set_member_tier(uuid, uuid, text),
api.remove_member(uuid, uuid)
from public;

grant execute on function
api.create_brand(text, text),
api.update_brand(uuid, text, jsonb),
api.delete_brand(uuid),
api.invite_member(uuid, text, text),
api.revoke_invitation(uuid, uuid),
api.accept_invitation(text),
api.set_member_tier(uuid, uuid, text),
api.remove_member(uuid, uuid)
to authenticated, service_role;
