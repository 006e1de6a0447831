-- flags: the one evaluation path. flags._rules() is Unleash's client algorithm (kill switch,
-- dependencies, strategies with constraints and segments, variants); flags._evaluate() adds
-- the brand layer (per-user and per-brand overrides, plan entitlements) and OpenFeature's
-- shape. flags.evaluate(), evaluate_all(), enabled() and evaluate_as() all end in it.
-- The hot path is a handful of PL/pgSQL calls: context lookups and stickiness are inline
-- expressions, and the small SQL helpers carry no SET clause so the planner inlines them
-- (a SET clause on a SQL function costs more than its body; see docs/flags.md).

create or replace function flags._ctx_value(ctx jsonb, field text, now_text text)
returns text
language sql
immutable
parallel safe
as $$
    -- Unleash's lookup: a top-level context field first, then properties; currentTime
    -- defaults to now_text (the clock, read once per evaluation).
    select coalesce(
        ctx operator(pg_catalog.->>) field,
        (ctx operator(pg_catalog.->) 'properties') operator(pg_catalog.->>) field,
        case when field operator(pg_catalog.=) 'currentTime' then now_text end
    )
$$;

comment on function flags._ctx_value(jsonb, text, text) is
'A context field as Unleash resolves it: top level, then properties; currentTime defaults to now_text.';

create or replace function flags._inet(v text)
returns inet
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return v::inet;
exception when others then
    return null;
end
$$;

comment on function flags._inet(text) is 'An IP address or CIDR range, or null when v is none.';

create or replace function flags._constraints_ok(constraints jsonb, ctx jsonb, now_text text)
returns boolean
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    c jsonb;
    op text;
    val text;
    ok boolean;
    ci boolean;
    cmp integer;
    i integer;
    j integer;
    x text;
    number_re constant text := '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$';
begin
    if constraints is null or constraints = '[]' then
        return true;
    end if;
    -- index loops, not FOR ... IN SELECT: a plain expression costs far less than a query
    for i in 0 .. pg_catalog.jsonb_array_length(constraints) - 1 loop
        c := constraints -> i;
        op := c ->> 'operator';
        val := coalesce(ctx ->> (c ->> 'contextName'), ctx -> 'properties' ->> (c ->> 'contextName'),
            case when c ->> 'contextName' = 'currentTime' then coalesce(now_text, pg_catalog.to_char(
                brandbase.now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) end);
        ok := null;
        if op = 'IN' then
            ok := val is not null and coalesce(c -> 'values', '[]') ? val;
        elsif op = 'NOT_IN' then
            ok := val is null or not coalesce(c -> 'values', '[]') ? val;
        elsif op in ('STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH') then
            ci := coalesce((c ->> 'caseInsensitive')::boolean, false);
            if ci then
                val := pg_catalog.lower(val);
            end if;
            ok := false;
            if val is not null then
                for j in 0 .. coalesce(pg_catalog.jsonb_array_length(c -> 'values'), 0) - 1 loop
                    x := c -> 'values' ->> j;
                    if ci then
                        x := pg_catalog.lower(x);
                    end if;
                    ok := case op
                        when 'STR_CONTAINS' then pg_catalog.strpos(val, x) > 0
                        when 'STR_STARTS_WITH' then pg_catalog.starts_with(val, x)
                        else pg_catalog.right(val, pg_catalog.length(x)) = x
                    end;
                    exit when ok;
                end loop;
            end if;
        elsif op like 'NUM\_%' then
            if val ~ number_re and c ->> 'value' ~ number_re then
                cmp := pg_catalog.sign(val::numeric - (c ->> 'value')::numeric);
                ok := case op
                    when 'NUM_EQ' then cmp = 0 when 'NUM_GT' then cmp > 0 when 'NUM_GTE' then cmp >= 0
                    when 'NUM_LT' then cmp < 0 when 'NUM_LTE' then cmp <= 0
                end;
            end if;
        elsif op in ('DATE_AFTER', 'DATE_BEFORE') then
            if val ~ '^\d{4}-\d{2}-\d{2}' and c ->> 'value' ~ '^\d{4}-\d{2}-\d{2}' then
                begin
                    ok := case op
                        when 'DATE_AFTER' then val::timestamptz > (c ->> 'value')::timestamptz
                        else val::timestamptz < (c ->> 'value')::timestamptz
                    end;
                exception when others then
                    ok := false;  -- 2026-13-45 looks like a date and is none
                end;
            end if;
        elsif op like 'SEMVER\_%' then
            cmp := flags._semver_cmp(val, c ->> 'value');
            ok := case op
                when 'SEMVER_EQ' then cmp = 0 when 'SEMVER_GT' then cmp > 0 when 'SEMVER_LT' then cmp < 0
                when 'SEMVER_GTE' then cmp >= 0 when 'SEMVER_LTE' then cmp <= 0
            end;
        elsif op = 'IN_CIDR' then
            ok := val is not null and flags._inet(val) is not null and exists (
                select from pg_catalog.jsonb_array_elements_text(coalesce(c -> 'values', '[]')) as v (x)
                where flags._inet(v.x) is not null and flags._inet(val) <<= flags._inet(v.x)
            );
        elsif op = 'REGEX' then
            begin
                ok := case when coalesce((c ->> 'caseInsensitive')::boolean, false) then val ~* (c ->> 'value')
                    else val ~ (c ->> 'value') end;
            exception when others then
                ok := false;
            end;
        end if;
        -- an operator this version does not know, or a value that does not parse, never matches
        ok := coalesce(ok, false);
        if coalesce((c ->> 'inverted')::boolean, false) then
            ok := not ok;
        end if;
        if not ok then
            return false;
        end if;
    end loop;
    return true;
end
$$;

comment on function flags._constraints_ok(jsonb, jsonb, text) is
'Whether the context satisfies every constraint (Unleash operators, inverted, caseInsensitive); '
'values that do not parse never match. now_text: currentTime when the context has none.';

create or replace function flags._pick_variant(
    variants jsonb,
    group_id text,
    ctx jsonb,
    stickiness text,
    now_text text
)
returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v jsonb;
    total integer := 0;
    target integer;
    counter integer := 0;
    id text;
    stick text;
    i integer;
begin
    if variants is null or variants = '[]' then
        return null;
    end if;
    for i in 0 .. pg_catalog.jsonb_array_length(variants) - 1 loop
        v := variants -> i;
        -- overrides first: a context value listed for a variant selects it
        if v ? 'overrides' and exists (
            select from pg_catalog.jsonb_array_elements(v -> 'overrides') as o
            where coalesce(o -> 'values', '[]') ? flags._ctx_value(ctx, o ->> 'contextName', now_text)
        ) then
            return v;
        end if;
        total := total + coalesce((v ->> 'weight')::numeric, 0)::integer;
    end loop;
    if total <= 0 then
        return null;
    end if;
    -- the first variant's stickiness, else the strategy's; default: userId, sessionId,
    -- remoteAddress, else random
    stick := coalesce(variants -> 0 ->> 'stickiness', stickiness, 'default');
    id := case when stick = 'default' then coalesce(ctx ->> 'userId', ctx ->> 'sessionId', ctx ->> 'remoteAddress')
        when stick = 'random' then null
        else coalesce(ctx ->> stick, ctx -> 'properties' ->> stick) end;
    if id is null then
        id := pg_catalog.md5(pg_catalog.random()::text);
    end if;
    target := flags.normalized_value(id, group_id, total, 86028157);
    for i in 0 .. pg_catalog.jsonb_array_length(variants) - 1 loop
        v := variants -> i;
        counter := counter + coalesce((v ->> 'weight')::numeric, 0)::integer;
        if counter >= target then
            return v;
        end if;
    end loop;
    return null;
end
$$;

comment on function flags._pick_variant(jsonb, text, jsonb, text, text) is
'Unleash''s variant choice: an override match, else the weighted bucket of the stickiness id '
'(normalised murmur3 with seed 86028157 over the total weight) in group group_id. stickiness: '
'what strategy variants inherit from their strategy when the first variant names none.';

create or replace function flags._strategy_ok(s jsonb, flag_key text, ctx jsonb, now_text text, out ok boolean, out split boolean)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    p jsonb := coalesce(s -> 'parameters', '{}');
    pct numeric;
    id text;
    stick text;
    addr inet;
    rng text;
begin
    split := false;
    ok := false;
    if not flags._constraints_ok(s -> 'constraints', ctx, now_text) then
        return;
    end if;
    if s ? 'segments' and exists (
        select from pg_catalog.jsonb_array_elements(s -> 'segments') as g
        left join flags.segments as sg on sg.id = (g #>> '{}')::integer
        where sg.id is null or not flags._constraints_ok(sg.constraints, ctx, now_text)
    ) then
        return;
    end if;
    case s ->> 'name'
        when 'default' then
            ok := true;
        when 'userWithId' then
            ok := ctx ->> 'userId' = any(pg_catalog.regexp_split_to_array(pg_catalog.btrim(p ->> 'userIds'), '\s*,\s*'));
        when 'flexibleRollout', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom' then
            pct := case when coalesce(p ->> 'rollout', p ->> 'percentage') ~ '^\s*\d+(\.\d+)?\s*$'
                then coalesce(p ->> 'rollout', p ->> 'percentage')::numeric end;
            stick := coalesce(p ->> 'stickiness', 'default');
            id := case s ->> 'name'
                when 'gradualRolloutUserId' then ctx ->> 'userId'
                when 'gradualRolloutSessionId' then ctx ->> 'sessionId'
                when 'gradualRolloutRandom' then pg_catalog.md5(pg_catalog.random()::text)
                else case
                    when stick = 'default' then coalesce(ctx ->> 'userId', ctx ->> 'sessionId',
                        pg_catalog.md5(pg_catalog.random()::text))
                    when stick = 'random' then pg_catalog.md5(pg_catalog.random()::text)
                    else coalesce(ctx ->> stick, ctx -> 'properties' ->> stick)
                end
            end;
            ok := pct > 0 and id is not null
                and flags.normalized_value(id, coalesce(p ->> 'groupId', flag_key), 100, 0) <= pct;
            split := pct < 100;
        when 'remoteAddress' then
            addr := flags._inet(ctx ->> 'remoteAddress');
            for rng in select x from pg_catalog.regexp_split_to_table(pg_catalog.btrim(coalesce(p ->> 'IPs', '')), '\s*,\s*') as x loop
                if rng = ctx ->> 'remoteAddress' then
                    ok := true;
                elsif addr is not null and flags._inet(rng) is not null then
                    ok := addr <<= flags._inet(rng);
                end if;
                exit when ok;
            end loop;
        else
            ok := false;  -- a strategy this version does not know is off
    end case;
    ok := coalesce(ok, false);
end
$$;

comment on function flags._strategy_ok(jsonb, text, jsonb, text) is
'Whether one Unleash strategy (with its constraints and segments) is on for the context; split: '
'a percentage below 100 decided it.';

create or replace function flags._rules(
    f flags.flags,
    fe flags.flag_environments,
    ctx jsonb,
    as_parent boolean,
    out enabled boolean,
    out variant jsonb,
    out decided text,
    out split boolean
)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    d jsonb;
    p flags.flags;
    pe flags.flag_environments;
    parent record;
    s jsonb;
    r record;
    hit boolean;
    hit_split boolean;
    i integer;
    now_text text;  -- currentTime is read from the clock only by a constraint that needs it
begin
    enabled := false;
    split := false;
    if fe.flag_key is null or not fe.enabled or f.archived_at is not null then
        decided := 'disabled';
        return;
    end if;
    -- dependencies: one level, evaluated with the same context
    for i in 0 .. pg_catalog.jsonb_array_length(f.dependencies) - 1 loop
        d := f.dependencies -> i;
        if as_parent then
            decided := 'dependency chain';  -- a parent with parents: Unleash says off
            return;
        end if;
        select * into p from flags.flags as x where x.key = d ->> 'feature' and x.archived_at is null;
        if not found then
            decided := 'dependency missing';
            return;
        end if;
        select * into pe from flags.flag_environments as x
        where x.flag_key = p.key and x.environment = fe.environment;
        parent := flags._rules(p, pe, ctx, true);
        if coalesce((d ->> 'enabled')::boolean, true) then
            if not parent.enabled or (
                coalesce(d -> 'variants', '[]') <> '[]'
                and not (d -> 'variants') ? coalesce(parent.variant ->> 'name', 'disabled')
            ) then
                decided := 'dependency not met';
                return;
            end if;
        elsif parent.enabled then
            decided := 'dependency not met';
            return;
        end if;
    end loop;
    if fe.strategies = '[]' then
        enabled := true;
        decided := 'static';
        if f.variants <> '[]' then
            variant := flags._pick_variant(f.variants, f.key, ctx, null, now_text);
            split := pg_catalog.jsonb_array_length(f.variants) > 1 and variant is not null;
        end if;
        return;
    end if;
    for i in 0 .. pg_catalog.jsonb_array_length(fe.strategies) - 1 loop
        s := fe.strategies -> i;
        if s ->> 'name' = 'default' and coalesce(s -> 'constraints', '[]') = '[]' and not s ? 'segments' then
            hit := true;  -- the plain default strategy: on, no call needed
            hit_split := false;
        else
            r := flags._strategy_ok(s, f.key, ctx, now_text);
            hit := r.ok;
            hit_split := r.split;
        end if;
        if hit then
            enabled := true;
            decided := 'strategy ' || (s ->> 'name');
            split := hit_split;
            if coalesce(s -> 'variants', '[]') <> '[]' then
                variant := flags._pick_variant(s -> 'variants', coalesce(s -> 'parameters' ->> 'groupId', f.key), ctx,
                    s -> 'parameters' ->> 'stickiness', now_text);
                split := split or pg_catalog.jsonb_array_length(s -> 'variants') > 1;
            elsif f.variants <> '[]' then
                variant := flags._pick_variant(f.variants, f.key, ctx, null, now_text);
                split := split or pg_catalog.jsonb_array_length(f.variants) > 1;
            end if;
            return;
        end if;
    end loop;
    decided := 'no strategy matched';
end
$$;

comment on function flags._rules(flags.flags, flags.flag_environments, jsonb, boolean) is
'Unleash''s client evaluation of one flag in one environment: kill switch, dependencies (one '
'level), strategies in order, then the strategy''s or the flag''s variants.';

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

comment on function flags._payload_value(jsonb) is 'A variant payload''s value as JSON (number, parsed json, or string).';

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
    ctx jsonb := context;
    r record;
    forced jsonb;
    forced_by text;
begin
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
    select * into f from flags.flags as x where x.key = flag_key;
    if not found then
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
    select * into fe from flags.flag_environments as x
    where x.flag_key = f.key and x.environment = coalesce(_evaluate.environment, (select s.environment from flags.settings as s));
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
        where o.brand_id = _evaluate.brand_id and o.flag_key = f.key
            and o.user_id in ('00000000-0000-0000-0000-000000000000', coalesce(_evaluate.user_id, '00000000-0000-0000-0000-000000000000'))
            and (o.expires_at is null or o.expires_at > brandbase.now())
        order by o.user_id = '00000000-0000-0000-0000-000000000000'
        limit 1;
        if forced is null then
            select e.value, 'plan entitlement' into forced, forced_by
            from brand.brands as b
            inner join flags.entitlements as e on e.plan = b.plan and e.flag_key = f.key
            where b.id = _evaluate.brand_id;
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
exception when others then
    -- evaluation never raises: a broken rule is the caller's default, with the reason
    ev.value := default_value;
    ev.reason := 'ERROR';
    ev.error_code := 'GENERAL';
    ev.detail := sqlerrm;
    ev.enabled := false;
    return ev;
end
$$;

comment on function flags._evaluate(text, jsonb, jsonb, text, uuid, uuid) is
'The one evaluation path: kill switch and archive, then the user''s and the brand''s overrides and '
'the plan''s entitlement, then Unleash''s rules. Never raises: errors come back as reason ERROR.';

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
    return query
    select e.*
    from flags.flags as f
    cross join lateral flags._evaluate(f.key, context, null, environment, b, uid) as e
    where f.archived_at is null
    order by f.key;
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
    select e.*
    from flags.flags as f
    cross join lateral flags._evaluate(f.key, context, null, environment, evaluate_all_as.brand_id, evaluate_all_as.user_id) as e
    where f.archived_at is null
    order by f.key
$$;

comment on function flags.evaluate_all_as(jsonb, text, uuid, uuid) is
'Trusted backends only (owner, service_role): every unarchived flag for a given brand and user.';

revoke all on function
flags._ctx_value(jsonb, text, text), flags._inet(text), flags._constraints_ok(jsonb, jsonb, text),
flags._pick_variant(jsonb, text, jsonb, text, text), flags._strategy_ok(jsonb, text, jsonb, text),
flags._rules(flags.flags, flags.flag_environments, jsonb, boolean), flags._kind_of(jsonb),
flags._payload_value(jsonb), flags._evaluate(text, jsonb, jsonb, text, uuid, uuid), flags._request_brand(),
flags._caller_brand(jsonb), flags.evaluate(text, jsonb, jsonb, text), flags.evaluate_all(jsonb, text),
flags.enabled(text), flags.evaluate_as(text, jsonb, jsonb, text, uuid, uuid),
flags.evaluate_all_as(jsonb, text, uuid, uuid)
from public;

grant execute on function
flags.evaluate(text, jsonb, jsonb, text), flags.evaluate_all(jsonb, text), flags.enabled(text)
to anon, authenticated, service_role;
grant execute on function
flags.evaluate_as(text, jsonb, jsonb, text, uuid, uuid), flags.evaluate_all_as(jsonb, text, uuid, uuid)
to service_role;
