-- brand: who is calling. PostgREST sets request.jwt.claims from the verified JWT; a
-- malformed value must be a clear error, not a JSON parse failure deep in a policy.
-- brand.claims() is the one parser and validator of the claims: every function and view
-- of the pack that needs the caller goes through it (or through caller_id(), whose fast
-- path sends every malformed case it can see to claims() for the 28000).
--
-- Who the caller is comes from the claims (the JWT is verified by PostgREST); what the
-- caller may do comes from the database: caller_is_service() reads the database role,
-- never the claims' "role", which any session could set.

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
        return '{}'::jsonb;
    end if;
    begin
        parsed := raw::jsonb;
    exception when invalid_text_representation then
        parsed := null;
    end;
    if pg_catalog.jsonb_typeof(parsed) is distinct from 'object'
        or pg_catalog.jsonb_typeof(parsed -> 'sub') not in ('string', 'null')
        or (parsed ->> 'sub') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
    then
        raise exception 'malformed JWT claims in request.jwt.claims'
            using errcode = '28000',
                  hint = 'Expected a JSON object whose "sub" is the user''s uuid, as PostgREST '
                         'sets it from a verified token. brandbase needs uuid subjects '
                         '(Supabase Auth); see docs/brand.md on third-party auth.';
    end if;
    return parsed;
end
$$;

comment on function brand.claims() is
'The request''s JWT claims as a JSON object ({} when none); 28000 if malformed (not JSON, '
'not an object, or a sub that is not a uuid). The one parser of request.jwt.claims.';

-- caller_id() and caller_is_service() are plain SQL without SET options, so the planner
-- inlines them: they run once per statement in policies at the cost of a cast. A sub that
-- is not uuid-shaped is handed to brand.claims(), which raises the 28000; claims that are
-- not JSON at all fail the cast with 22P02, which brand.brands_with() and friends catch
-- to let brand.claims() explain it. Views check (select brand.claims()) once per statement.
create or replace function brand.caller_id()
returns uuid
language sql
stable
as $$
    select case
        when (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
            then (brand.claims() ->> 'sub')::uuid
        else (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
    end
$$;

comment on function brand.caller_id() is
'The calling user''s id from the JWT''s sub claim; null when anonymous. Inlined by the planner.';

create or replace function brand.caller_id_checked()
returns uuid
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select (brand.claims() ->> 'sub')::uuid
$$;

comment on function brand.caller_id_checked() is
'The calling user''s id (null when anonymous) through the validating parser: 28000 for any '
'malformed claims. Call once per statement: (select brand.caller_id_checked()).';

-- The invoking database role: SET ROLE (what PostgREST's authenticator does per request)
-- shows in the role setting, also inside security definer functions, where current_user
-- is the function's owner; a session that never switched role is its session user.
-- The one place the pack asks who called it (authority from roles, never from claims).
create or replace function brand.invoking_role()
returns name
language sql
stable
as $$
    select case pg_catalog.current_setting('role')
        when 'none' then session_user
        else pg_catalog.current_setting('role')::name
    end
$$;

comment on function brand.invoking_role() is
'The database role that called into the pack: SET ROLE''s role (PostgREST''s anon, '
'authenticated, service_role), else the session user. Not current_user, which a definer '
'function replaces. Inlined by the planner.';

-- Members of service_role count: the pack owner and superusers are trusted too.
create or replace function brand.caller_is_service()
returns boolean
language sql
stable
as $$
    select pg_catalog.pg_has_role(brand.invoking_role(), 'service_role', 'member')
$$;

comment on function brand.caller_is_service() is
'True when the invoking database role (SET ROLE, else the session user) is service_role or a '
'member of it: trusted backend code acting for any brand. Never decided by JWT claims.';

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
'The calling user''s id; raises 28000 for anonymous callers and malformed claims.';

revoke all on function
brand.claims(), brand.caller_id(), brand.caller_id_checked(), brand.invoking_role(),
brand.caller_is_service(), brand.require_caller()
from public;
grant execute on function
brand.claims(), brand.caller_id(), brand.caller_id_checked(), brand.invoking_role(),
brand.caller_is_service(), brand.require_caller()
to anon, authenticated, service_role;
