-- brand: who is calling. PostgREST sets request.jwt.claims from the verified JWT; a
-- malformed value must be a clear error, not a JSON parse failure deep in a policy.

create or replace function brand.claims()
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    raw text := nullif(pg_catalog.current_setting('request.jwt.claims', true), '');
    parsed jsonb;
begin
    if raw is null then
        return '{}';
    end if;
    begin
        parsed := raw::jsonb;
    exception when invalid_text_representation then
        parsed := null;
    end;
    if pg_catalog.jsonb_typeof(parsed) is distinct from 'object'
        or (parsed ? 'sub' and (parsed ->> 'sub') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$')
    then
        raise exception 'malformed JWT claims in request.jwt.claims'
            using errcode = '28000',
                  hint = 'Expected a JSON object whose "sub" is the user''s uuid, '
                         'as PostgREST sets it from a verified token.';
    end if;
    return parsed;
end
$$;

comment on function brand.claims() is
'The request''s JWT claims as a JSON object ({} when none); 28000 if malformed.';

-- caller_id() and caller_is_service() are plain SQL without SET options, so the planner
-- inlines them: they run once per statement in policies at the cost of a cast. Malformed
-- claims make them fail with 22P02; brand.brands_with() and friends catch that and let
-- brand.claims() explain it.
create or replace function brand.caller_id()
returns uuid
language sql
stable
as $$
    select (
        nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
        ->> 'sub'
    )::uuid
$$;

comment on function brand.caller_id() is
'The calling user''s id from the JWT''s sub claim; null when anonymous. Inlined by the planner.';

create or replace function brand.caller_is_service()
returns boolean
language sql
stable
as $$
    select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
        ->> 'role' = 'service_role',
        false
    )
$$;

comment on function brand.caller_is_service() is
'True when the request carries the service_role JWT: trusted backend code acting for any brand.';

create or replace function brand.require_caller()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := (brand.claims() ->> 'sub')::uuid;
begin
    if uid is null then
        raise exception 'not authenticated'
            using errcode = '28000',
                  hint = 'Call this as a signed-in user (role authenticated with a sub claim).';
    end if;
    return uid;
end
$$;

comment on function brand.require_caller() is
'The calling user''s id; raises 28000 for anonymous callers.';

revoke all on function
brand.claims(), brand.caller_id(), brand.caller_is_service(), brand.require_caller()
from public;
grant execute on function
brand.claims(), brand.caller_id(), brand.caller_is_service(), brand.require_caller()
to anon, authenticated, service_role;
