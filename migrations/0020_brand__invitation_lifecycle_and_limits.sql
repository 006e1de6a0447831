-- brandbase 0020 (brand): invitations that can be revoked and that survive their users'
-- deletion, per-user limits on brand creation, and TEMP taken from the API roles.

-- 1. Deleting a user sets invitations.accepted_by to null (on delete set null), which the
-- old check ((accepted_at is null) = (accepted_by is null)) refused: nobody who ever
-- accepted an invitation could be deleted. The record stays; only who accepted goes.
do $$
declare
    old_check name;
begin
    for old_check in
        select c.conname from pg_catalog.pg_constraint as c
        where c.conrelid = 'brand.invitations'::regclass and c.contype = 'c'
            and pg_catalog.pg_get_constraintdef(c.oid) like '%(accepted_at IS NULL) = (accepted_by IS NULL)%'
    loop
        execute pg_catalog.format('alter table brand.invitations drop constraint %I', old_check);
    end loop;
end
$$;

alter table brand.invitations
add constraint invitations_accepted_by_needs_accepted_at
check (accepted_by is null or accepted_at is not null);

-- 2. Revoked invitations are kept (and audited) with who revoked them and when.
alter table brand.invitations
add column revoked_at timestamptz,
add column revoked_by uuid references auth.users (id) on delete set null,
add constraint invitations_revoked_or_accepted_not_both
check (revoked_at is null or accepted_at is null),
add constraint invitations_revoked_by_needs_revoked_at
check (revoked_by is null or revoked_at is not null);
comment on column brand.invitations.revoked_at is
'When the invitation was revoked (by an owner or admin, or because its inviter was deleted).';
comment on column brand.invitations.revoked_by is
'Who revoked the invitation; null when its inviter was deleted.';
comment on column brand.invitations.accepted_by is
'Who accepted; null while pending, or once that user is deleted (accepted_at stays).';
create index invitations_revoked_by_idx on brand.invitations (revoked_by);

-- 3. Per-user limits on creating brands (service_role is exempt). One row.
create table brand.limits (
    id boolean primary key default true check (id),
    max_owned_brands integer default 10 check (max_owned_brands >= 0),
    brands_per_hour integer default 10 check (brands_per_hour >= 1)
);
comment on table brand.limits is
'Per-user limits on api.create_brand (one row; service_role is exempt). Null means no limit.';
comment on column brand.limits.max_owned_brands is 'How many brands one user may own (tier owner).';
comment on column brand.limits.brands_per_hour is
'How many brands one user may create per hour (GCRA: that many at once, then one every '
'hour / brands_per_hour).';
insert into brand.limits default values;
revoke all on brand.limits from public, anon, authenticated;
grant select on brand.limits to service_role;

-- 4. TEMP: a temporary object (a domain named uuid in pg_temp …) is the tool of type
-- shadowing. Every definer function pins search_path = pg_catalog, pg_temp (the primary
-- defence); where the installing role owns the database, the API roles also lose TEMP
-- (defence in depth). Every other existing role keeps it. CREATE DATABASE … TEMPLATE does
-- not copy these grants.
do $$
declare
    keeper name;
begin
    if not exists (
        select from pg_catalog.pg_database as d
        where d.datname = pg_catalog.current_database()
            and pg_catalog.pg_has_role(current_user, d.datdba, 'usage')
    ) then
        raise notice 'not the database owner: TEMPORARY stays granted to PUBLIC';
        return;
    end if;
    execute pg_catalog.format('revoke temporary on database %I from public', pg_catalog.current_database());
    for keeper in
        select r.rolname from pg_catalog.pg_roles as r
        where r.rolname not in ('anon', 'authenticated') and r.rolname !~ '^pg_'
    loop
        execute pg_catalog.format(
            'grant temporary on database %I to %I', pg_catalog.current_database(), keeper
        );
    end loop;
end
$$;
