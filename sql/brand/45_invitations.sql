-- brand: invitations. An invitation is made for 7 days (service_role may choose up to 90),
-- accepted once by the invited address, revoked by owners and admins while pending, and
-- holds only while its inviter could still issue it. Only the token's sha256 is stored.

-- Signatures replaced in 0020's release: the tier arrives as text, and the tenant
-- function takes no validity.
drop function if exists api.invite_member(uuid, text, brand.tier);
drop function if exists brand.invite(uuid, text, brand.tier, interval);

-- The one insert of an invitation; callers fix the validity.
create or replace function brand._invite(brand_id uuid, email text, tier text, valid_for interval)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    token text := pg_catalog.replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    invited brand.tier;
    address text := pg_catalog.lower(pg_catalog.btrim(email));
begin
    perform brand._assert_caller();
    perform brand.require_permission(brand_id, 'members.invite');
    invited := brand._as_tier(tier);
    if address is null then
        raise exception 'email must not be null'
            using errcode = '22023', hint = 'Use a plain address like name@example.com.';
    end if;
    if octet_length(address) > 254 then
        raise exception 'invitation email too long (% bytes)', octet_length(address)
            using errcode = '22001', hint = 'An e-mail address has at most 254 characters.';
    end if;
    if address !~ '^[^@\s]+@[^@\s]+$' then
        raise exception 'invalid invitation email "%"', email
            using errcode = '22023', hint = 'Use a plain address like name@example.com.';
    end if;
    if invited = 'owner' then
        raise exception 'cannot invite as owner'
            using errcode = '22023', hint = 'Invite as admin, then change the tier.';
    end if;
    perform brand.assert_tier_reach(brand_id, invited);
    if valid_for is null or valid_for <= interval '0' or valid_for > interval '90 days' then
        raise exception 'invitation validity must be positive and at most 90 days, got %', valid_for
            using errcode = '22023', hint = 'e.g. interval ''7 days''.';
    end if;
    insert into brand.invitations (brand_id, email, tier, token_sha256, invited_by, created_at, expires_at)
    values (
        _invite.brand_id, address, invited,
        pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8')), brand.caller_id(),
        brandbase.now(), brandbase.now() + valid_for
    );
    return token;
end
$$;

comment on function brand._invite(uuid, text, text, interval) is
'Inserts an invitation (private: brand.invite and brand.invite_for fix who and how long).';

create or replace function brand.invite(brand_id uuid, email text, tier text default 'member')
returns text
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select brand._invite(brand_id, email, tier, interval '7 days')
$$;

comment on function brand.invite(uuid, text, text) is
'Invites an email address at a tier for 7 days (permission members.invite); returns the '
'token, shown once.';

create or replace function brand.invite_for(brand_id uuid, email text, tier text, valid_for interval)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if not brand.caller_is_service() then
        raise exception 'only service_role may choose an invitation''s validity'
            using errcode = '42501', hint = 'Call api.invite_member(brand_id, email, tier).';
    end if;
    return brand._invite(brand_id, email, tier, valid_for);
end
$$;

comment on function brand.invite_for(uuid, text, text, interval) is
'Privileged (service_role): an invitation valid for the given time (at most 90 days).';

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
    if octet_length(token) > 256 then
        raise exception 'invitation token too long'
            using errcode = '22001', hint = 'Pass the token exactly as the invitation gave it.';
    end if;
    select * into inv from brand.invitations as i
    where i.token_sha256 = pg_catalog.sha256(pg_catalog.convert_to(coalesce(token, ''), 'UTF8'))
    for update;
    if not found then
        raise exception 'invitation not found'
            using errcode = 'PT404', hint = 'Check the link, or ask the brand for a new invitation.';
    end if;
    if pg_catalog.lower(coalesce(brand.claims() ->> 'email', '')) <> inv.email then
        raise exception 'this invitation is for another email address'
            using errcode = '42501', hint = 'Sign in with the invited address.';
    end if;
    if inv.accepted_at is not null or inv.revoked_at is not null or inv.expires_at <= brandbase.now() then
        raise exception 'invitation %', case
            when inv.accepted_at is not null then 'already used'
            when inv.revoked_at is not null then 'was revoked'
            else 'has expired' end
            using errcode = 'PT409', hint = 'Ask the brand for a new invitation.';
    end if;
    -- An invitation holds only while its inviter could still issue it: a member holding
    -- members.invite at a tier at least the one offered. A null inviter is service_role's
    -- invitation (a deleted inviter's pending ones are revoked by a trigger).
    if inv.invited_by is not null then
        perform 1
        from brand.members as m
        inner join brand.tier_permissions as tp
            on m.tier = tp.tier and tp.permission = 'members.invite'
        where m.brand_id = inv.brand_id and m.user_id = inv.invited_by and m.tier >= inv.tier
        for share of m;
        if not found then
            raise exception 'invitation is void: the member who sent it can no longer invite at tier %', inv.tier
                using errcode = 'PT409', hint = 'Ask an admin or owner of the brand for a new invitation.';
        end if;
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
'Joins the caller to the inviting brand; the JWT email must match the invitation, and its '
'inviter must still be able to invite at that tier.';

create or replace function brand.revoke_invitation(brand_id uuid, invitation_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    inv brand.invitations;
begin
    perform brand._assert_caller();
    perform brand.require_permission(brand_id, 'members.invite');
    select * into inv from brand.invitations as i
    where i.brand_id = revoke_invitation.brand_id and i.id = revoke_invitation.invitation_id
    for update;
    if not found then
        raise exception 'invitation % not found in brand %', invitation_id, brand_id
            using errcode = 'PT404', hint = 'See api.brand_invitations for the brand''s invitations.';
    end if;
    if inv.accepted_at is not null or inv.revoked_at is not null then
        raise exception 'invitation % was already %', invitation_id,
            case when inv.accepted_at is not null then 'accepted' else 'revoked' end
            using errcode = 'PT409',
                  hint = 'Only pending invitations can be revoked; remove the member instead.';
    end if;
    perform brand.assert_tier_reach(brand_id, inv.tier);
    update brand.invitations as i set revoked_at = brandbase.now(), revoked_by = brand.caller_id()
    where i.brand_id = inv.brand_id and i.id = inv.id;
end
$$;

comment on function brand.revoke_invitation(uuid, uuid) is
'Revokes a pending invitation (permission members.invite); its token stops working.';

-- Deleting a user sets invited_by to null (on delete set null); their pending
-- invitations die with them, which acceptance could not tell from service_role's
-- (invited_by null) otherwise.
create or replace function brand.tg_invitations__revoke_without_inviter()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.revoked_at is null then
        new.revoked_at := brandbase.now();
    end if;
    return new;
end
$$;

comment on function brand.tg_invitations__revoke_without_inviter() is
'Revokes a pending invitation whose inviter is deleted.';

drop trigger if exists invitations_10_revoke_without_inviter on brand.invitations;
create trigger invitations_10_revoke_without_inviter
before update of invited_by on brand.invitations
for each row when (
    old.invited_by is not null and new.invited_by is null and new.accepted_at is null
)
execute function brand.tg_invitations__revoke_without_inviter();

revoke all on function
brand._invite(uuid, text, text, interval),
brand.invite(uuid, text, text),
brand.invite_for(uuid, text, text, interval),
brand.accept_invitation(text),
brand.revoke_invitation(uuid, uuid),
brand.tg_invitations__revoke_without_inviter()
from public;

grant execute on function
brand.invite(uuid, text, text),
brand.accept_invitation(text),
brand.revoke_invitation(uuid, uuid)
to authenticated, service_role;

-- The privileged variant: service_role only (and the owner, who owns it).
grant execute on function brand.invite_for(uuid, text, text, interval) to service_role;
