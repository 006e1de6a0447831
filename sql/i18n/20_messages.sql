-- i18n: ICU MessageFormat, parsed and compiled on write, run on read.
--
-- i18n._parse turns a message into an AST (jsonb) with intl-messageformat's rules
-- (apostrophe quoting, '#' in plural branches, plural with offset and =N, select,
-- selectordinal, number/date/time arguments). i18n._emit compiles the AST into a flat
-- program (text[]) that i18n._format runs with plain array reads, no JSON walking:
--   t <text>                      append text
--   a <name>                      append the parameter (missing: {name})
--   #                             append the innermost plural's number (minus offset)
--   p <name> <offset> <rule> <k> (<selector> <target>)*   plural/selectordinal: choose
--                                 =N, else the CLDR category (i18n._plural), else other
--   s <name> <k> (<value> <target>)*                        select
--   j <target>                    jump (end of a branch)
--   e                             end of a plural (drop its number)
-- The rule set of the message's locale is resolved at compile time, into the program.

create or replace function i18n._syntax_error(pos integer, what text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception 'message syntax error at character %: %', pos, what
        using errcode = '22023',
              hint = 'ICU MessageFormat: {name}, {n, plural, one {# item} other {# items}}, '
                     '{x, select, a {...} other {...}}; quote a literal brace as ''{''.';
end
$$;

comment on function i18n._syntax_error(integer, text) is 'Raises the 22023 of a malformed message.';

create or replace function i18n._parse(
    chars text[], pos integer, in_plural boolean, depth integer,
    out nodes jsonb, out next_pos integer
)
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    n integer := pg_catalog.cardinality(chars);
    c text;
    buf text := '';
    start integer;
    arg_name text;
    arg_type text;
    style text;
    brace integer;
    selector text;
    cases jsonb;
    sub record;
    off_text text;
    seen text[];
    in_quote boolean;
begin
    nodes := '[]'::jsonb;
    if depth > 10 then
        perform i18n._syntax_error(pos, 'nested more than 10 levels deep');
    end if;
    while pos <= n loop
        c := chars[pos];
        if c = '''' then
            if pos < n and chars[pos + 1] = '''' then
                buf := buf || '''';
                pos := pos + 2;
            elsif pos < n and (chars[pos + 1] in ('{', '}', '<', '>') or (in_plural and chars[pos + 1] = '#')) then
                pos := pos + 1;
                buf := buf || chars[pos];
                pos := pos + 1;
                while pos <= n loop
                    if chars[pos] = '''' then
                        if pos < n and chars[pos + 1] = '''' then
                            buf := buf || '''';
                            pos := pos + 2;
                        else
                            pos := pos + 1;
                            exit;
                        end if;
                    else
                        buf := buf || chars[pos];
                        pos := pos + 1;
                    end if;
                end loop;
            else
                buf := buf || c;
                pos := pos + 1;
            end if;
        elsif c = '}' then
            exit;
        elsif c = '#' and in_plural then
            if buf <> '' then
                nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('t', 'text', 'v', buf));
                buf := '';
            end if;
            nodes := nodes || '[{"t": "pound"}]'::jsonb;
            pos := pos + 1;
        elsif c = '{' then
            if buf <> '' then
                nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('t', 'text', 'v', buf));
                buf := '';
            end if;
            start := pos;
            pos := pos + 1;
            while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
            arg_name := '';
            while pos <= n and chars[pos] !~ '^[\s,{}#'']$' loop
                arg_name := arg_name || chars[pos];
                pos := pos + 1;
            end loop;
            if arg_name = '' or arg_name !~ '^[[:alnum:]_$][[:alnum:]_$.-]*$' then
                perform i18n._syntax_error(start, 'expected an argument name after {');
            end if;
            while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
            if pos > n then
                perform i18n._syntax_error(start, 'unclosed argument {' || arg_name);
            elsif chars[pos] = '}' then
                nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('t', 'arg', 'name', arg_name));
                pos := pos + 1;
                continue;
            elsif chars[pos] <> ',' then
                perform i18n._syntax_error(pos, 'expected , or } after the argument name ' || arg_name);
            end if;
            pos := pos + 1;
            while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
            arg_type := '';
            while pos <= n and chars[pos] ~ '^[A-Za-z]$' loop
                arg_type := arg_type || chars[pos];
                pos := pos + 1;
            end loop;
            while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
            if arg_type in ('number', 'date', 'time', 'spellout', 'ordinal', 'duration') then
                style := null;
                if pos <= n and chars[pos] = ',' then
                    pos := pos + 1;
                    style := '';
                    brace := 0;
                    in_quote := false;
                    while pos <= n and (brace > 0 or in_quote or chars[pos] <> '}') loop
                        if chars[pos] = '''' then
                            in_quote := not in_quote;
                        elsif not in_quote and chars[pos] = '{' then
                            brace := brace + 1;
                        elsif not in_quote and chars[pos] = '}' then
                            brace := brace - 1;
                        end if;
                        style := style || chars[pos];
                        pos := pos + 1;
                    end loop;
                    style := pg_catalog.btrim(style);
                    if style = '' then
                        perform i18n._syntax_error(pos, 'expected a style after ' || arg_type || ',');
                    end if;
                end if;
                if pos > n or chars[pos] <> '}' then
                    perform i18n._syntax_error(start, 'unclosed argument {' || arg_name);
                end if;
                pos := pos + 1;
                nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                    't', 'arg', 'name', arg_name, 'type', arg_type, 'style', style)));
            elsif arg_type in ('plural', 'selectordinal', 'select') then
                if pos > n or chars[pos] <> ',' then
                    perform i18n._syntax_error(pos, 'expected , after ' || arg_type);
                end if;
                pos := pos + 1;
                while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
                off_text := '0';
                if arg_type <> 'select' and pg_catalog.array_to_string(chars[pos:pos + 6], '') = 'offset:' then
                    pos := pos + 7;
                    while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
                    off_text := '';
                    while pos <= n and chars[pos] ~ '^[0-9]$' loop
                        off_text := off_text || chars[pos];
                        pos := pos + 1;
                    end loop;
                    if off_text = '' or pg_catalog.length(off_text) > 9 then
                        perform i18n._syntax_error(pos, 'expected a whole number after offset:');
                    end if;
                end if;
                cases := '[]'::jsonb;
                seen := '{}'::text[];
                loop
                    while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
                    if pos > n then
                        perform i18n._syntax_error(start, 'unclosed ' || arg_type || ' {' || arg_name);
                    end if;
                    exit when chars[pos] = '}';
                    selector := '';
                    while pos <= n and chars[pos] !~ '^[\s{}]$' loop
                        selector := selector || chars[pos];
                        pos := pos + 1;
                    end loop;
                    if arg_type = 'select' and selector !~ '^[[:alnum:]_-]{1,100}$' then
                        perform i18n._syntax_error(pos, 'invalid select case "' || pg_catalog.left(selector, 40) || '"');
                    elsif arg_type <> 'select'
                        and selector !~ '^(zero|one|two|few|many|other|=-?[0-9]{1,15}(\.[0-9]{1,15})?)$' then
                        perform i18n._syntax_error(pos, 'invalid plural case "' || pg_catalog.left(selector, 40)
                            || '" (zero, one, two, few, many, other or =N)');
                    end if;
                    if selector = any(seen) then
                        perform i18n._syntax_error(pos, 'duplicate case ' || selector);
                    end if;
                    seen := seen || selector;
                    while pos <= n and chars[pos] ~ '^\s$' loop pos := pos + 1; end loop;
                    if pos > n or chars[pos] <> '{' then
                        perform i18n._syntax_error(pos, 'expected { after the case ' || selector);
                    end if;
                    select * into sub from i18n._parse(chars, pos + 1, arg_type <> 'select', depth + 1);
                    pos := sub.next_pos;
                    if pos > n or chars[pos] <> '}' then
                        perform i18n._syntax_error(pos, 'unclosed case ' || selector);
                    end if;
                    pos := pos + 1;
                    cases := cases || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(selector, sub.nodes));
                end loop;
                pos := pos + 1;
                if not 'other' = any(seen) then
                    perform i18n._syntax_error(start, arg_type || ' {' || arg_name || '} needs an other case');
                end if;
                nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    't', case arg_type when 'select' then 'select' else 'plural' end, 'name', arg_name,
                    'ordinal', arg_type = 'selectordinal', 'offset', off_text::integer, 'cases', cases));
            else
                perform i18n._syntax_error(start, 'unknown argument type "' || pg_catalog.left(arg_type, 40)
                    || '" (number, date, time, plural, select, selectordinal)');
            end if;
        else
            buf := buf || c;
            pos := pos + 1;
        end if;
    end loop;
    if buf <> '' then
        nodes := nodes || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('t', 'text', 'v', buf));
    end if;
    next_pos := pos;
end
$$;

comment on function i18n._parse(text[], integer, boolean, integer) is
'Parses ICU MessageFormat from chars[pos] up to an unmatched } or the end: the AST and where it stopped.';

create or replace function i18n._emit(nodes jsonb, base integer, cardinal smallint, ordinal smallint)
returns text[]
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    code text[] := '{}'::text[];
    node jsonb;
    kase jsonb;
    header text[];
    bodies text[];
    body text[];
    jumps integer[];
    k integer;
    first_body integer;
    end_at integer;
    j integer;
    last_text integer := 0;
begin
    for node in select x.value from pg_catalog.jsonb_array_elements(nodes) as x loop
        if node ->> 't' = 'text' then
            if last_text > 0 and last_text = pg_catalog.cardinality(code) - 1 then
                code[last_text + 1] := code[last_text + 1] || (node ->> 'v');
            else
                code := code || array['t', node ->> 'v'];
                last_text := pg_catalog.cardinality(code) - 1;
            end if;
        elsif node ->> 't' = 'arg' then
            code := code || array['a', node ->> 'name'];
        elsif node ->> 't' = 'pound' then
            code := code || array['#'];
        else
            k := pg_catalog.jsonb_array_length(node -> 'cases');
            if node ->> 't' = 'plural' then
                header := array['p', node ->> 'name', node ->> 'offset',
                    (case when (node -> 'ordinal')::boolean then ordinal else cardinal end)::text, k::text];
            else
                header := array['s', node ->> 'name', k::text];
            end if;
            first_body := base + pg_catalog.cardinality(code) + pg_catalog.cardinality(header) + 2 * k;
            bodies := '{}'::text[];
            jumps := '{}'::integer[];
            for kase in select x.value from pg_catalog.jsonb_array_elements(node -> 'cases') as x loop
                header := header || array[kase ->> 0, (first_body + pg_catalog.cardinality(bodies))::text];
                body := i18n._emit(kase -> 1, first_body + pg_catalog.cardinality(bodies), cardinal, ordinal);
                bodies := bodies || body || array['j', ''];
                jumps := jumps || pg_catalog.cardinality(bodies);
            end loop;
            end_at := first_body + pg_catalog.cardinality(bodies);
            foreach j in array jumps loop
                bodies[j] := end_at::text;
            end loop;
            code := code || header || bodies;
            if node ->> 't' = 'plural' then
                code := code || array['e'];
            end if;
            last_text := 0;
        end if;
    end loop;
    return code;
end
$$;

comment on function i18n._emit(jsonb, integer, smallint, smallint) is
'Compiles an AST into the program i18n._format runs (targets absolute, base = first index).';

create or replace function i18n._names(nodes jsonb, locale_cardinal text[], locale_ordinal text[])
returns table (kind text, item text)
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- every argument name and every plural case (name:cardinal|ordinal:case) of an AST
    with recursive walk (node) as (
        select x.value from pg_catalog.jsonb_array_elements(nodes) as x
        union all
        select b.value
        from walk as w
        cross join lateral pg_catalog.jsonb_array_elements(w.node -> 'cases') as c
        cross join lateral pg_catalog.jsonb_array_elements(c.value -> 1) as b
        where w.node ? 'cases'
    )
    select 'arg', w.node ->> 'name' from walk as w where w.node ? 'name'
    union
    select 'plural', (w.node ->> 'name') || ':' || case when (w.node -> 'ordinal')::boolean then 'ordinal' else 'cardinal' end
        || ':' || (c.value ->> 0)
    from walk as w cross join lateral pg_catalog.jsonb_array_elements(w.node -> 'cases') as c
    where w.node ->> 't' = 'plural'
    union
    select 'lacks', (c.value ->> 0)
    from walk as w cross join lateral pg_catalog.jsonb_array_elements(w.node -> 'cases') as c
    where w.node ->> 't' = 'plural' and c.value ->> 0 !~ '^='
        and not (c.value ->> 0) = any(case when (w.node -> 'ordinal')::boolean then locale_ordinal else locale_cardinal end)
$$;

comment on function i18n._names(jsonb, text[], text[]) is
'The argument names, plural cases and cases the locale lacks in an AST.';

create or replace function i18n._i18next_text(nodes jsonb, pound text)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- flat text in i18next's syntax ({{name}}), or null when a node cannot be said so
    select case when bool_and(x.value ->> 't' in ('text', 'pound') or (x.value ->> 't' = 'arg' and not x.value ? 'type'))
        and bool_and(x.value ->> 't' <> 'pound' or pound is not null)
        and not bool_or(x.value ->> 't' = 'text' and (x.value ->> 'v') ~ '\{\{|\}\}')
        then coalesce(pg_catalog.string_agg(case x.value ->> 't'
            when 'text' then x.value ->> 'v'
            when 'pound' then '{{' || pound || '}}'
            else '{{' || (x.value ->> 'name') || '}}' end, '' order by x.o), '')
    end
    from pg_catalog.jsonb_array_elements(nodes) with ordinality as x (value, o)
$$;

comment on function i18n._i18next_text(jsonb, text) is
'Flat AST nodes as i18next text ({{name}} interpolation); null when they need ICU.';

create or replace function i18n._i18next(nodes jsonb, source text)
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    flat text := i18n._i18next_text(nodes, null);
    plural_at integer;
    p jsonb;
    before_text text;
    after_text text;
    out jsonb := '{}'::jsonb;
    kase jsonb;
    body text;
begin
    if flat is not null or pg_catalog.jsonb_array_length(nodes) = 0 then
        return pg_catalog.jsonb_build_object('', coalesce(flat, ''));
    end if;
    -- one plural on count at the top level, categories only: i18next's suffixed keys
    select x.o, x.value into plural_at, p
    from pg_catalog.jsonb_array_elements(nodes) with ordinality as x (value, o)
    where x.value ->> 't' = 'plural';
    if p is null or p ->> 'name' <> 'count' or (p ->> 'offset')::integer <> 0
        or (select count(*) from pg_catalog.jsonb_array_elements(nodes) as y where y.value ? 'cases') <> 1
    then
        return pg_catalog.jsonb_build_object('', source);
    end if;
    before_text := i18n._i18next_text(
        (select coalesce(pg_catalog.jsonb_agg(x.value order by x.o), '[]') from pg_catalog.jsonb_array_elements(nodes)
         with ordinality as x (value, o) where x.o < plural_at), null);
    after_text := i18n._i18next_text(
        (select coalesce(pg_catalog.jsonb_agg(x.value order by x.o), '[]') from pg_catalog.jsonb_array_elements(nodes)
         with ordinality as x (value, o) where x.o > plural_at), null);
    for kase in select x.value from pg_catalog.jsonb_array_elements(p -> 'cases') as x loop
        body := i18n._i18next_text(kase -> 1, 'count');
        if body is null or before_text is null or after_text is null or (kase ->> 0) ~ '^=' then
            return pg_catalog.jsonb_build_object('', source);
        end if;
        out := out || pg_catalog.jsonb_build_object(
            case when (p -> 'ordinal')::boolean then '_ordinal_' else '_' end || (kase ->> 0),
            before_text || body || after_text);
    end loop;
    return out;
end
$$;

comment on function i18n._i18next(jsonb, text) is
'The message in i18next''s JSON v4 form: {"": text}, or {"_one": ..., "_other": ...} for a plural '
'on count; {"": ICU source} when i18next''s syntax cannot say it (use i18next-icu).';

create or replace function i18n.compile(source text, locale text)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    tag text := i18n.assert_tag(locale);
    chars text[];
    parsed record;
    crule smallint;
    orule smallint;
    cats text[];
    ocats text[];
    lacking text[];
begin
    if source is null then
        perform i18n._syntax_error(0, 'the message is null');
    end if;
    if pg_catalog.length(source) > 20000 then
        raise exception 'message too long' using errcode = '22001',
            hint = 'A message has at most 20000 characters.';
    end if;
    crule := i18n._rule_of(tag, false);
    orule := i18n._rule_of(tag, true);
    select p.cardinal_categories into cats from i18n._plural_locales() as p where p.cardinal = crule limit 1;
    select p.ordinal_categories into ocats from i18n._plural_locales() as p where p.ordinal = orule limit 1;
    chars := coalesce(pg_catalog.string_to_array(source, null), '{}'::text[]);
    select * into parsed from i18n._parse(chars, 1, false, 0);
    if parsed.next_pos <= pg_catalog.cardinality(chars) then
        perform i18n._syntax_error(parsed.next_pos, 'unmatched }');
    end if;
    select pg_catalog.array_agg(x.item order by x.item) into lacking
    from i18n._names(parsed.nodes, cats, ocats) as x where x.kind = 'lacks';
    if lacking is not null then
        raise exception 'plural case(s) % not used by locale %', pg_catalog.array_to_string(lacking, ', '), tag
            using errcode = '22023',
                  hint = pg_catalog.format('CLDR gives %s the cardinal categories %s and the ordinal categories %s; '
                      'use =N for exact numbers.', tag, pg_catalog.array_to_string(cats, ', '),
                      pg_catalog.array_to_string(ocats, ', '));
    end if;
    return pg_catalog.jsonb_build_object(
        'code', pg_catalog.to_jsonb(i18n._emit(parsed.nodes, 1, crule, orule)),
        'placeholders', coalesce((select pg_catalog.jsonb_agg(x.item order by x.item)
            from i18n._names(parsed.nodes, cats, ocats) as x where x.kind = 'arg'), '[]'),
        'plural_forms', coalesce((select pg_catalog.jsonb_agg(x.item order by x.item)
            from i18n._names(parsed.nodes, cats, ocats) as x where x.kind = 'plural'), '[]'),
        'i18next', i18n._i18next(parsed.nodes, source),
        'ast', parsed.nodes
    );
end
$$;

comment on function i18n.compile(text, text) is
'Parses and compiles a message for a locale: {code, placeholders, plural_forms, i18next, ast}. '
'22023 with the position for a syntax error or a plural case the locale lacks; 22001 above 20000 characters.';

create or replace function i18n._format(code text[], params jsonb)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    pc integer := 1;
    last integer := pg_catalog.cardinality(code);
    out text := '';
    op text;
    val text;
    num numeric;
    x numeric;
    ax numeric;
    fraction text;
    cat text;
    k integer;
    i integer;
    sel text;
    target integer;
    stack text[] := '{}'::text[];
begin
    while pc <= last loop
        op := code[pc];
        if op = 't' then
            out := out || code[pc + 1];
            pc := pc + 2;
        elsif op = 'a' then
            out := out || coalesce(params ->> code[pc + 1], '{' || code[pc + 1] || '}');
            pc := pc + 2;
        elsif op = '#' then
            out := out || coalesce(stack[pg_catalog.cardinality(stack)], '#');
            pc := pc + 1;
        elsif op = 'j' then
            pc := code[pc + 1]::integer;
        elsif op = 'e' then
            stack := stack[1:pg_catalog.cardinality(stack) - 1];
            pc := pc + 1;
        elsif op = 'p' then
            val := params ->> code[pc + 1];
            k := code[pc + 4]::integer;
            target := null;
            if val ~ '^-?[0-9]{1,30}(\.[0-9]{1,30})?$' then
                num := val::numeric;
                x := num - code[pc + 2]::numeric;
                ax := abs(x);
                fraction := case when pg_catalog.scale(x) > 0 then pg_catalog.split_part(ax::text, '.', 2) end;
                cat := i18n._plural(code[pc + 3]::smallint, ax, trunc(ax), pg_catalog.scale(x),
                    coalesce(fraction::numeric, 0), coalesce(nullif(pg_catalog.rtrim(fraction, '0'), '')::numeric, 0), 0);
                stack := stack || x::text;
                i := 0;
                while i < k and target is null loop
                    sel := code[pc + 5 + 2 * i];
                    if sel like '=%' and pg_catalog.substr(sel, 2)::numeric = num then
                        target := code[pc + 6 + 2 * i]::integer;
                    end if;
                    i := i + 1;
                end loop;
            else
                cat := 'other';
                stack := stack || ('{' || code[pc + 1] || '}');
            end if;
            i := 0;
            while i < k and target is null loop
                if code[pc + 5 + 2 * i] = cat then
                    target := code[pc + 6 + 2 * i]::integer;
                end if;
                i := i + 1;
            end loop;
            i := 0;
            while i < k and target is null loop
                if code[pc + 5 + 2 * i] = 'other' then
                    target := code[pc + 6 + 2 * i]::integer;
                end if;
                i := i + 1;
            end loop;
            pc := target;
        elsif op = 's' then
            val := params ->> code[pc + 1];
            k := code[pc + 2]::integer;
            target := null;
            i := 0;
            while i < k and target is null loop
                sel := code[pc + 3 + 2 * i];
                if sel = val then
                    target := code[pc + 4 + 2 * i]::integer;
                end if;
                i := i + 1;
            end loop;
            if target is null then
                i := 0;
                while i < k and target is null loop
                    if code[pc + 3 + 2 * i] = 'other' then
                        target := code[pc + 4 + 2 * i]::integer;
                    end if;
                    i := i + 1;
                end loop;
            end if;
            pc := target;
        else
            return out;  -- not a program this version wrote
        end if;
    end loop;
    return out;
end
$$;

comment on function i18n._format(text[], jsonb) is
'Runs a compiled message with its parameters. A missing parameter shows as {name}; a plural '
'parameter that is not a number takes the other case. Never raises.';

create or replace function i18n.format(message text, locale text, params jsonb default '{}')
returns text
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.length(message) > 20000 or pg_catalog.length(params::text) > 100000 then
        return message;
    end if;
    return i18n._format(array(select pg_catalog.jsonb_array_elements_text(
        i18n.compile(message, coalesce(i18n.canonical_tag(locale), 'und')) -> 'code')), params);
exception when invalid_parameter_value or string_data_right_truncation then
    return message;  -- a malformed message reads as its text
end
$$;

comment on function i18n.format(text, text, jsonb) is
'Formats an ICU message (not stored) for a locale: for previews. A malformed message comes back '
'as it is; never raises.';

create or replace function i18n.plural_category(locale text, number text, ordinal boolean default false)
returns text
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    m text[] := pg_catalog.regexp_match(pg_catalog.btrim(number), '^-?([0-9]{1,30})(?:\.([0-9]{1,30}))?(?:[ce]([0-9]{1,2}))?$');
    digits text;
    point integer;
    e integer;
    int_part text;
    fraction text;
    rule smallint := i18n._rule_of(coalesce(i18n.canonical_tag(locale), 'und'), coalesce(ordinal, false));
begin
    if m is null or pg_catalog.length(number) > 80 then
        return null;
    end if;
    e := coalesce(m[3]::integer, 0);
    digits := m[1] || coalesce(m[2], '');
    point := pg_catalog.length(m[1]) + e;
    if pg_catalog.length(digits) < point then
        digits := pg_catalog.rpad(digits, point, '0');
    end if;
    int_part := pg_catalog.left(digits, point);
    fraction := pg_catalog.substr(digits, point + 1);
    return i18n._plural(rule, (int_part || '.' || coalesce(nullif(fraction, ''), '0'))::numeric,
        int_part::numeric, pg_catalog.length(fraction),
        coalesce(nullif(fraction, '')::numeric, 0), coalesce(nullif(pg_catalog.rtrim(fraction, '0'), '')::numeric, 0), e);
end
$$;

comment on function i18n.plural_category(text, text, boolean) is
'The CLDR plural category of a number written as text (1, 1.50, CLDR''s compact 1.1c6) in a '
'locale, cardinal or ordinal; null for what is not a number. Never raises.';

revoke all on function
i18n._syntax_error(integer, text), i18n._parse(text[], integer, boolean, integer),
i18n._emit(jsonb, integer, smallint, smallint), i18n._names(jsonb, text[], text[]),
i18n._i18next_text(jsonb, text), i18n._i18next(jsonb, text), i18n.compile(text, text),
i18n._format(text[], jsonb), i18n.format(text, text, jsonb), i18n.plural_category(text, text, boolean)
from public;
grant execute on function i18n.format(text, text, jsonb), i18n.plural_category(text, text, boolean)
to anon, authenticated, service_role;
grant execute on function i18n.compile(text, text) to service_role;
