-- flags: Unleash's client algorithm over the compiled form (migrations/0030, compiled on
-- write by sql/flags/32_compile.sql): flags._rules() evaluates one compiled flag in one
-- environment (kill switch, dependencies, strategies with their typed constraints, variants);
-- sql/flags/35_evaluate.sql wraps it in the brand layer and OpenFeature's shape. The
-- PL/pgSQL walker over the stored JSON that was here before is dropped below.

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

drop function if exists flags._rules(flags.flags, flags.flag_environments, jsonb, boolean);
drop function if exists flags._strategy_ok(jsonb, text, jsonb, text);
drop function if exists flags._pick_variant(jsonb, text, jsonb, text, text);
drop function if exists flags._constraints_ok(jsonb, jsonb, text);

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

comment on function flags._now_text() is
'currentTime when the context has none: brandbase.now() in ISO 8601, UTC, ms.';

create or replace function flags._pick_variant(
    variants flags.compiled_variants[],
    total integer,
    stickiness text,
    has_overrides boolean,
    group_id text,
    ctx jsonb
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
    out variant jsonb,
    out payload_value jsonb
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
    ts timestamptz;
    num numeric;
    d jsonb;
    p flags.flags;
    pcf flags.compiled_flags;
    parent record;
    picked flags.compiled_variants;
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
    end if;
    if cf.static then
        enabled := true;
        decided := 'static';
        if cf.fvar_count > 0 then
            if cf.broken is not null then
                perform flags._broken(cf.broken);
            end if;
            picked := flags._pick_variant(cf.variants, cf.fvar_total, cf.fvar_stickiness, cf.fvar_overrides, f.key, ctx);
            variant := picked.variant;
            payload_value := picked.payload_value;
            split := cf.fvar_count > 1 and variant is not null;
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
                -- one branch per operator: PL/pgSQL prepares each expression once per
                -- transaction, so small branches cost less than one CASE over every operator
                ok := null;
                if c.operator = 'IN' then
                    ok := val = any(c.vals);
                elsif c.operator = 'NOT_IN' then
                    ok := val is null or not val = any(c.vals);
                elsif c.patterns is not null then
                    if c.case_insensitive then
                        ok := pg_catalog.lower(val) ~~ any(c.patterns);
                    else
                        ok := val ~~ any(c.patterns);
                    end if;
                elsif c.is_semver then
                    sv := flags._semver(val);
                    if sv is not null and c.sv is not null then
                        cmp := case
                            when sv[1]::numeric <> c.sv[1] then pg_catalog.sign(sv[1]::numeric - c.sv[1])
                            when sv[2]::numeric <> c.sv[2] then pg_catalog.sign(sv[2]::numeric - c.sv[2])
                            when sv[3]::numeric <> c.sv[3] then pg_catalog.sign(sv[3]::numeric - c.sv[3])
                            when sv[4] is null and c.sv_pre is null then 0
                            else flags._semver_cmp(val, c.raw)
                        end;
                        ok := case c.operator
                            when 'SEMVER_EQ' then cmp = 0 when 'SEMVER_GT' then cmp > 0 when 'SEMVER_LT' then cmp < 0
                            when 'SEMVER_GTE' then cmp >= 0 when 'SEMVER_LTE' then cmp <= 0 end;
                    end if;
                elsif c.operator in ('DATE_AFTER', 'DATE_BEFORE') then
                    if raw is null and c.is_time then
                        ts := pg_catalog.date_trunc('milliseconds', brandbase.now());
                    else
                        ts := flags._timestamp(val);
                    end if;
                    ok := case when c.operator = 'DATE_AFTER' then ts > c.ts else ts < c.ts end;
                elsif pg_catalog.left(c.operator, 4) = 'NUM_' then
                    if val ~ '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$' then
                        num := val::numeric;
                        ok := case c.operator
                            when 'NUM_EQ' then num = c.num when 'NUM_GT' then num > c.num
                            when 'NUM_GTE' then num >= c.num when 'NUM_LT' then num < c.num
                            when 'NUM_LTE' then num <= c.num end;
                    end if;
                elsif c.operator = 'IN_CIDR' then
                    ok := flags._inet(val) <<= any(c.cidrs);
                elsif c.operator = 'REGEX' and c.regex_ok then
                    if c.case_insensitive then
                        ok := val ~* c.raw;
                    else
                        ok := val ~ c.raw;
                    end if;
                end if;
                -- an operator this version does not know, or a value that does not parse, never matches
                if coalesce(ok, false) = c.inverted then
                    hit := false;
                    exit;
                end if;
            end loop;
            if hit then
                if s.name = 'userWithId' then
                    hit := coalesce(ctx ->> 'userId' = any(s.user_ids), false);
                elsif s.name = 'remoteAddress' then
                    hit := coalesce(ctx ->> 'remoteAddress' = any(s.ips_text), false)
                        or coalesce(flags._inet(ctx ->> 'remoteAddress') <<= any(s.ips), false);
                elsif s.name <> 'default' then
                    hit := coalesce(s.rollout > 0 and flags.normalized_value(case s.stick_mode
                            when 'd' then coalesce(ctx ->> 'userId', ctx ->> 'sessionId', flags._random_id())
                            when 'r' then flags._random_id()
                            when 't' then ctx ->> s.stick_field
                            else coalesce(ctx ->> s.stick_field, ctx -> 'properties' ->> s.stick_field)
                        end, s.group_id, 100, 0) <= s.rollout, false);
                end if;
            end if;
        end if;
        if hit then
            enabled := true;
            decided := 'strategy ' || s.name;
            split := s.name not in ('default', 'userWithId', 'remoteAddress') and s.rollout < 100;
            if s.svar_count > 0 then
                picked := flags._pick_variant(s.variants, s.svar_total, s.svar_stickiness, s.svar_overrides,
                    s.group_id, ctx);
                variant := picked.variant;
                payload_value := picked.payload_value;
                split := split or s.svar_count > 1;
            elsif cf.fvar_count > 0 then
                if cf.broken is not null then
                    perform flags._broken(cf.broken);
                end if;
                picked := flags._pick_variant(cf.variants, cf.fvar_total, cf.fvar_stickiness, cf.fvar_overrides,
                    f.key, ctx);
                variant := picked.variant;
                payload_value := picked.payload_value;
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

revoke all on function
flags._ctx_value(jsonb, text, text), flags._inet(text), flags._broken(text), flags._random_id(),
flags._now_text(),
flags._pick_variant(flags.compiled_variants[], integer, text, boolean, text, jsonb),
flags._rules(flags.flags, flags.compiled_flags, jsonb, boolean)
from public;
