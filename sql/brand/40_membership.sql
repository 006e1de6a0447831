-- brand: creating brands, changing tiers, removing members. Tier rules: nobody grants
-- or touches a tier above their own; only owners touch owners; a brand always keeps at
-- least one owner (enforced by triggers, so raw DML obeys it too). Invitations: 45_invitations.sql.
--
-- Functions granted to authenticated take exactly what their api wrappers pass; the
-- privileged variants (a chosen plan, a brand for another user) are separate functions
-- granted to service_role only. Tenant text arguments are bounded.

-- Signatures replaced in 0020's release: tiers arrive as text (an unknown tier is a 22023
-- with a hint, not the enum cast's raw 22P02), and no tenant function takes a plan.
drop function if exists api.set_member_tier(uuid, uuid, brand.tier);
drop function if exists brand.create_brand(text, text, text);
drop function if exists brand.set_tier(uuid, uuid, brand.tier);

create or replace function brand.caller_tier(brand_id uuid)
returns brand.tier
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select case when brand.caller_is_service() then 'owner'::brand.tier else (
        select m.tier from brand.members as m
        where m.brand_id = caller_tier.brand_id and m.user_id = brand.caller_id_checked()
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

create or replace function brand._assert_caller()
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not brand.caller_is_service() then
        perform brand.require_caller();
    end if;
end
$$;

comment on function brand._assert_caller() is
'28000 (with a hint) unless the caller is a signed-in user with well-formed claims, or '
'service_role: what every tenant-callable function checks first.';

create or replace function brand._as_tier(tier text)
returns brand.tier
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if tier is null then
        raise exception 'tier must not be null'
            using errcode = '22023', hint = 'One of viewer, member, editor, admin, owner.';
    end if;
    if octet_length(tier) > 16 or not tier = any(pg_catalog.enum_range(null::brand.tier)::text[]) then
        raise exception 'unknown tier "%"', left(tier, 16)
            using errcode = '22023', hint = 'One of viewer, member, editor, admin, owner.';
    end if;
    return tier::brand.tier;
end
$$;

comment on function brand._as_tier(text) is
'A tier given as text, checked: 22023 with a hint for null or an unknown name.';

create or replace function brand._assert_brand_fields(slug text, name text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if slug is null or name is null then
        raise exception 'brand slug and name must not be null'
            using errcode = '22023', hint = 'Give a slug (e.g. acme) and a display name.';
    end if;
    if octet_length(slug) > 64 or octet_length(name) > 800 or length(name) > 200 then
        raise exception 'brand slug or name too long (slug % chars, name % chars)', length(slug), length(name)
            using errcode = '22001', hint = 'slug: at most 64 chars; name: at most 200 chars.';
    end if;
    if slug !~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$' or length(btrim(name)) = 0 then
        raise exception 'invalid brand: slug "%" or name "%"', slug, name
            using errcode = '22023',
                  hint = 'slug: lower-case letters, digits and inner dashes, 1-64 chars; '
                         'name: 1-200 chars, not blank.';
    end if;
end
$$;

comment on function brand._assert_brand_fields(text, text) is
'Checks a brand''s slug and name: 22023 (null, bad format) or 22001 (too long), with hints.';

-- The one insert of a brand and its first owner; callers have checked who may do it.
create or replace function brand._insert_brand(owner_id uuid, slug text, name text, plan text)
returns brand.brands
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    created brand.brands;
begin
    perform brand._assert_brand_fields(slug, name);
    if plan is null or plan !~ '^[a-z0-9_]{1,40}$' then
        raise exception 'invalid plan "%"', left(plan, 40)
            using errcode = '22023', hint = 'plan: lower-case letters, digits and _, 1-40 chars.';
    end if;
    insert into brand.brands (slug, name, plan, created_by)
    values (_insert_brand.slug, _insert_brand.name, _insert_brand.plan, owner_id)
    returning * into created;
    insert into brand.members (brand_id, user_id, tier) values (created.id, owner_id, 'owner');
    return created;
exception
    when unique_violation then
        raise exception 'brand slug "%" is taken', slug
            using errcode = '23505', hint = 'Choose another slug.';
    when foreign_key_violation then
        raise exception 'user % does not exist', owner_id
            using errcode = '22023', hint = 'The owner must be a user in auth.users.';
end
$$;

comment on function brand._insert_brand(uuid, text, text, text) is
'Inserts a brand and its owner membership (private: callers decide who may).';

create or replace function brand.create_brand(slug text, name text)
returns brand.brands
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_id uuid := brand.require_caller();
    max_owned integer;
    per_hour integer;
    owned integer;
    pace record;
begin
    perform brand._assert_brand_fields(slug, name);
    if not brand.caller_is_service() then
        select l.max_owned_brands, l.brands_per_hour into max_owned, per_hour from brand.limits as l;
        if not found then  -- 0020 seeds the row; without it, the defaults hold
            max_owned := 10;
            per_hour := 10;
        end if;
        -- The limiter's row lock also serialises one user's concurrent creations, so the
        -- count below sees every brand they committed meanwhile.
        if per_hour is not null then
            pace := ratelimit.check(
                'brand.create_brand:' || owner_id, per_hour, interval '1 hour',
                per_hour - 1
            );
            if not pace.allowed then
                raise exception 'too many brands created: at most % per hour', per_hour
                    using errcode = 'PT429',
                          hint = pg_catalog.format('Try again in %s seconds.', ceil(pace.retry_after));
            end if;
        end if;
        if max_owned is not null then
            select count(*) into owned from brand.members as m
            where m.user_id = owner_id and m.tier = 'owner';
            if owned >= max_owned then
                raise exception 'you already own % brands, the most a user may own', owned
                    using errcode = 'PT429',
                          hint = 'Delete a brand or hand its ownership to someone else, or ask '
                                 'the operator to raise brand.limits.max_owned_brands.';
            end if;
        end if;
    end if;
    return brand._insert_brand(owner_id, slug, name, 'free');
end
$$;

comment on function brand.create_brand(text, text) is
'Creates a brand on the free plan with the caller as its owner, within the per-user caps of '
'brand.limits (PT429 beyond them; service_role is exempt).';

create or replace function brand.create_brand_for(
    owner_id uuid, slug text, name text, plan text default 'free'
)
returns brand.brands
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if not brand.caller_is_service() then
        raise exception 'only service_role may create a brand for a user or on a chosen plan'
            using errcode = '42501', hint = 'Call api.create_brand(slug, name) as the user.';
    end if;
    if owner_id is null then
        raise exception 'owner_id must not be null'
            using errcode = '22023', hint = 'Pass the id of the user who will own the brand.';
    end if;
    return brand._insert_brand(owner_id, slug, name, plan);
end
$$;

comment on function brand.create_brand_for(uuid, text, text, text) is
'Privileged (service_role): creates a brand owned by owner_id on the given plan, outside '
'the per-user caps.';

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
    perform brand._assert_caller();
    perform brand.require_permission(brand_id, 'brand.update');
    if octet_length(name) > 800 or length(name) > 200 or octet_length(settings::text) > 65536 then
        raise exception 'brand name or settings too large'
            using errcode = '22001', hint = 'name: at most 200 chars; settings: at most 64 kB of JSON.';
    end if;
    if length(btrim(name)) = 0 or pg_catalog.jsonb_typeof(settings) <> 'object' then
        raise exception 'invalid brand name or settings'
            using errcode = '22023', hint = 'name: 1-200 chars, not blank; settings: a JSON object.';
    end if;
    update brand.brands as b
    set name = coalesce(update_brand.name, b.name),
        settings = coalesce(update_brand.settings, b.settings)
    where b.id = update_brand.brand_id
    returning * into updated;
    if updated is null then
        raise exception 'brand % not found', brand_id
            using errcode = 'PT404', hint = 'Check the brand id (api.my_brands).';
    end if;
    return updated;
end
$$;

comment on function brand.update_brand(uuid, text, jsonb) is
'Renames a brand or replaces its settings (permission brand.update; settings up to 64 kB).';

create or replace function brand.delete_brand(brand_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand._assert_caller();
    perform brand.require_permission(brand_id, 'brand.delete');
    delete from brand.brands as b where b.id = delete_brand.brand_id;
    if not found then
        raise exception 'brand % not found', brand_id
            using errcode = 'PT404', hint = 'Check the brand id (api.my_brands).';
    end if;
end
$$;

comment on function brand.delete_brand(uuid) is
'Deletes a brand and, by cascade, everything it owns (permission brand.delete).';

create or replace function brand.set_tier(brand_id uuid, user_id uuid, tier text)
returns brand.members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    changed brand.members;
    wanted brand.tier;
begin
    perform brand._assert_caller();
    perform brand.require_permission(brand_id, 'members.manage');
    wanted := brand._as_tier(tier);
    if user_id is null then
        raise exception 'user_id must not be null'
            using errcode = '22023', hint = 'Pass the member''s user id (api.brand_members).';
    end if;
    perform brand.assert_tier_reach(brand_id, (
        select m.tier from brand.members as m
        where m.brand_id = set_tier.brand_id and m.user_id = set_tier.user_id
    ));
    perform brand.assert_tier_reach(brand_id, wanted);
    update brand.members as m set tier = wanted
    where m.brand_id = set_tier.brand_id and m.user_id = set_tier.user_id
    returning * into changed;
    if changed is null then
        raise exception 'user % is not a member of brand %', user_id, brand_id
            using errcode = 'PT404', hint = 'Invite them first (api.invite_member).';
    end if;
    return changed;
end
$$;

comment on function brand.set_tier(uuid, uuid, text) is
'Changes a member''s tier (permission members.manage, within the caller''s own tier).';

create or replace function brand.remove_member(brand_id uuid, user_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand._assert_caller();
    if user_id is null then
        raise exception 'user_id must not be null'
            using errcode = '22023', hint = 'Pass the member''s user id, or your own to leave.';
    end if;
    if user_id is distinct from brand.caller_id_checked() then
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
            using errcode = 'PT404', hint = 'Nothing to remove; see api.brand_members.';
    end if;
end
$$;

comment on function brand.remove_member(uuid, uuid) is
'Removes a member (permission members.manage), or lets the caller leave the brand.';

-- A tier change that leaves a brand without an owner (row level: updates name the rows).
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
'Refuses a tier change that leaves an existing brand without an owner.';

-- Deletions are checked once per statement, so a user's deletion (which removes all of
-- their memberships in one cascade) names every brand it would orphan at once.
create or replace function brand.tg_members__keep_owner_on_delete()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    orphaned text;
    deleted_users text;
begin
    select string_agg(pg_catalog.format('%s (%s)', b.slug, b.id), ', ' order by b.slug) into orphaned
    from brand.brands as b
    where b.id in (select o.brand_id from old_rows as o where o.tier = 'owner')
        and not exists (select from brand.members as m where m.brand_id = b.id and m.tier = 'owner');
    if orphaned is null then
        return null;
    end if;
    begin
        select string_agg(distinct o.user_id::text, ', ') into deleted_users
        from old_rows as o
        where o.tier = 'owner' and not exists (select from auth.users as u where u.id = o.user_id);
    exception when insufficient_privilege then
        deleted_users := null;  -- auth.users unreadable: fall back to the general message
    end;
    if deleted_users is not null then
        raise exception 'user % cannot be deleted: sole owner of brand(s) %', deleted_users, orphaned
            using errcode = '23514',
                  hint = 'First make another member owner (api.set_member_tier(brand_id, user_id, '
                         '''owner'')) or delete the brand (api.delete_brand(brand_id)), then delete '
                         'the user. See docs/brand.md, "Deleting a user".';
    end if;
    raise exception 'brand(s) % would be left without an owner', orphaned
        using errcode = '23514', hint = 'Make another member owner first, or delete the brand.';
end
$$;

comment on function brand.tg_members__keep_owner_on_delete() is
'Refuses a deletion that leaves existing brands without an owner, naming them all (and the '
'user, when the deletion comes from deleting the user).';

drop trigger if exists members_10_keep_owner on brand.members;
create trigger members_10_keep_owner
after update of tier on brand.members
for each row when (old.tier = 'owner')
execute function brand.tg_members__keep_owner();

drop trigger if exists members_11_keep_owner_on_delete on brand.members;
create trigger members_11_keep_owner_on_delete
after delete on brand.members
referencing old table as old_rows
for each statement
execute function brand.tg_members__keep_owner_on_delete();

revoke all on function
brand.caller_tier(uuid),
brand.assert_tier_reach(uuid, brand.tier),
brand._assert_caller(),
brand._as_tier(text),
brand._assert_brand_fields(text, text),
brand._insert_brand(uuid, text, text, text),
brand.create_brand(text, text),
brand.create_brand_for(uuid, text, text, text),
brand.update_brand(uuid, text, jsonb),
brand.delete_brand(uuid),
brand.set_tier(uuid, uuid, text),
brand.remove_member(uuid, uuid),
brand.tg_members__keep_owner(),
brand.tg_members__keep_owner_on_delete()
from public;

grant execute on function
brand.caller_tier(uuid),
brand.create_brand(text, text),
brand.update_brand(uuid, text, jsonb),
brand.delete_brand(uuid),
brand.set_tier(uuid, uuid, text),
brand.remove_member(uuid, uuid)
to authenticated, service_role;

-- The privileged variant: service_role only (and the owner, who owns it).
grant execute on function brand.create_brand_for(uuid, text, text, text) to service_role;
