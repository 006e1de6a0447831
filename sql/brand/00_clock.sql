-- brand: the pack's clock. Logic that tests must control reads brandbase.now(), never
-- bare now(); tests freeze it with set_config('brandbase.frozen_now', …, true).

create or replace function brandbase.now()
returns timestamptz
language sql
stable
parallel safe
as $$
    select coalesce(
        nullif(current_setting('brandbase.frozen_now', true), '')::timestamptz,
        pg_catalog.now()
    )
$$;

comment on function brandbase.now() is
'Transaction time, or the time frozen by setting brandbase.frozen_now (tests only).';

revoke all on function brandbase.now() from public;
grant usage on schema brandbase to anon, authenticated, service_role;
grant execute on function brandbase.now() to anon, authenticated, service_role;
