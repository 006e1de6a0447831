-- brand: the pack's clock. Logic that tests must control reads brandbase.now(), never
-- bare now(); tests freeze it with set_config('brandbase.frozen_now', …, true).
-- brandbase.frozen_now is a placeholder GUC any session may set, so it is honoured only
-- for trusted sessions: the session user is a superuser or a member of the pack owner
-- (the owner of schema brandbase). Tests log in as the owner and then `set local role
-- authenticated`; the session user stays the owner, so their frozen clock still holds.
-- Anyone else who sets it gets 42501. The common path (GUC unset) costs one
-- current_setting() and stays inlinable.

create or replace function brandbase._frozen_now()
returns timestamptz
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    frozen text := pg_catalog.current_setting('brandbase.frozen_now', true);
begin
    -- session_user, not current_user: inside a security definer function current_user is
    -- the owner, and SET ROLE never changes the session user.
    if not pg_catalog.pg_has_role(
        session_user,
        (select n.nspowner from pg_catalog.pg_namespace as n where n.nspname = 'brandbase'),
        'member'
    ) then
        raise exception 'brandbase.frozen_now may only be set by the pack owner'
            using errcode = '42501',
                  hint = 'The clock freezes only in sessions of the pack owner or a superuser '
                         '(tests); reset brandbase.frozen_now.';
    end if;
    return frozen::timestamptz;
exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'brandbase.frozen_now is not a timestamp: %', frozen
        using errcode = '22023', hint = 'e.g. 2030-01-02 03:04:05+00';
end
$$;

comment on function brandbase._frozen_now() is
'The frozen time of brandbase.frozen_now, for the pack owner''s (or a superuser''s) sessions '
'only; 42501 for any other session.';

create or replace function brandbase.now()
returns timestamptz
language sql
stable
parallel safe
as $$
    select case
        when coalesce(pg_catalog.current_setting('brandbase.frozen_now', true), '') = ''
            then pg_catalog.now()
        else brandbase._frozen_now()
    end
$$;

comment on function brandbase.now() is
'Transaction time, or the time frozen by setting brandbase.frozen_now (tests: honoured for '
'the pack owner''s sessions only, 42501 for others).';

revoke all on function brandbase.now(), brandbase._frozen_now() from public;
grant usage on schema brandbase to anon, authenticated, service_role;
grant execute on function brandbase.now(), brandbase._frozen_now()
to anon, authenticated, service_role;
