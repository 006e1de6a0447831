-- flags: Unleash's client algorithm. flags._rules() evaluates one flag in one environment
-- (kill switch, dependencies, strategies with constraints and segments, variants);
-- sql/flags/35_evaluate.sql wraps it in the brand layer and OpenFeature's shape.
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

create or replace function flags._strategy_ok(
    s jsonb, flag_key text, ctx jsonb, now_text text, out ok boolean, out split boolean
)
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

revoke all on function
flags._ctx_value(jsonb, text, text), flags._inet(text), flags._constraints_ok(jsonb, jsonb, text),
flags._pick_variant(jsonb, text, jsonb, text, text), flags._strategy_ok(jsonb, text, jsonb, text),
flags._rules(flags.flags, flags.flag_environments, jsonb, boolean)
from public;
