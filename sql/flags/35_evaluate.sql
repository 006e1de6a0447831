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

drop function if exists flags._evaluate_row(flags.flags, flags.flag_environments, text, jsonb, jsonb, uuid, uuid);

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

create or replace function flags._broken(message text)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception '%', message using errcode = '22023', hint = 'Fix the flag''s rule (caught by evaluation: ERROR / GENERAL).';
end
$$;

comment on function flags._broken(text) is
'Raises the message of a rule the compiler could not compile, when evaluation reaches it '
'(evaluation catches it: ERROR / GENERAL with the caller''s default, as before compilation).';

create or replace function flags._random_id()
returns text
language sql
stable
as $$
    -- declared stable so that the queries calling it still inline; it is only ever called
    -- for a "random" stickiness, where a new value per call is the point
    select pg_catalog.md5(pg_catalog.random()::text)
$$;

comment on function flags._random_id() is 'A random stickiness id (Unleash''s "random").';

create or replace function flags._now_text()
returns text
language sql
stable
as $$
    select pg_catalog.to_char(pg_catalog.timezone('UTC', brandbase.now()), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

comment on function flags._now_text() is 'currentTime when the context has none: brandbase.now() in ISO 8601, UTC, ms.';

create or replace function flags._pick_variant(
    variants flags.compiled_variants[], total integer, stickiness text, has_overrides boolean, group_id text, ctx jsonb
)
returns flags.compiled_variants
language plpgsql
stable
as $$
-- No SET clause (hot path; see flags._rules): invoker, reached only from the pack's definers,
-- every name qualified.
declare
    v flags.compiled_variants;
    target integer;
begin
    -- Unleash's variant choice: a variant whose override lists the context's value, else the
    -- weighted bucket (seed 86028157 over the total weight) of the stickiness id
    if has_overrides then
        for i in 1 .. pg_catalog.cardinality(variants) loop
            v := variants[i];
            if v.overrides is not null and exists (
                select from pg_catalog.jsonb_array_elements(v.overrides) as ov (o)
                where coalesce(ov.o -> 'values', '[]'::jsonb) ? flags._ctx_value(ctx, ov.o ->> 'contextName', null)
            ) then
                return v;
            end if;
        end loop;
    end if;
    if total <= 0 then
        return null;
    end if;
    target := flags.normalized_value(coalesce(case stickiness
        when 'default' then coalesce(ctx ->> 'userId', ctx ->> 'sessionId', ctx ->> 'remoteAddress')
        when 'random' then null
        else coalesce(ctx ->> stickiness, ctx -> 'properties' ->> stickiness)
    end, flags._random_id()), group_id, total, 86028157);
    for i in 1 .. pg_catalog.cardinality(variants) loop
        if variants[i].cum_weight >= target then
            return variants[i];
        end if;
    end loop;
    return null;
end
$$;

comment on function flags._pick_variant(flags.compiled_variants[], integer, text, boolean, text, jsonb) is
'The variant a compiled variant set picks for the context: an override match, else the weighted '
'bucket of the stickiness id (userId, sessionId, remoteAddress, else random).';

create or replace function flags._rules(
    f flags.flags,
    cf flags.compiled_flags,
    ctx jsonb,
    as_parent boolean,
    out enabled boolean,
    out decided text,
    out split boolean,
    out variant flags.compiled_variants
)
language plpgsql
stable
as $$
-- No SET clause: this is the hot path of every evaluation, and a SET saves and restores a
-- GUC per call (measured: a third of a simple evaluation). It is SECURITY INVOKER, granted
-- to nobody, reached only from the pack's definers (whose search_path is pinned), and
-- names every function with its schema; exempt in the lint like the request hook's helpers.
declare
    s flags.compiled_strategies;
    c flags.compiled_constraints;
    hit boolean;
    ok boolean;
    raw text;
    val text;
    sv text[];
    cmp integer;
    d jsonb;
    p flags.flags;
    pcf flags.compiled_flags;
    parent record;
begin
    enabled := false;
    split := false;
    if cf.flag_key is null or not cf.enabled or f.archived_at is not null then
        decided := 'disabled';
        return;
    end if;
    -- dependencies: one level, evaluated with the same context; a parent with parents is off
    if f.dependencies <> '[]'::jsonb then
        if as_parent then
            decided := 'dependency chain';
            return;
        end if;
        for i in 0 .. pg_catalog.jsonb_array_length(f.dependencies) - 1 loop
            d := f.dependencies -> i;
            select * into p from flags.flags as x where x.key = d ->> 'feature' and x.archived_at is null;
            if not found then
                decided := 'dependency missing';
                return;
            end if;
            select * into pcf from flags.compiled_flags as x where x.flag_key = p.key and x.environment = cf.environment;
            parent := flags._rules(p, pcf, ctx, true);
            if coalesce((d ->> 'enabled')::boolean, true) then
                if not parent.enabled or (
                    coalesce(d -> 'variants', '[]'::jsonb) <> '[]'::jsonb
                    and not (d -> 'variants') ? coalesce((parent.variant).name, 'disabled')
                ) then
                    decided := 'dependency not met';
                    return;
                end if;
            elsif parent.enabled then
                decided := 'dependency not met';
                return;
            end if;
        end loop;
    end if;
    if cf.static then
        enabled := true;
        decided := 'static';
        if cf.fvar_count > 0 then
            if cf.broken is not null then
                perform flags._broken(cf.broken);
            end if;
            variant := flags._pick_variant(cf.variants, cf.fvar_total, cf.fvar_stickiness, cf.fvar_overrides, f.key, ctx);
            split := cf.fvar_count > 1 and (variant).idx is not null;  -- a row is "not null" only if every field is
        end if;
        return;
    end if;
    for i in 1 .. pg_catalog.cardinality(cf.strategies) loop
        s := cf.strategies[i];
        if s.never then
            continue;
        end if;
        if s.broken is not null then
            perform flags._broken(s.broken);
        end if;
        hit := true;
        if not s.plain then
            -- the constraints (the strategy's, then its segments'), typed at compile time
            for j in 1 .. pg_catalog.cardinality(s.constraints) loop
                c := s.constraints[j];
                if c.broken is not null then
                    perform flags._broken(c.broken);
                end if;
                raw := coalesce(ctx ->> c.context_name, ctx -> 'properties' ->> c.context_name);
                val := coalesce(raw, case when c.is_time then flags._now_text() end);
                if c.is_semver then
                    sv := flags._semver(val);
                    cmp := case
                        when sv is null or c.sv is null then null
                        when sv[1]::numeric <> c.sv[1] then pg_catalog.sign(sv[1]::numeric - c.sv[1])
                        when sv[2]::numeric <> c.sv[2] then pg_catalog.sign(sv[2]::numeric - c.sv[2])
                        when sv[3]::numeric <> c.sv[3] then pg_catalog.sign(sv[3]::numeric - c.sv[3])
                        when sv[4] is null and c.sv_pre is null then 0
                        else flags._semver_cmp(val, c.raw)
                    end;
                end if;
                ok := case
                    when c.operator = 'IN' then val = any(c.vals)
                    when c.operator = 'NOT_IN' then val is null or not val = any(c.vals)
                    when c.patterns is not null then
                        case when c.case_insensitive then pg_catalog.lower(val) else val end ~~ any(c.patterns)
                    when c.is_semver then case c.operator
                        when 'SEMVER_EQ' then cmp = 0 when 'SEMVER_GT' then cmp > 0 when 'SEMVER_LT' then cmp < 0
                        when 'SEMVER_GTE' then cmp >= 0 when 'SEMVER_LTE' then cmp <= 0 end
                    when c.operator = 'DATE_AFTER' then
                        case when raw is null and c.is_time then pg_catalog.date_trunc('milliseconds', brandbase.now())
                            else flags._timestamp(val) end > c.ts
                    when c.operator = 'DATE_BEFORE' then
                        case when raw is null and c.is_time then pg_catalog.date_trunc('milliseconds', brandbase.now())
                            else flags._timestamp(val) end < c.ts
                    when pg_catalog.left(c.operator, 4) = 'NUM_' then
                        case when val ~ '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$' then case c.operator
                            when 'NUM_EQ' then val::numeric = c.num when 'NUM_GT' then val::numeric > c.num
                            when 'NUM_GTE' then val::numeric >= c.num when 'NUM_LT' then val::numeric < c.num
                            when 'NUM_LTE' then val::numeric <= c.num end end
                    when c.operator = 'IN_CIDR' then flags._inet(val) <<= any(c.cidrs)
                    when c.operator = 'REGEX' then
                        case when not c.regex_ok then false when c.case_insensitive then val ~* c.raw else val ~ c.raw end
                end;
                -- an operator this version does not know, or a value that does not parse, never matches
                if coalesce(ok, false) = c.inverted then
                    hit := false;
                    exit;
                end if;
            end loop;
            if hit then
                hit := case s.name
                    when 'default' then true
                    when 'userWithId' then coalesce(ctx ->> 'userId' = any(s.user_ids), false)
                    when 'remoteAddress' then coalesce(ctx ->> 'remoteAddress' = any(s.ips_text), false)
                        or coalesce(flags._inet(ctx ->> 'remoteAddress') <<= any(s.ips), false)
                    else coalesce(s.rollout > 0 and flags.normalized_value(case s.stick_mode
                            when 'd' then coalesce(ctx ->> 'userId', ctx ->> 'sessionId', flags._random_id())
                            when 'r' then flags._random_id()
                            when 't' then ctx ->> s.stick_field
                            else coalesce(ctx ->> s.stick_field, ctx -> 'properties' ->> s.stick_field)
                        end, s.group_id, 100, 0) <= s.rollout, false)
                end;
            end if;
        end if;
        if hit then
            enabled := true;
            decided := 'strategy ' || s.name;
            split := s.name not in ('default', 'userWithId', 'remoteAddress') and s.rollout < 100;
            if s.svar_count > 0 then
                variant := flags._pick_variant(s.variants, s.svar_total, s.svar_stickiness, s.svar_overrides,
                    s.group_id, ctx);
                split := split or s.svar_count > 1;
            elsif cf.fvar_count > 0 then
                if cf.broken is not null then
                    perform flags._broken(cf.broken);
                end if;
                variant := flags._pick_variant(cf.variants, cf.fvar_total, cf.fvar_stickiness, cf.fvar_overrides,
                    f.key, ctx);
                split := split or cf.fvar_count > 1;
            end if;
            return;
        end if;
    end loop;
    decided := 'no strategy matched';
end
$$;

comment on function flags._rules(flags.flags, flags.compiled_flags, jsonb, boolean) is
'Unleash''s client evaluation of one compiled flag in one environment: kill switch, dependencies '
'(one level), the compiled strategies in order with their typed constraints, then the strategy''s '
'or the flag''s variants.';

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
    ev.variant := (r.variant).name;
    ev.payload := (r.variant).variant -> 'payload';
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
        ev.value := coalesce((r.variant).payload_value, f.on_value, default_value);
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
flags._kind_of(jsonb), flags._broken(text), flags._random_id(), flags._now_text(),
flags._pick_variant(flags.compiled_variants[], integer, text, boolean, text, jsonb),
flags._rules(flags.flags, flags.compiled_flags, jsonb, boolean),
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
