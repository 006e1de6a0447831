-- flags: the one evaluation path. flags._evaluate() adds the brand layer (per-user and
-- per-brand overrides, plan entitlements) and OpenFeature's shape to flags._rules()
-- (sql/flags/30_rules.sql). flags.evaluate(), evaluate_all(), enabled() and evaluate_as()
-- all end in it.

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

create or replace function flags._payload_value(payload jsonb)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return case payload ->> 'type'
        when 'number' then pg_catalog.to_jsonb((payload ->> 'value')::numeric)
        when 'json' then (payload ->> 'value')::jsonb
        else payload -> 'value'
    end;
exception when others then
    return null;
end
$$;

comment on function flags._payload_value(jsonb) is
'A variant payload''s value as JSON (number, parsed json, or string).';

create or replace function flags._evaluate_row(
    f flags.flags,
    fe flags.flag_environments,
    flag_key text,
    context jsonb,
    default_value jsonb,
    brand_id uuid,
    user_id uuid
)
returns flags.evaluation
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    ev flags.evaluation;
    ctx jsonb := context;
    r record;
    forced jsonb;
    forced_by text;
begin
    -- f: the flag (all null when there is none); fe: its row in the environment (all null
    -- when it is not configured there)
    ev.key := flag_key;
    ev.value := default_value;
    ev.enabled := false;
    if ctx is null then
        ctx := '{}';
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
    if flags._kind_of(default_value) is distinct from f.kind and flags._kind_of(default_value) is not null
        and f.kind <> 'json' then
        ev.reason := 'ERROR';
        ev.error_code := 'TYPE_MISMATCH';
        ev.detail := format('the flag is %s, the default is %s', f.kind, flags._kind_of(default_value));
        return ev;
    end if;
    if f.archived_at is not null or fe.flag_key is null or not fe.enabled then
        ev.reason := 'DISABLED';
        ev.detail := case when f.archived_at is not null then 'archived'
            when fe.flag_key is null then 'not configured in this environment' else 'kill switch' end;
        if f.kind = 'boolean' and default_value is null then
            ev.value := 'false';
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
            ev.enabled := forced not in ('false', 'null');
            ev.reason := 'TARGETING_MATCH';
            ev.detail := forced_by;
            return ev;
        end if;
        if not ctx ? 'brandId' then
            ctx := ctx || jsonb_build_object('brandId', brand_id);
        end if;
    end if;
    if user_id is not null and not ctx ? 'userId' then
        ctx := ctx || jsonb_build_object('userId', user_id);
    end if;
    r := flags._rules(f, fe, ctx, false);
    ev.enabled := r.enabled;
    ev.detail := r.decided;
    ev.variant := r.variant ->> 'name';
    ev.payload := r.variant -> 'payload';
    if not r.enabled then
        ev.reason := 'DEFAULT';
        if f.kind = 'boolean' then
            ev.value := 'false';
        end if;
        return ev;
    end if;
    ev.reason := case when r.decided = 'static' and not r.split then 'STATIC' when r.split then 'SPLIT'
        else 'TARGETING_MATCH' end;
    if f.kind = 'boolean' then
        ev.value := 'true';
    else
        ev.value := coalesce(flags._payload_value(ev.payload), f.on_value, default_value);
    end if;
    return ev;
end
$$;

comment on function flags._evaluate_row(
    flags.flags, flags.flag_environments, text, jsonb, jsonb, uuid, uuid
) is
'The evaluation of a looked-up flag: kill switch and archive, then the user''s and the brand''s '
'overrides and the plan''s entitlement, then Unleash''s rules. May raise; flags._evaluate() catches.';

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
    f flags.flags;
    fe flags.flag_environments;
    ev flags.evaluation;
begin
    select * into f from flags.flags as x where x.key = flag_key;
    select * into fe from flags.flag_environments as x
    where x.flag_key = f.key
        and x.environment = coalesce(_evaluate.environment, (select s.environment from flags.settings as s));
    return flags._evaluate_row(f, fe, flag_key, context, default_value, brand_id, user_id);
exception when others then
    -- evaluation never raises: a broken rule is the caller's default, with the reason
    ev.key := flag_key;
    ev.value := default_value;
    ev.reason := 'ERROR';
    ev.error_code := 'GENERAL';
    ev.detail := sqlerrm;
    ev.enabled := false;
    return ev;
end
$$;

comment on function flags._evaluate(text, jsonb, jsonb, text, uuid, uuid) is
'The one evaluation path: looks the flag up and runs flags._evaluate_row(). Never raises: errors '
'come back as reason ERROR / GENERAL with the caller''s default.';

create or replace function flags._evaluate_all(context jsonb, environment text, brand_id uuid, user_id uuid)
returns setof flags.evaluation
language plpgsql
volatile
rows 200
set search_path = pg_catalog, pg_temp
as $$
declare
    env text := coalesce(environment, (select s.environment from flags.settings as s));
    result flags.evaluation[];
begin
    -- One pass over the flags joined to their environment rows, one subtransaction for the
    -- lot; only if a flag's rules raise does each flag get its own (flags._evaluate()).
    begin
        result := array(
            select e
            from flags.flags as f
            left join flags.flag_environments as fe on f.key = fe.flag_key and fe.environment = env
            cross join lateral flags._evaluate_row(f, fe, f.key, context, null, _evaluate_all.brand_id,
                _evaluate_all.user_id) as e
            where f.archived_at is null
            order by f.key
        );
    exception when others then
        result := array(
            select e
            from flags.flags as f
            cross join lateral flags._evaluate(f.key, context, null, env, _evaluate_all.brand_id,
                _evaluate_all.user_id) as e
            where f.archived_at is null
            order by f.key
        );
    end;
    return query select (r).* from pg_catalog.unnest(result) as r;
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
    uid uuid := (brand.claims() ->> 'sub')::uuid;
begin
    if pg_catalog.length(flag_key) > 200 or pg_catalog.length(environment) > 40 then
        return flags._evaluate(null, context, default_value, null, null, null);
    end if;
    return flags._evaluate(flag_key, context, default_value, environment, flags._caller_brand(context), uid);
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
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((flags.evaluate(flag_key, '{}', null, null)).enabled, false)
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
flags._kind_of(jsonb), flags._payload_value(jsonb), flags._evaluate(text, jsonb, jsonb, text, uuid, uuid),
flags._evaluate_row(flags.flags, flags.flag_environments, text, jsonb, jsonb, uuid, uuid),
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
