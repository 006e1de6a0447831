-- brand: permission checks. Policies use the set form, evaluated once per statement:
--     brand_id in (select brand.brands_with('content.read'))
-- Function bodies use brand.has_permission() / brand.require_permission().
-- All three also apply the brand's IP/geo access rules (access.request_refusal()): a
-- brand resolved here is only acted on from a client its rules let in, whatever brand the
-- request named in X-Brand-Id (or none). No rules anywhere costs one probe of each rule
-- table; a brand without rules in scope two more.

create or replace function brand.assert_permission(permission text)
returns void
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if not exists (select from brand.permissions as p where p.permission = assert_permission.permission) then
        raise exception 'unknown permission "%"', permission
            using errcode = '22023',
                  hint = 'Permissions are listed in brand.permissions (api.permissions).';
    end if;
end
$$;

comment on function brand.assert_permission(text) is
'Raises 22023 unless the permission is in the catalogue; catches typos in policies.';

create or replace function brand.brands_with(permission text)
returns setof uuid
language plpgsql
stable
security definer
rows 10
set search_path = pg_catalog, pg_temp
as $$
begin
    if not exists (select from access.ip_rules) and not exists (select from access.geo_rules) then
        return query
            select m.brand_id
            from brand.members as m
            inner join brand.tier_permissions as tp
                on m.tier = tp.tier and tp.permission = brands_with.permission
            where m.user_id = brand.caller_id();
    else
        -- Some brand (or the platform) restricts clients: drop the brands whose rules
        -- refuse this one.
        return query
            select m.brand_id
            from brand.members as m
            inner join brand.tier_permissions as tp
                on m.tier = tp.tier and tp.permission = brands_with.permission
            where m.user_id = brand.caller_id() and access.request_refusal(m.brand_id) is null;
    end if;
    -- The hot path above is one index lookup; only an empty answer pays to be explained
    -- (a misspelt permission or malformed claims are errors, not "no brands").
    if not found then
        perform brand.assert_permission(permission);
        perform brand.claims();
    end if;
exception when invalid_text_representation then
    perform brand.claims();  -- raises the clear 28000 for malformed claims
    raise;
end
$$;

comment on function brand.brands_with(text) is
'The caller''s brands whose tier holds the permission and whose access rules let the '
'request''s client in. Use in policies as brand_id in (select brand.brands_with(...)): one call '
'per statement, not per row.';

create or replace function brand.has_permission(brand_id uuid, permission text)
returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    allowed boolean;
begin
    perform brand.assert_permission(permission);
    allowed := brand.caller_is_service() or exists (
        select
        from brand.members as m
        inner join brand.tier_permissions as tp
            on m.tier = tp.tier and tp.permission = has_permission.permission
        where m.brand_id = has_permission.brand_id and m.user_id = brand.caller_id()
    ) and access.request_refusal(brand_id) is null;
    if not allowed then
        perform brand.claims();  -- a denial caused by malformed claims says so
    end if;
    return allowed;
exception when invalid_text_representation then
    perform brand.claims();  -- raises the clear 28000 for malformed claims
    raise;
end
$$;

comment on function brand.has_permission(uuid, text) is
'Whether the caller holds the permission in the brand and the brand''s access rules let the '
'request''s client in (service_role always does).';

create or replace function brand.require_permission(brand_id uuid, permission text)
returns void
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    refusal text;
begin
    if brand.has_permission(brand_id, permission) then
        return;
    end if;
    if not exists (
        select from brand.members as m
        where m.brand_id = require_permission.brand_id and m.user_id = brand.caller_id()
    ) then
        raise exception 'not a member of brand %', brand_id
            using errcode = '42501',
                  hint = 'Only members of a brand can act on it; ask an admin for an invitation.';
    end if;
    if not exists (
        select from brand.members as m
        inner join brand.tier_permissions as tp
            on m.tier = tp.tier and tp.permission = require_permission.permission
        where m.brand_id = require_permission.brand_id and m.user_id = brand.caller_id()
    ) then
        raise exception 'permission "%" denied in brand %', permission, brand_id
            using errcode = '42501',
                  hint = 'Your role tier does not hold this permission; see api.my_permissions.';
    end if;
    -- A member with the permission: only the access rules are left to refuse.
    refusal := access.request_refusal(brand_id);
    raise exception 'access rules of brand % refuse this client: %', brand_id, coalesce(refusal, 'unknown')
        using errcode = '42501',
              hint = 'The brand accepts requests only from the networks and countries its admins listed '
                     '(api.add_ip_rule, api.set_geo_rule); an unknown client address fails an allowlist.';
end
$$;

comment on function brand.require_permission(uuid, text) is
'Raises 42501 (not a member / permission denied / access rules refuse the client) unless the '
'caller holds the permission and the brand''s access rules let the request''s client in.';

revoke all on function
brand.assert_permission(text),
brand.brands_with(text),
brand.has_permission(uuid, text),
brand.require_permission(uuid, text)
from public;

grant execute on function
brand.assert_permission(text),
brand.brands_with(text),
brand.has_permission(uuid, text),
brand.require_permission(uuid, text)
to authenticated, service_role;
