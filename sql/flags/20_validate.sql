-- flags: checks run before anything is written, so a bad strategy, constraint, variant
-- set or dependency is refused with a stable SQLSTATE and a hint, and nothing is half
-- written. strict = false is the importer's mode: it accepts what Unleash's clients accept
-- (unknown operators and strategies, dependency chains), which then evaluate as off.

create or replace function flags._semver(v text)
returns text[]
language sql
immutable
parallel safe
as $$
    -- {major, minor, patch, prerelease}; null when v is not a semantic version. A boolean
    -- match and split_part: regexp_match with groups costs ten times more. No SET clause,
    -- so it inlines; every name is qualified.
    select case when v operator(pg_catalog.~)
        '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z.-]+)?$'
        then array[
            pg_catalog.split_part(v, '.', 1),
            pg_catalog.split_part(v, '.', 2),
            pg_catalog.split_part(pg_catalog.split_part(pg_catalog.split_part(v, '+', 1), '.', 3), '-', 1),
            case when pg_catalog.strpos(pg_catalog.split_part(v, '+', 1), '-') operator(pg_catalog.>) 0
                then pg_catalog.substr(pg_catalog.split_part(v, '+', 1),
                    pg_catalog.strpos(pg_catalog.split_part(v, '+', 1), '-') operator(pg_catalog.+) 1) end
        ]
    end
$$;

comment on function flags._semver(text) is
'Parses a semantic version (SemVer 2.0) into {major, minor, patch, prerelease}; null if invalid.';

create or replace function flags._semver_cmp(a text, b text)
returns integer
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    pa text[] := flags._semver(a);
    pb text[] := flags._semver(b);
    ia text[];
    ib text[];
    x text;
    y text;
begin
    if pa is null or pb is null then
        return null;
    end if;
    for i in 1 .. 3 loop
        if pa[i]::numeric <> pb[i]::numeric then
            return pg_catalog.sign(pa[i]::numeric - pb[i]::numeric)::integer;
        end if;
    end loop;
    if pa[4] is null and pb[4] is null then
        return 0;
    elsif pa[4] is null then
        return 1;   -- a release ranks above its pre-releases
    elsif pb[4] is null then
        return -1;
    end if;
    ia := pg_catalog.string_to_array(pa[4], '.');
    ib := pg_catalog.string_to_array(pb[4], '.');
    for i in 1 .. greatest(pg_catalog.cardinality(ia), pg_catalog.cardinality(ib)) loop
        x := ia[i];
        y := ib[i];
        if x is null then
            return -1;
        elsif y is null then
            return 1;
        elsif x ~ '^[0-9]+$' and y ~ '^[0-9]+$' then
            if x::numeric <> y::numeric then
                return pg_catalog.sign(x::numeric - y::numeric)::integer;
            end if;
        elsif x ~ '^[0-9]+$' then
            return -1;  -- numeric identifiers rank below alphanumeric ones
        elsif y ~ '^[0-9]+$' then
            return 1;
        elsif x <> y then
            return case when x collate "C" < y collate "C" then -1 else 1 end;
        end if;
    end loop;
    return 0;
end
$$;

comment on function flags._semver_cmp(text, text) is
'Compares two semantic versions with SemVer 2.0 precedence: -1, 0, 1; null if either is invalid.';

create or replace function flags._timestamp(v text)
returns timestamptz
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    if v is null or v !~ '^\d{4}-\d{2}-\d{2}' then
        return null;
    end if;
    return v::timestamptz;
exception when others then
    return null;
end
$$;

comment on function flags._timestamp(text) is 'An ISO 8601 date or timestamp, or null when v is none.';

create or replace function flags._number(v text)
returns numeric
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    if v is null or v !~ '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$' then
        return null;
    end if;
    return v::numeric;
exception when others then
    return null;
end
$$;

comment on function flags._number(text) is 'A decimal number, or null when v is none.';

create or replace function flags._invalid(what text, hint text)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception '%', what using errcode = '22023', hint = hint;
end
$$;

comment on function flags._invalid(text, text) is
'Raises 22023 (invalid argument) with the message and hint.';

create or replace function flags._check_constraints(constraints jsonb, strict boolean)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    c jsonb;
    op text;
    v text;
begin
    if constraints is null then
        return;
    end if;
    if pg_catalog.jsonb_typeof(constraints) <> 'array' then
        perform flags._invalid('constraints must be a JSON array', 'Send [{"contextName": ..., "operator": ..., ...}].');
    end if;
    if pg_catalog.jsonb_array_length(constraints) > 100 then
        perform flags._invalid('too many constraints (at most 100)', 'Use a segment for long lists.');
    end if;
    for c in select e from pg_catalog.jsonb_array_elements(constraints) as e loop
        op := c ->> 'operator';
        if pg_catalog.jsonb_typeof(c) <> 'object' or pg_catalog.jsonb_typeof(c -> 'contextName') is distinct from 'string'
            or pg_catalog.length(c ->> 'contextName') not between 1 and 100 or op is null
        then
            perform flags._invalid(format('malformed constraint %s', pg_catalog.left(c::text, 200)),
                'A constraint is {"contextName": "<1-100 chars>", "operator": "IN", "values": [...]}.');
        end if;
        if c ? 'values' and (pg_catalog.jsonb_typeof(c -> 'values') <> 'array' or pg_catalog.jsonb_array_length(c -> 'values') > 10000) then
            perform flags._invalid(format('constraint on %s: values must be an array of at most 10000 strings', c ->> 'contextName'),
                'Send "values": ["a", "b"].');
        end if;
        if strict and op not in (
            'IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'NUM_EQ', 'NUM_GT', 'NUM_GTE',
            'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT',
            'SEMVER_GTE', 'SEMVER_LTE', 'REGEX', 'IN_CIDR'
        ) then
            perform flags._invalid(format('unknown constraint operator %s', op),
                'Operators: IN, NOT_IN, STR_CONTAINS, STR_STARTS_WITH, STR_ENDS_WITH, NUM_EQ/GT/GTE/LT/LTE, '
                'DATE_AFTER/BEFORE, SEMVER_EQ/GT/LT/GTE/LTE, REGEX, IN_CIDR.');
        end if;
        v := c ->> 'value';
        if not strict then
            continue;  -- the importer: values that do not parse evaluate as no match, as in Unleash
        end if;
        if op like 'SEMVER\_%' and flags._semver(v) is null then
            perform flags._invalid(format('constraint on %s: %s is not a semantic version', c ->> 'contextName', coalesce(v, 'null')),
                'Use MAJOR.MINOR.PATCH with an optional -prerelease, such as 1.2.3 or 2.0.0-beta.1.');
        elsif op like 'DATE\_%' and flags._timestamp(v) is null then
            perform flags._invalid(format('constraint on %s: %s is not a date', c ->> 'contextName', coalesce(v, 'null')),
                'Use ISO 8601, such as 2026-12-03T10:00:00Z.');
        elsif op like 'NUM\_%' and flags._number(v) is null then
            perform flags._invalid(format('constraint on %s: %s is not a number', c ->> 'contextName', coalesce(v, 'null')),
                'Use a decimal number, such as 42 or 3.5.');
        elsif op = 'REGEX' then
            begin
                perform '' ~ v;
            exception when others then
                perform flags._invalid(format('constraint on %s: %s is not a valid regular expression',
                    c ->> 'contextName', coalesce(v, 'null')), 'Use a POSIX regular expression.');
            end;
        end if;
    end loop;
end
$$;

comment on function flags._check_constraints(jsonb, boolean) is
'Refuses (22023) malformed constraints and invalid semver, date, number and regex values.';

create or replace function flags._check_variants(variants jsonb, kind text, strict boolean)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    n_variable integer;
    fixed_sum integer;
    share integer;
    remainder integer;
    v jsonb;
    result jsonb := '[]'::jsonb;
    i integer := 0;
    w integer;
    ptype text;
begin
    if variants is null or variants = '[]' then
        return '[]'::jsonb;
    end if;
    if pg_catalog.jsonb_typeof(variants) <> 'array' or pg_catalog.jsonb_array_length(variants) > 100 then
        perform flags._invalid('variants must be a JSON array of at most 100 variants',
            'Send [{"name": "blue", "weight": 500, "payload": {"type": "string", "value": "b"}}].');
    end if;
    if exists (
        select from pg_catalog.jsonb_array_elements(variants) as e
        where pg_catalog.jsonb_typeof(e) <> 'object' or pg_catalog.jsonb_typeof(e -> 'name') is distinct from 'string'
            or pg_catalog.length(e ->> 'name') not between 1 and 100
            or (e ? 'weight' and flags._number(e ->> 'weight') is null)
            or (e ? 'weightType' and e ->> 'weightType' not in ('fix', 'variable'))
    ) then
        perform flags._invalid('malformed variant',
            'A variant has a name (1-100 chars), an optional numeric weight and weightType fix|variable.');
    end if;
    if (select count(distinct e ->> 'name') from pg_catalog.jsonb_array_elements(variants) as e)
        <> pg_catalog.jsonb_array_length(variants) then
        perform flags._invalid('variant names must be unique', 'Rename the duplicate variant.');
    end if;
    for v in select e from pg_catalog.jsonb_array_elements(variants) as e loop
        if v ? 'payload' then
            ptype := v -> 'payload' ->> 'type';
            if ptype not in ('string', 'json', 'csv', 'number') or pg_catalog.jsonb_typeof(v -> 'payload' -> 'value') <> 'string' then
                perform flags._invalid(format('variant %s: malformed payload', v ->> 'name'),
                    'A payload is {"type": "string|json|csv|number", "value": "<text>"}.');
            end if;
            if ptype = 'json' then
                begin
                    perform (v -> 'payload' ->> 'value')::jsonb;
                exception when others then
                    perform flags._invalid(format('variant %s: payload is not JSON', v ->> 'name'),
                        'Send the JSON document as a string in payload.value.');
                end;
            elsif ptype = 'number' and flags._number(v -> 'payload' ->> 'value') is null then
                perform flags._invalid(format('variant %s: payload is not a number', v ->> 'name'), 'Send a decimal number.');
            end if;
            if (kind = 'string' and ptype not in ('string', 'csv')) or (kind = 'number' and ptype <> 'number')
                or (kind = 'json' and ptype <> 'json') then
                perform flags._invalid(format('variant %s: a %s payload in a %s flag', v ->> 'name', ptype, kind),
                    'A flag''s variants carry payloads of the flag''s kind.');
            end if;
        elsif kind <> 'boolean' then
            perform flags._invalid(format('variant %s: a %s flag''s variants need a payload', v ->> 'name', kind),
                'Add "payload": {"type": ..., "value": ...}.');
        end if;
        if v ? 'overrides' and pg_catalog.jsonb_typeof(v -> 'overrides') <> 'array' then
            perform flags._invalid(format('variant %s: overrides must be an array', v ->> 'name'),
                'Send "overrides": [{"contextName": "userId", "values": ["1"]}].');
        end if;
    end loop;
    if not strict then
        return variants;  -- the client API's variants: weights already resolved
    end if;
    -- Unleash's weights: 1000 in all; "fix" variants keep theirs, "variable" ones (the
    -- default) share what is left equally, the first ones taking the remainder.
    select (count(*) filter (where coalesce(e ->> 'weightType', 'variable') = 'variable'))::integer,
        coalesce(sum((e ->> 'weight')::numeric) filter (where e ->> 'weightType' = 'fix'), 0)::integer
    into n_variable, fixed_sum
    from pg_catalog.jsonb_array_elements(variants) as e;
    if fixed_sum > 1000 or (n_variable = 0 and fixed_sum <> 1000) then
        raise exception 'variant weights sum to % of 1000', fixed_sum
            using errcode = '22023',
                  hint = 'Fixed weights ("weightType": "fix") must sum to 1000, or leave room for a variable variant.';
    end if;
    share := case when n_variable > 0 then (1000 - fixed_sum) / n_variable else 0 end;
    remainder := case when n_variable > 0 then (1000 - fixed_sum) % n_variable else 0 end;
    for v in select e from pg_catalog.jsonb_array_elements(variants) as e loop
        if coalesce(v ->> 'weightType', 'variable') = 'variable' then
            w := share + case when i < remainder then 1 else 0 end;
            i := i + 1;
            v := v || jsonb_build_object('weight', w, 'weightType', 'variable');
        end if;
        result := result || jsonb_build_array(v);
    end loop;
    return result;
end
$$;

comment on function flags._check_variants(jsonb, text, boolean) is
'Refuses (22023) malformed variants and payloads of the wrong kind; strict: resolves Unleash''s '
'fix/variable weights to a total of 1000 and refuses fixed weights that do not fit.';

create or replace function flags._check_strategies(strategies jsonb, kind text, strict boolean)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    s jsonb;
    result jsonb := '[]'::jsonb;
    ip text;
begin
    if strategies is null then
        return '[]'::jsonb;
    end if;
    if pg_catalog.jsonb_typeof(strategies) <> 'array' or pg_catalog.jsonb_array_length(strategies) > 100 then
        perform flags._invalid('strategies must be a JSON array of at most 100 strategies',
            'Send [{"name": "flexibleRollout", "parameters": {"rollout": "50"}}].');
    end if;
    for s in select e from pg_catalog.jsonb_array_elements(strategies) as e loop
        if pg_catalog.jsonb_typeof(s) <> 'object' or pg_catalog.jsonb_typeof(s -> 'name') is distinct from 'string' then
            perform flags._invalid(format('malformed strategy %s', pg_catalog.left(s::text, 200)),
                'A strategy is {"name": ..., "parameters": {...}, "constraints": [...]}.');
        end if;
        if strict and s ->> 'name' not in (
            'default', 'userWithId', 'flexibleRollout', 'remoteAddress',
            'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom'
        ) then
            perform flags._invalid(format('unknown strategy %s', s ->> 'name'),
                'Strategies: default, userWithId, flexibleRollout, remoteAddress (and the legacy gradualRollout*).');
        end if;
        if s ? 'parameters' and pg_catalog.jsonb_typeof(s -> 'parameters') <> 'object' then
            perform flags._invalid(format('strategy %s: parameters must be an object', s ->> 'name'), 'Send "parameters": {}.');
        end if;
        if strict and s ->> 'name' = 'flexibleRollout'
            and coalesce(flags._number(s -> 'parameters' ->> 'rollout'), -1) not between 0 and 100 then
            perform flags._invalid('flexibleRollout: rollout must be a number from 0 to 100', 'Send "rollout": "25".');
        end if;
        if strict and s ->> 'name' = 'remoteAddress' then
            for ip in select pg_catalog.btrim(x) from pg_catalog.unnest(
                pg_catalog.string_to_array(coalesce(s -> 'parameters' ->> 'IPs', ''), ',')) as x loop
                begin
                    perform ip::inet;
                exception when others then
                    perform flags._invalid(format('remoteAddress: %s is not an IP address or CIDR', ip),
                        'Send "IPs": "10.0.0.1, 192.168.0.0/16".');
                end;
            end loop;
        end if;
        perform flags._check_constraints(s -> 'constraints', strict);
        if s ? 'segments' and (pg_catalog.jsonb_typeof(s -> 'segments') <> 'array' or exists (
            select from pg_catalog.jsonb_array_elements(s -> 'segments') as g where pg_catalog.jsonb_typeof(g) <> 'number'
        )) then
            perform flags._invalid('segments must be an array of segment ids', 'Send "segments": [1, 2].');
        end if;
        if strict and exists (
            select from pg_catalog.jsonb_array_elements(coalesce(s -> 'segments', '[]')) as g
            where not exists (select from flags.segments as sg where sg.id = (g #>> '{}')::integer)
        ) then
            perform flags._invalid('unknown segment in strategy', 'Create the segment first (flags.set_segment).');
        end if;
        if s ? 'variants' then
            s := s || jsonb_build_object('variants', flags._check_variants(s -> 'variants', kind, strict));
        end if;
        result := result || jsonb_build_array(s);
    end loop;
    return result;
end
$$;

comment on function flags._check_strategies(jsonb, text, boolean) is
'Refuses (22023) malformed strategies, constraints, unknown segments and bad strategy variants; '
'returns the strategies with their variant weights resolved.';

create or replace function flags._check_dependencies(flag_key text, dependencies jsonb)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    d jsonb;
begin
    if dependencies is null or dependencies = '[]' then
        return;
    end if;
    if pg_catalog.jsonb_typeof(dependencies) <> 'array' or pg_catalog.jsonb_array_length(dependencies) > 20 then
        perform flags._invalid('dependencies must be a JSON array of at most 20 parents',
            'Send [{"feature": "parent", "enabled": true, "variants": ["blue"]}].');
    end if;
    for d in select e from pg_catalog.jsonb_array_elements(dependencies) as e loop
        if pg_catalog.jsonb_typeof(d -> 'feature') is distinct from 'string'
            or (d ? 'enabled' and pg_catalog.jsonb_typeof(d -> 'enabled') <> 'boolean')
            or (d ? 'variants' and pg_catalog.jsonb_typeof(d -> 'variants') <> 'array') then
            perform flags._invalid('malformed dependency', 'A dependency is {"feature": "<key>", "enabled": true, "variants": [...]}.');
        end if;
        if d ->> 'feature' = flag_key or exists (
            select from flags.flags as p
            where p.key = d ->> 'feature' and p.dependencies <> '[]'
        ) or exists (
            select from flags.flags as c
            where c.dependencies @> jsonb_build_array(jsonb_build_object('feature', flag_key))
        ) then
            raise exception 'dependency of % on % would make a cycle or a chain', flag_key, d ->> 'feature'
                using errcode = '23514',
                      hint = 'A flag depends only on flags without dependencies of their own, and a parent has no parents.';
        end if;
        if not exists (select from flags.flags as p where p.key = d ->> 'feature') then
            raise exception 'flag % not found', d ->> 'feature'
                using errcode = 'PT404', hint = 'Create the parent flag first.';
        end if;
    end loop;
end
$$;

comment on function flags._check_dependencies(text, jsonb) is
'Refuses malformed dependencies (22023), unknown parents (PT404), and cycles or chains (23514): '
'Unleash evaluates one level of dependencies.';

revoke all on function
flags._semver(text), flags._semver_cmp(text, text), flags._timestamp(text), flags._number(text),
flags._invalid(text, text), flags._check_constraints(jsonb, boolean),
flags._check_variants(jsonb, text, boolean),
flags._check_strategies(jsonb, text, boolean), flags._check_dependencies(text, jsonb)
from public;
