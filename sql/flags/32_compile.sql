-- flags: the compiler. On every write to a flag, its environments or a segment, the
-- triggers below compile each affected flag x environment from its Unleash JSON into the
-- typed rows of flags.compiled_* (migrations/0030): parameters and constraint values are
-- parsed once here, so evaluation (flags._evaluation in 35_evaluate.sql) is one set-based
-- query over typed columns. Nothing here generates SQL: the rows are data, read by fixed
-- queries. Whatever cannot be compiled (a value whose cast raises) is kept as a `broken`
-- message that evaluation raises when it reaches it, so a broken rule still answers
-- ERROR / GENERAL, as the JSON walker did. The file ends by recompiling every flag, so an
-- upgrade (or a new compiler) recompiles what is stored.

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

create or replace function flags._like_escape(v text)
returns text
language sql
immutable
parallel safe
as $$
    -- a literal for LIKE: the escape character, % and _ escaped (no SET clause: inlined)
    select pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(v, '\', '\\'), '%', '\%'), '_', '\_')
$$;

comment on function flags._like_escape(text) is 'v as a LIKE literal (\, %% and _ escaped).';

create or replace function flags._compile_variants(
    flag_key text, environment text, ord integer, variants jsonb,
    out n integer, out total integer, out has_overrides boolean
)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v jsonb;
    cum integer := 0;
begin
    n := 0;
    total := 0;
    has_overrides := false;
    if variants is null or variants = '[]'::jsonb then
        return;
    end if;
    for i in 0 .. pg_catalog.jsonb_array_length(variants) - 1 loop
        v := variants -> i;
        cum := cum + coalesce((v ->> 'weight')::numeric, 0)::integer;
        insert into flags.compiled_variants (flag_key, environment, ord, idx, name, cum_weight, variant,
            payload_value, overrides)
        values (flag_key, environment, ord, i, v ->> 'name', cum, v, flags._payload_value(v -> 'payload'),
            case when v ? 'overrides' then v -> 'overrides' end);
        has_overrides := has_overrides or v ? 'overrides';
    end loop;
    n := pg_catalog.jsonb_array_length(variants);
    total := cum;
end
$$;

comment on function flags._compile_variants(text, text, integer, jsonb) is
'Writes one variant set into flags.compiled_variants (cumulative weights, payload values parsed).';

create or replace function flags._compile_constraint(
    flag_key text, environment text, ord integer, seq integer, c jsonb
)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    op text := c ->> 'operator';
    name text := c ->> 'contextName';
    ci boolean := false;
    inv boolean := false;
    vals text[];
    sv text[];
    rx_ok boolean := false;
    msg text;
begin
    -- the casts the walker made at evaluation time; one that raises makes the row broken
    begin
        inv := coalesce((c ->> 'inverted')::boolean, false);
        if op in ('STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'REGEX') then
            ci := coalesce((c ->> 'caseInsensitive')::boolean, false);
        end if;
        vals := array(select x from pg_catalog.jsonb_array_elements_text(coalesce(c -> 'values', '[]'::jsonb))
            with ordinality as t (x, k) order by k);
    exception when others then
        msg := sqlerrm;
    end;
    if op = 'REGEX' then
        begin
            perform '' ~ (c ->> 'value');
            rx_ok := c ->> 'value' is not null;
        exception when others then
            rx_ok := false;
        end;
    end if;
    sv := case when op like 'SEMVER\_%' then flags._semver(c ->> 'value') end;
    insert into flags.compiled_constraints (flag_key, environment, ord, seq, context_name, operator, inverted,
        case_insensitive, is_time, is_semver, vals, patterns, num, ts, sv, sv_pre, raw, cidrs, regex_ok, broken)
    values (
        flag_key, environment, ord, seq, coalesce(name, ''), coalesce(op, ''), inv, ci,
        name = 'currentTime', op like 'SEMVER\_%',
        case when op in ('IN', 'NOT_IN') then array(
            select x from pg_catalog.jsonb_array_elements(coalesce(c -> 'values', '[]'::jsonb))
                with ordinality as t (e, k)
                cross join lateral (select e #>> '{}' as x) as y
            where pg_catalog.jsonb_typeof(e) = 'string' order by k) end,
        case when op in ('STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH') then array(
            select case op
                when 'STR_CONTAINS' then '%' || flags._like_escape(y.x) || '%'
                when 'STR_STARTS_WITH' then flags._like_escape(y.x) || '%'
                else '%' || flags._like_escape(y.x) end
            from pg_catalog.unnest(vals) with ordinality as t (x, k)
                cross join lateral (select case when ci then pg_catalog.lower(t.x) else t.x end as x) as y
            order by k) end,
        case when op like 'NUM\_%' and c ->> 'value' ~ '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$'
            then (c ->> 'value')::numeric end,
        case when op in ('DATE_AFTER', 'DATE_BEFORE') then flags._timestamp(c ->> 'value') end,
        case when sv is not null then array[sv[1]::numeric, sv[2]::numeric, sv[3]::numeric] end,
        sv[4],
        c ->> 'value',
        case when op = 'IN_CIDR' then array(
            select flags._inet(x) from pg_catalog.unnest(vals) as x where flags._inet(x) is not null) end,
        rx_ok,
        msg
    );
end
$$;

comment on function flags._compile_constraint(text, text, integer, integer, jsonb) is
'Writes one constraint into flags.compiled_constraints with its value parsed for its operator.';

create or replace function flags._compile(flag_key text, environment text)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    f flags.flags;
    fe flags.flag_environments;
    s jsonb;
    p jsonb;
    name text;
    seq integer;
    never boolean;
    msg text;
    sg flags.segments;
    r record;
    fmsg text;
begin
    delete from flags.compiled_flags as cf where cf.flag_key = _compile.flag_key and cf.environment = _compile.environment;
    select * into f from flags.flags as x where x.key = _compile.flag_key;
    select * into fe from flags.flag_environments as x
    where x.flag_key = _compile.flag_key and x.environment = _compile.environment;
    if f.key is null or fe.flag_key is null then
        return;
    end if;
    insert into flags.compiled_flags (flag_key, environment, enabled, static)
    values (f.key, fe.environment, fe.enabled, coalesce(fe.strategies = '[]'::jsonb, true));
    begin
        r := flags._compile_variants(f.key, fe.environment, -1, f.variants);
        update flags.compiled_flags as cf
        set fvar_count = r.n, fvar_total = r.total, fvar_overrides = r.has_overrides,
            fvar_stickiness = coalesce(f.variants -> 0 ->> 'stickiness', 'default')
        where cf.flag_key = f.key and cf.environment = fe.environment;
    exception when others then
        fmsg := sqlerrm;
        update flags.compiled_flags as cf set broken = fmsg
        where cf.flag_key = f.key and cf.environment = fe.environment;
    end;
    if pg_catalog.jsonb_typeof(fe.strategies) is distinct from 'array' then
        return;
    end if;
    for i in 0 .. pg_catalog.jsonb_array_length(fe.strategies) - 1 loop
        s := fe.strategies -> i;
        p := coalesce(s -> 'parameters', '{}'::jsonb);
        name := coalesce(s ->> 'name', '');
        msg := null;
        never := name not in ('default', 'userWithId', 'flexibleRollout', 'gradualRolloutUserId',
            'gradualRolloutSessionId', 'gradualRolloutRandom', 'remoteAddress');
        begin
            -- a missing segment makes the strategy off; a segment id that is no integer raises
            never := never or exists (
                select from pg_catalog.jsonb_array_elements(coalesce(s -> 'segments', '[]'::jsonb)) as g
                left join flags.segments as x on x.id = (g #>> '{}')::integer
                where x.id is null
            );
        exception when others then
            msg := sqlerrm;
        end;
        insert into flags.compiled_strategies (flag_key, environment, ord, name, plain, never, rollout, stick_mode,
            stick_field, group_id, user_ids, ips_text, ips, svar_stickiness, broken)
        values (
            f.key, fe.environment, i, name,
            name = 'default' and coalesce(s -> 'constraints', '[]'::jsonb) = '[]'::jsonb and not s ? 'segments',
            never,
            case when coalesce(p ->> 'rollout', p ->> 'percentage') ~ '^\s*\d+(\.\d+)?\s*$'
                then coalesce(p ->> 'rollout', p ->> 'percentage')::numeric end,
            case name
                when 'gradualRolloutUserId' then 't' when 'gradualRolloutSessionId' then 't'
                when 'gradualRolloutRandom' then 'r'
                else case coalesce(p ->> 'stickiness', 'default') when 'default' then 'd' when 'random' then 'r'
                    else 'f' end
            end,
            case name
                when 'gradualRolloutUserId' then 'userId' when 'gradualRolloutSessionId' then 'sessionId'
                else p ->> 'stickiness'
            end,
            coalesce(p ->> 'groupId', f.key),
            case when name = 'userWithId'
                then pg_catalog.regexp_split_to_array(pg_catalog.btrim(p ->> 'userIds'), '\s*,\s*') end,
            case when name = 'remoteAddress' then pg_catalog.regexp_split_to_array(
                pg_catalog.btrim(coalesce(p ->> 'IPs', '')), '\s*,\s*') end,
            case when name = 'remoteAddress' then array(
                select flags._inet(x) from pg_catalog.regexp_split_to_table(pg_catalog.btrim(coalesce(p ->> 'IPs', '')),
                    '\s*,\s*') with ordinality as t (x, k)
                where flags._inet(x) is not null order by k) end,
            coalesce(s -> 'variants' -> 0 ->> 'stickiness', p ->> 'stickiness', 'default'),
            msg
        );
        begin
            if coalesce(s -> 'variants', '[]'::jsonb) <> '[]'::jsonb then
                r := flags._compile_variants(f.key, fe.environment, i, s -> 'variants');
                update flags.compiled_strategies as cs
                set svar_count = r.n, svar_total = r.total, svar_overrides = r.has_overrides
                where cs.flag_key = f.key and cs.environment = fe.environment and cs.ord = i;
            end if;
            seq := 0;
            if coalesce(s -> 'constraints', '[]'::jsonb) <> '[]'::jsonb then
                for j in 0 .. pg_catalog.jsonb_array_length(s -> 'constraints') - 1 loop
                    perform flags._compile_constraint(f.key, fe.environment, i, seq, s -> 'constraints' -> j);
                    seq := seq + 1;
                end loop;
            end if;
            if msg is null and not never then
                for sg in
                    select x.* from pg_catalog.jsonb_array_elements(coalesce(s -> 'segments', '[]'::jsonb))
                        with ordinality as g (e, k)
                    inner join flags.segments as x on x.id = (g.e #>> '{}')::integer
                    order by g.k
                loop
                    if coalesce(sg.constraints, '[]'::jsonb) <> '[]'::jsonb then
                        for j in 0 .. pg_catalog.jsonb_array_length(sg.constraints) - 1 loop
                            perform flags._compile_constraint(f.key, fe.environment, i, seq, sg.constraints -> j);
                            seq := seq + 1;
                        end loop;
                    end if;
                end loop;
            end if;
        exception when others then
            msg := sqlerrm;
            update flags.compiled_strategies as cs set broken = msg
            where cs.flag_key = f.key and cs.environment = fe.environment and cs.ord = i;
        end;
    end loop;
    -- the evaluation form: the rows above folded into arrays on the flag's row
    update flags.compiled_strategies as cs
    set constraints = array(
            select c from flags.compiled_constraints as c
            where c.flag_key = cs.flag_key and c.environment = cs.environment and c.ord = cs.ord
            order by c.seq),
        variants = array(
            select v from flags.compiled_variants as v
            where v.flag_key = cs.flag_key and v.environment = cs.environment and v.ord = cs.ord
            order by v.idx)
    where cs.flag_key = f.key and cs.environment = fe.environment;
    update flags.compiled_flags as cf
    set strategies = array(
            select x from flags.compiled_strategies as x
            where x.flag_key = cf.flag_key and x.environment = cf.environment
            order by x.ord),
        variants = array(
            select v from flags.compiled_variants as v
            where v.flag_key = cf.flag_key and v.environment = cf.environment and v.ord = -1
            order by v.idx)
    where cf.flag_key = f.key and cf.environment = fe.environment;
end
$$;

comment on function flags._compile(text, text) is
'Compiles one flag in one environment into flags.compiled_* (replacing what was there); a flag '
'or environment row that no longer exists leaves nothing.';

create or replace function flags._compile_all()
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    n integer := 0;
    r record;
begin
    delete from flags.compiled_flags;
    for r in select fe.flag_key, fe.environment from flags.flag_environments as fe order by 1, 2 loop
        perform flags._compile(r.flag_key, r.environment);
        n := n + 1;
    end loop;
    return n;
end
$$;

comment on function flags._compile_all() is
'Recompiles every flag in every environment (after an upgrade or a change of the compiler).';

create or replace function flags.tg_flag_environments__compile()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform flags._compile(new.flag_key, new.environment);
    return null;
end
$$;

create or replace function flags.tg_flags__compile()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
begin
    for r in select fe.environment from flags.flag_environments as fe where fe.flag_key = new.key loop
        perform flags._compile(new.key, r.environment);
    end loop;
    return null;
end
$$;

create or replace function flags.tg_segments__compile()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
    ids jsonb := pg_catalog.jsonb_build_array(coalesce(new.id, old.id), coalesce(old.id, new.id));
begin
    for r in
        select fe.flag_key, fe.environment from flags.flag_environments as fe
        where pg_catalog.jsonb_path_exists(fe.strategies, '$[*].segments[*] ? (@ == $a || @ == $b)',
            pg_catalog.jsonb_build_object('a', ids -> 0, 'b', ids -> 1))
    loop
        perform flags._compile(r.flag_key, r.environment);
    end loop;
    return null;
end
$$;

comment on function flags.tg_flag_environments__compile() is
'Recompiles a flag in an environment after its kill switch or strategies change.';
comment on function flags.tg_flags__compile() is
'Recompiles a flag in every environment after its variants, key or definition change.';
comment on function flags.tg_segments__compile() is
'Recompiles the flags whose strategies name a segment after it is created, changed or removed.';

drop trigger if exists flag_environments_50_compile on flags.flag_environments;
create trigger flag_environments_50_compile
after insert or update on flags.flag_environments
for each row execute function flags.tg_flag_environments__compile();

drop trigger if exists flags_50_compile on flags.flags;
create trigger flags_50_compile
after update on flags.flags
for each row execute function flags.tg_flags__compile();

drop trigger if exists segments_50_compile on flags.segments;
create trigger segments_50_compile
after insert or update or delete on flags.segments
for each row execute function flags.tg_segments__compile();

revoke all on function
flags._payload_value(jsonb), flags._like_escape(text), flags._compile_variants(text, text, integer, jsonb),
flags._compile_constraint(text, text, integer, integer, jsonb), flags._compile(text, text),
flags._compile_all(), flags.tg_flag_environments__compile(), flags.tg_flags__compile(),
flags.tg_segments__compile()
from public;

-- whatever is stored, compiled by this version of the compiler
select flags._compile_all();
