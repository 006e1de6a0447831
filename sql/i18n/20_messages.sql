-- i18n: ICU MessageFormat, parsed and compiled on write, run on read.
--
-- i18n._parse turns a message into an AST (jsonb) with intl-messageformat's rules
-- (apostrophe quoting, '#' in plural branches, plural with offset and =N, select,
-- selectordinal, number/date/time arguments). i18n._emit compiles the AST into a flat
-- program (text[]) that i18n._format runs with plain array reads, no JSON walking:
--   t <text>                      append text
--   a <name>                      append the parameter (missing: {name})
--   #                             append the innermost plural's number (minus offset)
--   p <name> <offset> <rule> <k> <table> <selector>*k <target>*k   plural/selectordinal:
--                                 =N, else the CLDR category, else other; <table> holds the
--                                 categories of 0..999 (one letter each), so a whole number
--                                 below 1000 costs a substr, others call i18n._plural
--   s <name> <k> <value>*k <target>*k                                  select
--   j <target>                    jump (end of a branch)
--   e                             end of a plural (drop its number)
-- The rule set of the message's locale is resolved at compile time, into the program.

create or replace function i18n._syntax_error(pos integer, what text)
returns void
language plpgsql
volatile
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
    rule smallint;
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
                rule := case when (node -> 'ordinal')::boolean then ordinal else cardinal end;
                -- the categories of 0..999 as one letter each: the formatter's fast path
                header := array['p', node ->> 'name', node ->> 'offset', rule::text, k::text,
                    (select pg_catalog.string_agg(case i18n._plural(rule, g.n, g.n, 0, 0, 0, 0)
                        when 'zero' then 'z' when 'one' then 'o' when 'two' then 't' when 'few' then 'f'
                        when 'many' then 'm' else 'x' end, '' order by g.n)
                     from pg_catalog.generate_series(0::numeric, 999::numeric) as g (n))];
            else
                header := array['s', node ->> 'name', k::text];
            end if;
            header := header || array(
                select case when c.value ->> 0 like '=%'
                    then '=' || pg_catalog.trim_scale(pg_catalog.substr(c.value ->> 0, 2)::numeric)::text
                    else c.value ->> 0 end
                from pg_catalog.jsonb_array_elements(node -> 'cases') with ordinality as c (value, o)
                order by c.value ->> 0 not like '=%', c.o);
            first_body := base + pg_catalog.cardinality(code) + pg_catalog.cardinality(header) + k;
            bodies := '{}'::text[];
            jumps := '{}'::integer[];
            -- exact cases (=N) first, so the formatter looks for them only when sels[1] is one
            for kase in
                select x.value from pg_catalog.jsonb_array_elements(node -> 'cases') with ordinality as x (value, o)
                order by x.value ->> 0 not like '=%', x.o
            loop
                header := header || (first_body + pg_catalog.cardinality(bodies))::text;
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

create or replace function i18n._names(
    nodes jsonb, locale_cardinal text[], locale_ordinal text[],
    out args text[], out plurals text[], out lacks text[]
)
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    node jsonb;
    kase jsonb;
    kind text;
    inner_names record;
begin
    args := '{}'::text[];
    plurals := '{}'::text[];
    lacks := '{}'::text[];
    for node in select x.value from pg_catalog.jsonb_array_elements(nodes) as x loop
        if node ? 'name' and not (node ->> 'name') = any(args) then
            args := args || (node ->> 'name');
        end if;
        if node ? 'cases' then
            kind := case when (node -> 'ordinal')::boolean then 'ordinal' else 'cardinal' end;
            for kase in select x.value from pg_catalog.jsonb_array_elements(node -> 'cases') as x loop
                if node ->> 't' = 'plural' then
                    plurals := plurals || ((node ->> 'name') || ':' || kind || ':' || (kase ->> 0));
                    if kase ->> 0 !~ '^=' and not (kase ->> 0) = any(
                        case kind when 'ordinal' then locale_ordinal else locale_cardinal end)
                    then
                        lacks := lacks || (kase ->> 0);
                    end if;
                end if;
                select * into inner_names from i18n._names(kase -> 1, locale_cardinal, locale_ordinal);
                args := args || array(select u from pg_catalog.unnest(inner_names.args) as u where not u = any(args));
                plurals := plurals || inner_names.plurals;
                lacks := lacks || inner_names.lacks;
            end loop;
        end if;
    end loop;
end
$$;

comment on function i18n._names(jsonb, text[], text[]) is
'The argument names, plural cases (name:cardinal|ordinal:case) and cases the locale lacks in an AST.';

create or replace function i18n._i18next_text(nodes jsonb, pound text)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- flat text in i18next's syntax ({{name}}), or null when a node cannot be said so
    select case when coalesce(bool_and(x.value ->> 't' in ('text', 'pound')
            or (x.value ->> 't' = 'arg' and not x.value ? 'type')), true)
        and coalesce(bool_and(x.value ->> 't' <> 'pound' or pound is not null), true)
        and not coalesce(bool_or(x.value ->> 't' = 'text' and (x.value ->> 'v') ~ '\{\{|\}\}'), false)
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
    ltag text := i18n.assert_tag(locale);
    chars text[];
    parsed record;
    crule smallint;
    orule smallint;
    cats text[];
    ocats text[];
    lacking text[];
    names record;
begin
    if source is null then
        perform i18n._syntax_error(0, 'the message is null');
    end if;
    if pg_catalog.length(source) > 20000 then
        raise exception 'message too long' using errcode = '22001',
            hint = 'A message has at most 20000 characters.';
    end if;
    select l.cardinal_rule, l.ordinal_rule, l.cardinal_categories, l.ordinal_categories
    into crule, orule, cats, ocats
    from i18n.locales as l where l.tag = ltag;
    if crule is null then
        crule := i18n._rule_of(ltag, false);
        orule := i18n._rule_of(ltag, true);
        select p.cardinal_categories into cats from i18n._plural_locales() as p where p.cardinal = crule limit 1;
        select p.ordinal_categories into ocats from i18n._plural_locales() as p where p.ordinal = orule limit 1;
    end if;
    chars := coalesce(pg_catalog.string_to_array(source, null), '{}'::text[]);
    select * into parsed from i18n._parse(chars, 1, false, 0);
    if parsed.next_pos <= pg_catalog.cardinality(chars) then
        perform i18n._syntax_error(parsed.next_pos, 'unmatched }');
    end if;
    select * into names from i18n._names(parsed.nodes, cats, ocats);
    lacking := case when pg_catalog.cardinality(names.lacks) > 0 then names.lacks end;
    if lacking is not null then
        raise exception 'plural case(s) % not used by locale %', pg_catalog.array_to_string(lacking, ', '), ltag
            using errcode = '22023',
                  hint = pg_catalog.format('CLDR gives %s the cardinal categories %s and the ordinal categories %s; '
                      'use =N for exact numbers.', ltag, pg_catalog.array_to_string(cats, ', '),
                      pg_catalog.array_to_string(ocats, ', '));
    end if;
    return pg_catalog.jsonb_build_object(
        'code', pg_catalog.to_jsonb(i18n._emit(parsed.nodes, 1, crule, orule)),
        'placeholders', coalesce((select pg_catalog.jsonb_agg(distinct x.item order by x.item)
            from pg_catalog.unnest(names.args) as x (item)), '[]'),
        'plural_forms', coalesce((select pg_catalog.jsonb_agg(distinct x.item order by x.item)
            from pg_catalog.unnest(names.plurals) as x (item)), '[]'),
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
as $$
-- No SET clause: t() calls this on every read, and a SET saves and restores a GUC per
-- call. Only the pinned definers t() and format() call it; every name is qualified.
declare
    pc integer := 1;
    last integer := pg_catalog.cardinality(code);
    out text := '';
    op text;
    val text;
    num numeric;
    x numeric;
    ax numeric;
    ix numeric;
    vv integer;
    ff numeric;
    tf numeric;
    rule smallint;
    fraction text;
    cat text;
    k integer;
    i integer;
    sels text[];
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
            sels := code[pc + 6:pc + 5 + k];
            if val ~ '^-?[0-9]{1,30}(\.[0-9]{1,30})?$' then
                num := val::numeric;
                if sels[1] like '=%' then
                    i := pg_catalog.array_position(sels, '=' || pg_catalog.trim_scale(num)::text);
                else
                    i := null;
                end if;
                if code[pc + 2] = '0' then
                    x := num;
                else
                    x := num - code[pc + 2]::numeric;
                end if;
                if i is null then
                    ax := pg_catalog.abs(x);
                    if ax < 1000 and pg_catalog.scale(x) = 0 then
                        cat := case pg_catalog.substr(code[pc + 5], ax::integer + 1, 1)
                            when 'o' then 'one' when 'x' then 'other' when 'f' then 'few' when 'm' then 'many'
                            when 't' then 'two' else 'zero' end;
                    else
                        vv := pg_catalog.scale(x);
                        fraction := case when vv > 0 then pg_catalog.split_part(ax::text, '.', 2) end;
                        ix := pg_catalog.trunc(ax);
                        ff := coalesce(fraction::numeric, 0);
                        tf := coalesce(nullif(pg_catalog.rtrim(fraction, '0'), '')::numeric, 0);
                        rule := code[pc + 3]::smallint;
                        cat := i18n._plural(rule, ax, ix, vv, ff, tf, 0);
                    end if;
                    i := coalesce(pg_catalog.array_position(sels, cat), pg_catalog.array_position(sels, 'other'));
                end if;
                stack := stack || x::text;
            else
                i := pg_catalog.array_position(sels, 'other');
                stack := stack || ('{' || code[pc + 1] || '}');
            end if;
            pc := code[pc + 5 + k + i]::integer;
        elsif op = 's' then
            k := code[pc + 2]::integer;
            sels := code[pc + 3:pc + 2 + k];
            i := coalesce(pg_catalog.array_position(sels, params ->> code[pc + 1]),
                pg_catalog.array_position(sels, 'other'));
            pc := code[pc + 2 + k + i]::integer;
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

create or replace function i18n._plural_of_text(rule smallint, number text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    m text[] := pg_catalog.regexp_match(pg_catalog.btrim(number), '^-?([0-9]{1,30})(?:\.([0-9]{1,30}))?(?:[ce]([0-9]{1,2}))?$');
    digits text;
    point integer;
    e integer;
    int_part text;
    fraction text;
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

comment on function i18n._plural_of_text(smallint, text) is
'The category of a number written as text (1, 1.50, CLDR''s compact 1.1c6: the operands keep its '
'visible fraction digits and exponent) under a rule set; null for what is not a number.';

create or replace function i18n.plural_category(locale text, number text, ordinal boolean default false)
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select i18n._plural_of_text(
        i18n._rule_of(coalesce(i18n.canonical_tag(locale), 'und'), coalesce(ordinal, false)), number)
$$;

comment on function i18n.plural_category(text, text, boolean) is
'The CLDR plural category of a number written as text (1, 1.50, CLDR''s compact 1.1c6) in a '
'locale, cardinal or ordinal; null for what is not a number. Never raises.';

revoke all on function
i18n._syntax_error(integer, text), i18n._parse(text[], integer, boolean, integer),
i18n._emit(jsonb, integer, smallint, smallint), i18n._names(jsonb, text[], text[]),
i18n._i18next_text(jsonb, text), i18n._i18next(jsonb, text), i18n.compile(text, text),
i18n._format(text[], jsonb), i18n.format(text, text, jsonb), i18n.plural_category(text, text, boolean),
i18n._plural_of_text(smallint, text)
from public;
grant execute on function i18n.format(text, text, jsonb), i18n.plural_category(text, text, boolean)
to anon, authenticated, service_role;
grant execute on function i18n.compile(text, text), i18n._plural_of_text(smallint, text) to service_role;
