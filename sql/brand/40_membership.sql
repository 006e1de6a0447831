-- brand: creating brands, inviting, changing tiers, removing members. Tier rules: nobody
-- grants or touches a tier above their own; only owners touch owners; a brand always
-- keeps at least one owner (enforced by a trigger, so raw DML obeys it too).

create or replace function brand.caller_tier(brand_id uuid)
returns brand.tier
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select case when brand.caller_is_service() then 'owner'::brand.tier else (
        select m.tier from brand.members as m
        where m.brand_id = caller_tier.brand_id and m.user_id = brand.caller_id()
    ) end
$$;

comment on function brand.caller_tier(uuid) is
'The caller''s tier in the brand (owner for service_role, null for non-members).';

create or replace function brand.assert_tier_reach(brand_id uuid, tier brand.tier)
returns void
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    mine brand.tier := brand.caller_tier(brand_id);
begin
    if tier is null then
        return;
    end if;
    if mine is null or tier > mine or (tier = 'owner' and mine <> 'owner') then
        raise exception 'tier % is above your tier % in brand %', tier, coalesce(mine::text, 'none'), brand_id
            using errcode = '42501',
                  hint = 'You can only grant or change tiers up to your own; owners manage owners.';
    end if;
end
$$;

comment on function brand.assert_tier_reach(uuid, brand.tier) is
'Raises 42501 when the caller may not grant or touch the given tier in the brand.';

create or replace function brand.create_brand(slug text, name text, plan text default 'free')
returns brand.brands
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_id uuid := brand.require_caller();
    created brand.brands;
begin
    insert into brand.brands (slug, name, plan, created_by)
    values (create_brand.slug, create_brand.name, create_brand.plan, owner_id)
    returning * into created;
    insert into brand.members (brand_id, user_id, tier) values (created.id, owner_id, 'owner');
    return created;
exception
    when unique_violation then
        raise exception 'brand slug "%" is taken', slug
            using errcode = '23505', hint = 'Choose another slug.';
    when check_violation then
        raise exception 'invalid brand: slug "%" or name "%" or plan "%"', slug, name, plan
            using errcode = '22023',
                  hint = 'slug: lower-case letters, digits and inner dashes, 1-64 chars; '
                         'name: 1-200 chars.';
end
$$;

comment on function brand.create_brand(text, text, text) is
'Creates a brand with the caller as its owner.';

create or replace function brand.update_brand(
    brand_id uuid, name text default null, settings jsonb default null
)
returns brand.brands
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    updated brand.brands;
begin
    perform brand.require_permission(brand_id, 'brand.update');
    update brand.brands as b
    set name = coalesce(update_brand.name, b.name),
        settings = coalesce(update_brand.settings, b.settings)
    where b.id = update_brand.brand_id
    returning * into updated;
    return updated;
exception when check_violation then
    raise exception 'invalid brand name or settings'
        using errcode = '22023', hint = 'name: 1-200 chars; settings: a JSON object.';
end
$$;

comment on function brand.update_brand(uuid, text, jsonb) is
'Renames a brand or replaces its settings (permission brand.update).';

create or replace function brand.delete_brand(brand_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'brand.delete');
    delete from brand.brands as b where b.id = delete_brand.brand_id;
end
$$;

comment on function brand.delete_brand(uuid) is
'Deletes a brand and, by cascade, everything it owns (permission brand.delete).';

create or replace function brand.invite(
    brand_id uuid, email text, tier brand.tier default 'member', valid_for interval default '7 days'
)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    token text := pg_catalog.replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
    perform brand.require_permission(brand_id, 'members.invite');
    if tier = 'owner' then
        raise exception 'cannot invite as owner'
            using errcode = '22023', hint = 'Invite as admin, then change the tier.';
    end if;
    perform brand.assert_tier_reach(brand_id, tier);
    if valid_for is null or valid_for <= interval '0' then
        raise exception 'invitation validity must be positive, got %', valid_for
            using errcode = '22023', hint = 'e.g. interval ''7 days''.';
    end if;
    insert into brand.invitations (brand_id, email, tier, token_sha256, invited_by, created_at, expires_at)
    values (
        invite.brand_id, pg_catalog.lower(pg_catalog.btrim(email)), tier,
        pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8')), brand.caller_id(),
        brandbase.now(), brandbase.now() + valid_for
    );
    return token;
exception when check_violation then
    raise exception 'invalid invitation email "%"', email
        using errcode = '22023', hint = 'Use a plain address like name@example.com.';
end
$$;

comment on function brand.invite(uuid, text, brand.tier, interval) is
'Invites an email address at a tier (permission members.invite); returns the token, shown once.';

create or replace function brand.accept_invitation(token text)
returns brand.members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
    inv brand.invitations;
    joined brand.members;
begin
    select * into inv from brand.invitations as i
    where i.token_sha256 = pg_catalog.sha256(pg_catalog.convert_to(coalesce(token, ''), 'UTF8'))
      and i.accepted_at is null and i.expires_at > brandbase.now()
    for update;
    if not found then
        raise exception 'invitation not found, already used or expired'
            using errcode = 'P0002', hint = 'Ask the brand for a new invitation.';
    end if;
    if pg_catalog.lower(coalesce(brand.claims() ->> 'email', '')) <> inv.email then
        raise exception 'this invitation is for another email address'
            using errcode = '42501', hint = 'Sign in with the invited address.';
    end if;
    insert into brand.members as m (brand_id, user_id, tier, invited_by)
    values (inv.brand_id, uid, inv.tier, inv.invited_by)
    on conflict (brand_id, user_id) do update set tier = greatest(m.tier, excluded.tier)
    returning * into joined;
    update brand.invitations as i set accepted_at = brandbase.now(), accepted_by = uid
    where i.brand_id = inv.brand_id and i.id = inv.id;
    return joined;
end
$$;

comment on function brand.accept_invitation(text) is
'Joins the caller to the inviting brand; the JWT email must match the invitation.';

create or replace function brand.set_tier(brand_id uuid, user_id uuid, tier brand.tier)
returns brand.members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    changed brand.members;
begin
    perform brand.require_permission(brand_id, 'members.manage');
    if tier is null then
        raise exception 'tier must not be null' using errcode = '22023',
            hint = 'One of viewer, member, editor, admin, owner.';
    end if;
    perform brand.assert_tier_reach(brand_id, (
        select m.tier from brand.members as m
        where m.brand_id = set_tier.brand_id and m.user_id = set_tier.user_id
    ));
    perform brand.assert_tier_reach(brand_id, tier);
    update brand.members as m set tier = set_tier.tier
    where m.brand_id = set_tier.brand_id and m.user_id = set_tier.user_id
    returning * into changed;
    if changed is null then
        raise exception 'user % is not a member of brand %', user_id, brand_id
            using errcode = 'P0002', hint = 'Invite them first.';
    end if;
    return changed;
end
$$;

comment on function brand.set_tier(uuid, uuid, brand.tier) is
'Changes a member''s tier (permission members.manage, within the caller''s own tier).';

create or replace function brand.remove_member(brand_id uuid, user_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if user_id is distinct from brand.caller_id() then
        perform brand.require_permission(brand_id, 'members.manage');
        perform brand.assert_tier_reach(brand_id, (
            select m.tier from brand.members as m
            where m.brand_id = remove_member.brand_id and m.user_id = remove_member.user_id
        ));
    end if;
    delete from brand.members as m
    where m.brand_id = remove_member.brand_id and m.user_id = remove_member.user_id;
    if not found then
        raise exception 'user % is not a member of brand %', user_id, brand_id
            using errcode = 'P0002', hint = 'Nothing to remove.';
    end if;
end
$$;

comment on function brand.remove_member(uuid, uuid) is
'Removes a member (permission members.manage), or lets the caller leave the brand.';

create or replace function brand.tg_members__keep_owner()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if exists (select from brand.brands as b where b.id = old.brand_id)
        and not exists (
            select from brand.members as m where m.brand_id = old.brand_id and m.tier = 'owner'
        )
    then
        raise exception 'brand % would be left without an owner', old.brand_id
            using errcode = '23514',
                  hint = 'Make another member owner first, or delete the brand.';
    end if;
    return null;
end
$$;

comment on function brand.tg_members__keep_owner() is
'Refuses any change that leaves an existing brand without an owner.';

drop trigger if exists members_10_keep_owner on brand.members;
create trigger members_10_keep_owner
after update of tier or delete on brand.members
for each row when (old.tier = 'owner')
execute function brand.tg_members__keep_owner();

revoke all on function
brand.caller_tier(uuid),
brand.assert_tier_reach(uuid, brand.tier),
brand.create_brand(text, text, text),
brand.update_brand(uuid, text, jsonb),
brand.delete_brand(uuid),
brand.invite(uuid, text, brand.tier, interval),
brand.accept_invitation(text),
brand.set_tier(uuid, uuid, brand.tier),
brand.remove_member(uuid, uuid),
brand.tg_members__keep_owner()
from public;

grant execute on function
brand.caller_tier(uuid),
brand.create_brand(text, text, text),
brand.update_brand(uuid, text, jsonb),
brand.delete_brand(uuid),
brand.invite(uuid, text, brand.tier, interval),
brand.accept_invitation(text),
brand.set_tier(uuid, uuid, brand.tier),
brand.remove_member(uuid, uuid)
to authenticated, service_role;
