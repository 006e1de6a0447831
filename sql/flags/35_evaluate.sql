-- flags: the one evaluation path. flags._evaluate_row() (context, unknown flag, type
-- mismatch, kill switch, the brand layer) and flags._rules() (Unleash's algorithm) run on
-- the compiled form flags._compile() keeps (sql/flags/32_compile.sql): one primary-key
-- lookup of flags.compiled_flags hands them every strategy with its constraints typed and
-- its values pre-parsed, so evaluation walks typed arrays instead of JSON. flags.evaluate(),
-- evaluate_all(), enabled(), evaluate_as() and evaluate_all_as() all end in _evaluate_row().
-- The three hot-path PL/pgSQL helpers (_rules, _evaluate_row, _pick_variant) carry no SET
-- clause: each SET saves and restores a GUC per call, which cost more than the rules. They
-- are SECURITY INVOKER, granted to nobody, reached only through the definers below (whose
-- search_path is pinned), and name every function and relation with its schema.

drop function if exists flags._evaluate_row(
    flags.flags, flags.flag_environments, text, jsonb, jsonb, uuid, uuid
);

create or replace function flags._kind_of(value jsonb)
returns text
language sql
immutable
parallel safe
as $$
    select case pg_catalog.jsonb_typeof(value)
        when 'boolean' then 'boolean' when 'string' then 'string' when 'number' then 'number'
        when 'object' then 'json' when 'array' then 'json' end
$$;

comment on function flags._kind_of(jsonb) is 'The flag kind a JSON value belongs to (null for JSON null).';

create or replace function flags._evaluate_row(
    f flags.flags,
    cf flags.compiled_flags,
    flag_key text,
    context jsonb,
    default_value jsonb,
    brand_id uuid,
    user_id uuid
)
returns flags.evaluation
language plpgsql
stable
as $$
-- No SET clause (hot path; see flags._rules).
declare
    ev flags.evaluation;
    ctx jsonb := context;
    r record;
    forced jsonb;
    forced_by text;
begin
    -- f: the flag (all null when there is none); cf: its compiled row in the environment
    -- (all null when it is not configured there)
    ev.key := flag_key;
    ev.value := default_value;
    ev.enabled := false;
    if ctx is null then
        ctx := '{}'::jsonb;
    end if;
    if pg_catalog.jsonb_typeof(ctx) <> 'object' or pg_catalog.octet_length(ctx::text) > 16384 then
        ev.reason := 'ERROR';
        ev.error_code := 'INVALID_CONTEXT';
        ev.detail := 'the context must be a JSON object of at most 16 kB';
        return ev;
    end if;
    if f.key is null then
        ev.reason := 'ERROR';
        ev.error_code := 'FLAG_NOT_FOUND';
        ev.detail := 'no such flag';
        return ev;
    end if;
    if default_value is not null and f.kind <> 'json' and flags._kind_of(default_value) is distinct from f.kind
        and flags._kind_of(default_value) is not null then
        ev.reason := 'ERROR';
        ev.error_code := 'TYPE_MISMATCH';
        ev.detail := pg_catalog.format('the flag is %s, the default is %s', f.kind, flags._kind_of(default_value));
        return ev;
    end if;
    if f.archived_at is not null or cf.flag_key is null or not cf.enabled then
        ev.reason := 'DISABLED';
        ev.detail := case when f.archived_at is not null then 'archived'
            when cf.flag_key is null then 'not configured in this environment' else 'kill switch' end;
        if f.kind = 'boolean' and default_value is null then
            ev.value := 'false'::jsonb;
        end if;
        return ev;
    end if;
    -- the brand layer: the user's override, the brand's, the plan's entitlement
    if brand_id is not null then
        select o.value, case when o.user_id = '00000000-0000-0000-0000-000000000000' then 'brand override'
            else 'user override' end
        into forced, forced_by
        from flags.overrides as o
        where o.brand_id = _evaluate_row.brand_id and o.flag_key = f.key
            and o.user_id in (
                '00000000-0000-0000-0000-000000000000',
                coalesce(_evaluate_row.user_id, '00000000-0000-0000-0000-000000000000')
            )
            and (o.expires_at is null or o.expires_at > brandbase.now())
        order by o.user_id = '00000000-0000-0000-0000-000000000000'
        limit 1;
        if forced is null then
            select e.value, 'plan entitlement' into forced, forced_by
            from brand.brands as b
            inner join flags.entitlements as e on e.plan = b.plan and e.flag_key = f.key
            where b.id = _evaluate_row.brand_id;
        end if;
        if forced is not null then
            ev.value := forced;
            ev.enabled := forced not in ('false'::jsonb, 'null'::jsonb);
            ev.reason := 'TARGETING_MATCH';
            ev.detail := forced_by;
            return ev;
        end if;
        if not ctx ? 'brandId' then
            ctx := ctx || pg_catalog.jsonb_build_object('brandId', brand_id);
        end if;
    end if;
    if user_id is not null and not ctx ? 'userId' then
        ctx := ctx || pg_catalog.jsonb_build_object('userId', user_id);
    end if;
    r := flags._rules(f, cf, ctx, false);
    ev.enabled := r.enabled;
    ev.detail := r.decided;
    ev.variant := r.variant ->> 'name';
    ev.payload := r.variant -> 'payload';
    if not r.enabled then
        ev.reason := 'DEFAULT';
        if f.kind = 'boolean' then
            ev.value := 'false'::jsonb;
        end if;
        return ev;
    end if;
    ev.reason := case when r.decided = 'static' and not r.split then 'STATIC' when r.split then 'SPLIT'
        else 'TARGETING_MATCH' end;
    if f.kind = 'boolean' then
        ev.value := 'true'::jsonb;
    else
        ev.value := coalesce(r.payload_value, f.on_value, default_value);
    end if;
    return ev;
end
$$;

comment on function flags._evaluate_row(
    flags.flags, flags.compiled_flags, text, jsonb, jsonb, uuid, uuid
) is
'The one evaluation of a looked-up flag: context, unknown flag, type mismatch, kill switch and '
'archive, then the user''s and the brand''s overrides and the plan''s entitlement, then Unleash''s '
'rules on the compiled flag (flags._rules). May raise for a broken rule; its callers catch.';

create or replace function flags._evaluate(
    flag_key text,
    context jsonb,
    default_value jsonb,
    environment text,
    brand_id uuid,
    user_id uuid
)
returns flags.evaluation
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    lk record;
begin
    select f, cf into lk
    from flags.flags as f
    left join flags.compiled_flags as cf
        on cf.flag_key = f.key
        and cf.environment = coalesce(_evaluate.environment, (select s.environment from flags.settings as s))
    where f.key = _evaluate.flag_key;
    return flags._evaluate_row(lk.f, lk.cf, flag_key, context, default_value, brand_id, user_id);
exception when others then
    -- evaluation never raises: a broken rule is the caller's default, with the reason
    return row(flag_key, default_value, null, 'ERROR', 'GENERAL', false, null, sqlerrm)::flags.evaluation;
end
$$;

comment on function flags._evaluate(text, jsonb, jsonb, text, uuid, uuid) is
'One flag through flags._evaluate_row(), for trusted callers that name the brand and user. Never '
'raises: errors come back as reason ERROR / GENERAL with the caller''s default.';

create or replace function flags._evaluate_all(context jsonb, environment text, brand_id uuid, user_id uuid)
returns setof flags.evaluation
language plpgsql
volatile
rows 200
set search_path = pg_catalog, pg_temp
as $$
begin
    -- One query for every flag, one subtransaction for the lot; only if a flag's rules raise
    -- does each flag get its own (flags._evaluate()).
    begin
        return query
            select e.*
            from flags.flags as f
            left join flags.compiled_flags as cf
                on cf.flag_key = f.key
                and cf.environment = coalesce(_evaluate_all.environment, (select s.environment from flags.settings as s))
            cross join lateral flags._evaluate_row(f, cf, f.key, context, null, _evaluate_all.brand_id,
                _evaluate_all.user_id) as e
            where f.archived_at is null
            order by f.key;
        return;
    exception when others then
        null;
    end;
    return query
        select e.*
        from flags.flags as f
        cross join lateral flags._evaluate(f.key, context, null, environment, _evaluate_all.brand_id,
            _evaluate_all.user_id) as e
        where f.archived_at is null
        order by f.key;
end
$$;

comment on function flags._evaluate_all(jsonb, text, uuid, uuid) is
'Every unarchived flag through flags._evaluate_row(), in key order; never raises.';

create or replace function flags._request_brand()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    raw text := coalesce(
        nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-brand-id',
        brand.claims() ->> 'brand_id'
    );
begin
    if raw ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
        return raw::uuid;
    end if;
    return null;
exception when invalid_text_representation then
    return null;
end
$$;

comment on function flags._request_brand() is
'The brand the request names (X-Brand-Id header, else the brand_id claim), as the gate reads it.';

create or replace function flags._caller_brand(context jsonb)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    named text := case when pg_catalog.jsonb_typeof(context) = 'object' then context ->> 'brandId' end;
    b uuid;
begin
    if named ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
        b := named::uuid;
    else
        b := flags._request_brand();
    end if;
    -- a brand's overrides and plan apply only for its own members (or trusted backends)
    if b is not null and brand.has_permission(b, 'flags.read') then
        return b;
    end if;
    return null;
end
$$;

comment on function flags._caller_brand(jsonb) is
'The brand whose layer applies: context.brandId or the request''s brand, if the caller may read its flags.';

create or replace function flags.evaluate(
    flag_key text,
    context jsonb default '{}',
    default_value jsonb default null,
    environment text default null
)
returns flags.evaluation
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    claims jsonb := '{}'::jsonb;
    uid uuid;
    b uuid;
    ev flags.evaluation;
    lk record;
begin
    -- the caller: claims are parsed (28000 when malformed) only when the request has any,
    -- and the brand layer is looked up only when something names a brand
    if pg_catalog.current_setting('request.jwt.claims', true) <> '' then
        claims := brand.claims();
        uid := (claims ->> 'sub')::uuid;
    end if;
    if (pg_catalog.jsonb_typeof(context) = 'object' and context ? 'brandId') or claims ? 'brand_id'
        or pg_catalog.current_setting('request.headers', true) <> '' then
        b := flags._caller_brand(context);
    end if;
    if pg_catalog.length(flag_key) > 200 or pg_catalog.length(environment) > 40 then
        flag_key := null;
        environment := null;
        b := null;
        uid := null;
    end if;
    begin
        -- one lookup hands over the flag and its compiled rules; then flags._evaluate_row()
        select f, cf into lk
        from flags.flags as f
        left join flags.compiled_flags as cf
            on cf.flag_key = f.key
            and cf.environment = coalesce(evaluate.environment, (select s.environment from flags.settings as s))
        where f.key = evaluate.flag_key;
        ev := flags._evaluate_row(lk.f, lk.cf, flag_key, context, default_value, b, uid);
    exception when others then
        -- evaluation never raises: a broken rule is the caller's default, with the reason
        ev := row(flag_key, default_value, null, 'ERROR', 'GENERAL', false, null, sqlerrm)::flags.evaluation;
    end;
    return ev;
end
$$;

comment on function flags.evaluate(text, jsonb, jsonb, text) is
'Evaluates a flag for the caller: Unleash rules on the context, then the brand layer of the brand '
'named by context.brandId or the request (for its members). Unknown flags give default_value '
'with reason ERROR / FLAG_NOT_FOUND; it never raises for a flag or context.';

create or replace function flags.evaluate_all(context jsonb default '{}', environment text default null)
returns setof flags.evaluation
language plpgsql
volatile
security definer
rows 200
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := (brand.claims() ->> 'sub')::uuid;
    b uuid := flags._caller_brand(context);
begin
    if pg_catalog.length(environment) > 40 then
        return;
    end if;
    return query select * from flags._evaluate_all(context, environment, b, uid);
end
$$;

comment on function flags.evaluate_all(jsonb, text) is
'Every unarchived flag evaluated for the caller in one call (the app''s boot), as flags.evaluate.';

create or replace function flags.enabled(flag_key text)
returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    claims jsonb := '{}'::jsonb;
    uid uuid;
    b uuid;
    on_ boolean;
    lk record;
begin
    -- flags.evaluate(flag_key).enabled, without its row: the same caller resolution and the
    -- same flags._evaluate_row(); in a policy, (select flags.enabled('x')) runs once per statement
    if pg_catalog.current_setting('request.jwt.claims', true) <> '' then
        claims := brand.claims();
        uid := (claims ->> 'sub')::uuid;
    end if;
    if claims ? 'brand_id' or pg_catalog.current_setting('request.headers', true) <> '' then
        b := flags._caller_brand('{}'::jsonb);
    end if;
    if pg_catalog.length(flag_key) > 200 then
        return false;
    end if;
    begin
        select f, cf into lk
        from flags.flags as f
        left join flags.compiled_flags as cf
            on cf.flag_key = f.key and cf.environment = (select s.environment from flags.settings as s)
        where f.key = enabled.flag_key;
        on_ := (flags._evaluate_row(lk.f, lk.cf, flag_key, '{}'::jsonb, null, b, uid)).enabled;
    exception when others then
        on_ := false;
    end;
    return coalesce(on_, false);
end
$$;

comment on function flags.enabled(text) is
'Whether a flag is on for the request''s user and brand; for RLS policies and SQL functions. In a '
'policy write (select flags.enabled(''x'')) so it runs once per statement.';

create or replace function flags.evaluate_as(
    flag_key text,
    context jsonb,
    default_value jsonb,
    environment text,
    brand_id uuid,
    user_id uuid
)
returns flags.evaluation
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
    select flags._evaluate(flag_key, context, default_value, environment, brand_id, user_id)
$$;

comment on function flags.evaluate_as(text, jsonb, jsonb, text, uuid, uuid) is
'Trusted backends only (owner, service_role): evaluates for a given brand and user.';

create or replace function flags.evaluate_all_as(context jsonb, environment text, brand_id uuid, user_id uuid)
returns setof flags.evaluation
language sql
volatile
security definer
rows 200
set search_path = pg_catalog, pg_temp
as $$
    select * from flags._evaluate_all(context, environment, evaluate_all_as.brand_id, evaluate_all_as.user_id)
$$;

comment on function flags.evaluate_all_as(jsonb, text, uuid, uuid) is
'Trusted backends only (owner, service_role): every unarchived flag for a given brand and user.';

revoke all on function
flags._kind_of(jsonb),
flags._evaluate_row(flags.flags, flags.compiled_flags, text, jsonb, jsonb, uuid, uuid),
flags._evaluate(text, jsonb, jsonb, text, uuid, uuid),
flags._evaluate_all(jsonb, text, uuid, uuid),
flags._request_brand(), flags._caller_brand(jsonb), flags.evaluate(text, jsonb, jsonb, text),
flags.evaluate_all(jsonb, text), flags.enabled(text), flags.evaluate_as(text, jsonb, jsonb, text, uuid, uuid),
flags.evaluate_all_as(jsonb, text, uuid, uuid)
from public;

grant execute on function
flags.evaluate(text, jsonb, jsonb, text), flags.evaluate_all(jsonb, text), flags.enabled(text)
to anon, authenticated, service_role;
grant execute on function
flags.evaluate_as(text, jsonb, jsonb, text, uuid, uuid), flags.evaluate_all_as(jsonb, text, uuid, uuid)
to service_role;
