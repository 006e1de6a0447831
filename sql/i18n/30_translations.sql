-- i18n: reading and writing translations. Readers (t, bundle) serve published messages
-- and never raise: an unknown key reads as the key, a bad tag or header as the default
-- locale's chain, a missing parameter as {name}. A brand's layer applies when the
-- caller may read the brand's translations (i18n.read, service_role) or the brand made
-- its wording public (i18n.brand_settings.public_wording); otherwise global wording only.
-- Writers validate everything (tags, sizes, syntax, plural cases) before the first write.

create or replace function i18n._reading_brand(brand_id uuid)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    b uuid := coalesce(brand_id, i18n._request_brand());
begin
    if b is null then
        return null;
    end if;
    if exists (select from i18n.brand_settings as s where s.brand_id = b and s.public_wording)
        or brand.has_permission(b, 'i18n.read')
    then
        return b;
    end if;
    return null;
end
$$;

comment on function i18n._reading_brand(uuid) is
'The brand whose wording applies to this reader: the argument or X-Brand-Id, if its wording is '
'public or the caller may read it; else null (global wording only).';

create or replace function i18n._fast_parts(parts text[], pound text)
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
-- text, argument, text, ... (text first and last; '#': the plural's number, which on the
-- fast path is the parameter pound as JSON wrote it) as [template, name, fallback, ...]:
-- the template for format() with %s for each argument and % doubled, each argument's name
-- and what a missing one shows ({name})
declare
    template text := '';
    out jsonb := '[]'::jsonb;
    arg_name text;
    i integer := 1;
begin
    while i <= pg_catalog.cardinality(parts) loop
        if i % 2 = 1 then
            template := template || pg_catalog.replace(parts[i], '%', '%%');
        else
            arg_name := case when parts[i] = '#' then pound else parts[i] end;
            template := template || '%s';
            out := out || pg_catalog.jsonb_build_array(arg_name, '{' || arg_name || '}');
        end if;
        i := i + 1;
    end loop;
    return pg_catalog.jsonb_build_array(template) || out;
end
$$;

comment on function i18n._fast_parts(text[], text) is
'Parts of a message (text, argument, text, ...) as [format() template, name, fallback, ...] for '
'i18n.t(); # becomes the plural''s parameter.';

create or replace function i18n._fast(code text[])
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
-- A compiled program as parts that i18n.t() finishes with one expression (stored on write
-- in i18n.messages.fast), or null when it needs the formatter. parts: i18n._fast_parts.
-- Shapes:
--   {"p": parts}                                        text and simple arguments
--   {"n": name, "t": the case of each number 0..999, "c": [parts, ...]}        a plural
--   {"n": name, "c": {value | "other": parts}}                                 a select
-- one plural/selectordinal (offset 0) or select at the top level, no plural or select
-- inside its cases; each case's parts hold the text before and after the switch too.
declare
    last integer := pg_catalog.cardinality(code);
    pc integer := 1;
    op text;
    pre text[] := array[''];
    post text[] := array[''];
    cases jsonb := '{}'::jsonb;
    sw text;
    sw_name text;
    tbl text;
    k integer;
    body text[];
    bpc integer;
    end_at integer;
    sel text;
    parts text[];
    sels text[];
    letters text[];
    body_parts jsonb;
begin
    if code is null then
        return null;
    end if;
    while pc <= last loop
        op := code[pc];
        if op = 't' then
            if sw is null then
                pre[pg_catalog.cardinality(pre)] := pre[pg_catalog.cardinality(pre)] || code[pc + 1];
            else
                post[pg_catalog.cardinality(post)] := post[pg_catalog.cardinality(post)] || code[pc + 1];
            end if;
            pc := pc + 2;
        elsif op = 'a' then
            if sw is null then
                pre := pre || array[code[pc + 1], ''];
            else
                post := post || array[code[pc + 1], ''];
            end if;
            pc := pc + 2;
        elsif op = 'e' and sw = 'p' then
            pc := pc + 1;
        elsif op in ('p', 's') and sw is null then
            sw := op;
            sw_name := code[pc + 1];
            if op = 'p' then
                if code[pc + 2] <> '0' then
                    return null;  -- an offset: the formatter
                end if;
                k := code[pc + 4]::integer;
                tbl := code[pc + 5];
                bpc := pc + 5;
            else
                k := code[pc + 2]::integer;
                bpc := pc + 2;
            end if;
            for i in 1..k loop
                sel := code[bpc + i];
                if sw = 'p' and sel !~ '^=' then
                    sel := case sel when 'zero' then 'z' when 'one' then 'o' when 'two' then 't'
                        when 'few' then 'f' when 'many' then 'm' else 'x' end;
                end if;
                body := array[''];
                pc := code[bpc + k + i]::integer;
                loop
                    op := code[pc];
                    if op = 't' then
                        body[pg_catalog.cardinality(body)] := body[pg_catalog.cardinality(body)] || code[pc + 1];
                        pc := pc + 2;
                    elsif op = 'a' then
                        body := body || array[code[pc + 1], ''];
                        pc := pc + 2;
                    elsif op = '#' then
                        body := body || array['#', ''];
                        pc := pc + 1;
                    elsif op = 'j' then
                        end_at := code[pc + 1]::integer;
                        exit;
                    else
                        return null;  -- a plural or select inside a case
                    end if;
                end loop;
                cases := cases || pg_catalog.jsonb_build_object(sel, body);
            end loop;
            pc := end_at;
        else
            return null;  -- a second switch, or a program this version did not write
        end if;
    end loop;
    if sw is null then
        return pg_catalog.jsonb_build_object('p', i18n._fast_parts(pre, null));
    end if;
    -- each case: the text before, the case, the text after, merged where they meet
    for sel, body in
        select e.key, array(select pg_catalog.jsonb_array_elements_text(e.value))
        from pg_catalog.jsonb_each(cases) as e
    loop
        parts := pre[1:pg_catalog.cardinality(pre) - 1] || (pre[pg_catalog.cardinality(pre)] || body[1]) || body[2:];
        parts := parts[1:pg_catalog.cardinality(parts) - 1] || (parts[pg_catalog.cardinality(parts)] || post[1])
            || post[2:];
        cases := cases || pg_catalog.jsonb_build_object(sel, i18n._fast_parts(parts, sw_name));
    end loop;
    if sw = 's' then
        return pg_catalog.jsonb_build_object('n', sw_name, 'c', cases);
    end if;
    -- a plural: its cases as an array, and for each number 0..999 the case it takes
    -- (=N first, then its category, then other) as one character, chr(48 + index)
    select pg_catalog.jsonb_agg(e.value order by e.key), pg_catalog.array_agg(e.key order by e.key)
    into body_parts, sels
    from pg_catalog.jsonb_each(cases) as e;
    letters := pg_catalog.string_to_array(tbl, null);
    select pg_catalog.string_agg(pg_catalog.chr(48 + pg_catalog.array_position(sels, case
            when cases ? ('=' || g.n) then '=' || g.n
            when cases ? letters[g.n + 1] then letters[g.n + 1]
            else 'x' end) - 1), '' order by g.n)
    into tbl
    from pg_catalog.generate_series(0, 999) as g (n);
    return pg_catalog.jsonb_build_object('n', sw_name, 't', tbl, 'c', body_parts);
end
$$;

comment on function i18n._fast(text[]) is
'A compiled message as the parts i18n.t() finishes in one expression (text, simple arguments, '
'one top-level plural or select); null when it needs i18n._format.';

create or replace function i18n._t(
    key text,
    locale text default null,
    params jsonb default '{}',
    namespace text default 'common',
    brand_id uuid default null
)
returns text
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    chain text[];
    code text[];
    b uuid;
begin
    if key is null or pg_catalog.length(key) > 200 or pg_catalog.length(namespace) > 64 then
        return key;
    end if;
    if brand_id is not null or pg_catalog.current_setting('request.headers', true) like '%x-brand-id%' then
        b := i18n._reading_brand(brand_id);
    end if;
    if b is null then
        -- the hot path: a platform locale, global wording: one probe of the resolved messages
        select rs.code into code
        from i18n.resolved as rs
        where rs.namespace = _t.namespace and rs.locale = _t.locale and rs.key = _t.key;
        if not found then
            chain := i18n.resolve_chain(locale, brand_id);
            select m.code into code
            from i18n.messages as m
            where m.namespace = _t.namespace and m.locale = any(chain) and m.key = _t.key and m.code is not null
            order by pg_catalog.array_position(chain, m.locale)
            limit 1;
        end if;
    else
        select l.chain into chain from i18n.locales as l where l.tag = _t.locale;
        if chain is null then
            chain := i18n.resolve_chain(locale, brand_id);
        end if;
        select x.code into code
        from (
            select m.code, pg_catalog.array_position(chain, m.locale) * 2 as rank
            from i18n.brand_messages as m
            where m.brand_id = b and m.namespace = _t.namespace and m.locale = any(chain) and m.key = _t.key
                and m.code is not null
            union all
            select m.code, pg_catalog.array_position(chain, m.locale) * 2 + 1
            from i18n.messages as m
            where m.namespace = _t.namespace and m.locale = any(chain) and m.key = _t.key and m.code is not null
        ) as x
        order by x.rank
        limit 1;
    end if;
    if code is null then
        return key;
    elsif code[1] = 't' and pg_catalog.cardinality(code) = 2 then
        return code[2];
    end if;
    return i18n._format(code, coalesce(params, '{}'::jsonb));
end
$$;

comment on function i18n._t(text, text, jsonb, text, uuid) is
'i18n.t() past its one-expression path: the brand''s layer, an Accept-Language header or a tag to '
'resolve, and messages that need the formatter (nested plural or select, an offset, a number '
'outside 0..999). Same answers as i18n.t(). Never raises.';

create or replace function i18n.t(
    key text,
    locale text default null,
    params jsonb default '{}',
    namespace text default 'common',
    brand_id uuid default null
)
returns text
language plpgsql
stable
as $$
-- SECURITY INVOKER without a SET clause (a definer's SET saves and restores a GUC on every
-- call, the cost of this path): everyone reads published global wording, so the probe of
-- i18n.resolved runs with the caller's rights (a policy for anon and authenticated), and
-- every type, relation, function and operator is qualified: the caller's search_path and
-- pg_temp change nothing here. The brand's layer (authority from the caller's roles) and
-- everything else go to the definer i18n._t(), which gives the same answers.
declare
    p pg_catalog.jsonb;
    nm pg_catalog.text;
    tb pg_catalog.text;
    c pg_catalog.jsonb;
begin
    -- Each function in an expression costs a permission check and a lookup when the
    -- expression is first run in a transaction: the path keeps them few.
    if brand_id is null and coalesce(pg_catalog.current_setting('request.headers', true), '')
        operator(pg_catalog.!~~) '%x-brand-id%'
    then
        select rs.parts, rs.arg, rs.tbl, rs.cases into p, nm, tb, c
        from i18n.resolved as rs
        where rs.namespace operator(pg_catalog.=) t.namespace and rs.locale operator(pg_catalog.=) t.locale
            and rs.key operator(pg_catalog.=) t.key;
        if p is not null then
            null;  -- text and simple arguments
        elsif tb is not null then
            -- a plural: a whole number 0..999 as JSON writes it takes the case the table
            -- gives it (=N, its category, other); any other number goes to the formatter
            if params operator(pg_catalog.->>) nm operator(pg_catalog.~) '^(0|[1-9][0-9]{0,2})$' then
                p := c operator(pg_catalog.->) (pg_catalog.ascii(pg_catalog.substr(tb,
                    (params operator(pg_catalog.->>) nm)::pg_catalog.int4 operator(pg_catalog.+) 1, 1))
                    operator(pg_catalog.-) 48);
            end if;
        elsif nm is not null then
            p := coalesce(c operator(pg_catalog.->) (params operator(pg_catalog.->>) nm),
                c operator(pg_catalog.->) 'other');
        end if;
        -- [template, name, fallback, ...]: each argument's parameter, or {name}
        if pg_catalog.jsonb_array_length(p) operator(pg_catalog.<=) 3 then
            return pg_catalog.format(p operator(pg_catalog.->>) 0,
                coalesce(params operator(pg_catalog.->>) (p operator(pg_catalog.->>) 1), p operator(pg_catalog.->>) 2));
        elsif pg_catalog.jsonb_array_length(p) operator(pg_catalog.>) 3 then
            return pg_catalog.format(p operator(pg_catalog.->>) 0, variadic array(
                select coalesce(params operator(pg_catalog.->>) (p operator(pg_catalog.->>) g.i),
                    p operator(pg_catalog.->>) (g.i operator(pg_catalog.+) 1))
                from pg_catalog.generate_series(1, pg_catalog.jsonb_array_length(p) operator(pg_catalog.-) 1, 2) as g (i)
                order by g.i));
        end if;
    end if;
    return i18n._t(key, locale, params, namespace, brand_id);
end
$$;

comment on function i18n.t(text, text, jsonb, text, uuid) is
'The published message for a key, formatted with params (ICU MessageFormat, CLDR plurals), for a '
'locale tag or an Accept-Language header (null: the request''s), through the fallback chain, the '
'brand''s wording first at each step. A key without a message reads as the key. Never raises. '
'A platform tag and global wording in a common shape take one probe and one expression; the '
'rest is i18n._t().';

create or replace function i18n._build_bundle(brand_id uuid, namespace text, chain text[])
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.jsonb_object_agg(r.key || e.key, e.value), '{}'::jsonb)
    from (
        select distinct on (x.key) x.key, x.i18next
        from (
            select m.key, m.i18next, pg_catalog.array_position(chain, m.locale) * 2 as rank
            from i18n.brand_messages as m
            where m.brand_id = _build_bundle.brand_id and m.namespace = _build_bundle.namespace
                and m.locale = any(chain) and m.i18next is not null
            union all
            select m.key, m.i18next, pg_catalog.array_position(chain, m.locale) * 2 + 1
            from i18n.messages as m
            where m.namespace = _build_bundle.namespace and m.locale = any(chain) and m.i18next is not null
        ) as x
        order by x.key, x.rank
    ) as r
    cross join lateral pg_catalog.jsonb_each(r.i18next) as e
$$;

comment on function i18n._build_bundle(uuid, text, text[]) is
'A bundle computed from the messages: every published key of the namespace, first along the chain, '
'the brand''s row before the global one at each step.';

create or replace function i18n._rebuild_bundles(brand_id uuid, namespace text, changed text[])
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- every locale whose chain passes through a changed locale (null: all of them)
    if brand_id is null then
        delete from i18n.resolved as rs
        where rs.namespace = _rebuild_bundles.namespace
            and (changed is null or rs.locale in (select l.tag from i18n.locales as l where l.chain && changed));
        insert into i18n.resolved (namespace, locale, key, code, parts, arg, tbl, cases)
        select distinct on (l.tag, m.key) _rebuild_bundles.namespace, l.tag, m.key, m.code,
            m.fast -> 'p', m.fast ->> 'n', m.fast ->> 't', m.fast -> 'c'
        from i18n.locales as l
        inner join i18n.messages as m
            on m.namespace = _rebuild_bundles.namespace and m.locale = any(l.chain) and m.code is not null
        where changed is null or l.chain && changed
        order by l.tag, m.key, pg_catalog.array_position(l.chain, m.locale);
        insert into i18n.bundles as b (namespace, locale, body)
        select _rebuild_bundles.namespace, l.tag, i18n._build_bundle(null, _rebuild_bundles.namespace, l.chain)
        from i18n.locales as l
        where changed is null or l.chain && changed
        on conflict on constraint bundles_pkey do update set body = excluded.body, built_at = pg_catalog.now();
        -- brands with wording of their own build on the global one
        insert into i18n.brand_bundles as b (brand_id, namespace, locale, body)
        select o.brand_id, _rebuild_bundles.namespace, l.tag,
            i18n._build_bundle(o.brand_id, _rebuild_bundles.namespace, l.chain)
        from (select distinct m.brand_id from i18n.brand_messages as m
              where m.namespace = _rebuild_bundles.namespace) as o
        cross join i18n.locales as l
        where changed is null or l.chain && changed
        on conflict on constraint brand_bundles_pkey do update set body = excluded.body, built_at = pg_catalog.now();
    elsif not exists (
        select from i18n.brand_messages as m
        where m.brand_id = _rebuild_bundles.brand_id and m.namespace = _rebuild_bundles.namespace
    ) then
        delete from i18n.brand_bundles as b
        where b.brand_id = _rebuild_bundles.brand_id and b.namespace = _rebuild_bundles.namespace;
    else
        insert into i18n.brand_bundles as b (brand_id, namespace, locale, body)
        select _rebuild_bundles.brand_id, _rebuild_bundles.namespace, l.tag,
            i18n._build_bundle(_rebuild_bundles.brand_id, _rebuild_bundles.namespace, l.chain)
        from i18n.locales as l
        where changed is null or l.chain && changed
            or not exists (select from i18n.brand_bundles as x where x.brand_id = _rebuild_bundles.brand_id
                and x.namespace = _rebuild_bundles.namespace and x.locale = l.tag)
        on conflict on constraint brand_bundles_pkey do update set body = excluded.body, built_at = pg_catalog.now();
    end if;
end
$$;

comment on function i18n._rebuild_bundles(uuid, text, text[]) is
'Rebuilds the cached bundles a change touches: the global ones (and every brand bundle over them) '
'or one brand''s, for the locales whose chain contains a changed locale (null: every locale).';

create or replace function i18n._rebuild_all_bundles()
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
begin
    delete from i18n.bundles as b
    where not exists (select from i18n.messages as m where m.namespace = b.namespace);
    delete from i18n.resolved as rs
    where not exists (select from i18n.messages as m where m.namespace = rs.namespace);
    for r in select distinct m.namespace from i18n.messages as m loop
        perform i18n._rebuild_bundles(null, r.namespace, null);
    end loop;
    for r in select distinct m.brand_id, m.namespace from i18n.brand_messages as m loop
        perform i18n._rebuild_bundles(r.brand_id, r.namespace, null);
    end loop;
end
$$;

comment on function i18n._rebuild_all_bundles() is
'Rebuilds every cached bundle (after a change of locales or chains).';

create or replace function i18n.tg_messages__bundles()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    touched jsonb := '[]'::jsonb;
    r record;
begin
    if pg_catalog.current_setting('i18n.defer_bundles', true) = 'on' then
        return null;  -- i18n.import_messages rebuilds once at its end
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        select touched || coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(n) - 'code' - 'source'
            - 'published_source' - 'i18next' - 'fast'), '[]'::jsonb)
        into touched from new_rows as n where n.i18next is not null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        select touched || coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(o) - 'code' - 'source'
            - 'published_source' - 'i18next' - 'fast'), '[]'::jsonb)
        into touched from old_rows as o where o.i18next is not null;
    end if;
    for r in
        select (x.value ->> 'brand_id')::uuid as brand_id, x.value ->> 'namespace' as namespace,
            pg_catalog.array_agg(distinct x.value ->> 'locale') as locales
        from pg_catalog.jsonb_array_elements(touched) as x
        group by 1, 2
    loop
        perform i18n._rebuild_bundles(r.brand_id, r.namespace, r.locales);
    end loop;
    return null;
end
$$;

comment on function i18n.tg_messages__bundles() is
'After a statement on messages or brand_messages: rebuilds the cached bundles it touched.';

do $$
declare
    t text;
begin
    foreach t in array array['messages', 'brand_messages'] loop
        execute format('drop trigger if exists %I on i18n.%I', t || '_bundles_insert', t);
        execute format('drop trigger if exists %I on i18n.%I', t || '_bundles_update', t);
        execute format('drop trigger if exists %I on i18n.%I', t || '_bundles_delete', t);
        -- a trigger with transition tables fires on one event each
        execute format('create trigger %I after insert on i18n.%I referencing new table as new_rows '
            'for each statement execute function i18n.tg_messages__bundles()', t || '_bundles_insert', t);
        execute format('create trigger %I after update on i18n.%I referencing old table as old_rows '
            'new table as new_rows for each statement execute function i18n.tg_messages__bundles()',
            t || '_bundles_update', t);
        execute format('create trigger %I after delete on i18n.%I referencing old table as old_rows '
            'for each statement execute function i18n.tg_messages__bundles()', t || '_bundles_delete', t);
    end loop;
end
$$;

create or replace function i18n.bundle(
    locale text default null, namespace text default 'common', brand_id uuid default null
)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    b uuid := i18n._reading_brand(brand_id);
    tag text := locale;
    out jsonb;
begin
    if pg_catalog.length(namespace) > 64 then
        return '{}'::jsonb;
    end if;
    if not exists (select from i18n.locales as l where l.tag = bundle.locale) then
        tag := (i18n.resolve_chain(locale, brand_id))[1];
    end if;
    if b is not null then
        select x.body into out from i18n.brand_bundles as x
        where x.brand_id = b and x.namespace = bundle.namespace and x.locale = tag;
    end if;
    if out is null then
        select x.body into out from i18n.bundles as x where x.namespace = bundle.namespace and x.locale = tag;
    end if;
    return coalesce(out, '{}'::jsonb);
end
$$;

comment on function i18n.bundle(text, text, uuid) is
'Every published key of a namespace with fallbacks resolved, in i18next''s JSON v4 shape (flat keys; '
'plurals on count as key_one, key_other ...; ICU text where i18next''s syntax cannot say it, for '
'i18next-icu), for a tag or an Accept-Language header. For the app''s boot: one lookup of the '
'cached bundle. Never raises.';

create or replace function i18n.request_chain()
returns text[]
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select i18n.resolve_chain(null, null)
$$;

comment on function i18n.request_chain() is
'The fallback chain of the request''s locale (Accept-Language, X-Brand-Id): what translated views use.';

-- ---------------------------------------------------------------------------------------
-- Writers

create or replace function i18n._assert_writer(brand_id uuid)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if brand_id is null then
        if not brand.caller_is_service() then
            raise exception 'only the platform changes global translations'
                using errcode = '42501',
                      hint = 'Pass your brand_id to change your brand''s wording; global messages are '
                             'changed by service_role or the owner (brandbase i18n import).';
        end if;
    else
        perform brand.require_permission(brand_id, 'i18n.manage');
    end if;
end
$$;

comment on function i18n._assert_writer(uuid) is
'42501 unless the caller may change the brand''s translations (null: the global ones, service only).';

create or replace function i18n._check_key(namespace text, key text, locale text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    canon_tag text;
begin
    if pg_catalog.length(namespace) > 64 or pg_catalog.length(key) > 200 or pg_catalog.length(locale) > 64 then
        raise exception 'namespace, key or locale too long' using errcode = '22001',
            hint = 'A namespace has at most 64 characters, a key 200, a locale tag 64.';
    end if;
    if namespace is null or namespace !~ '^[A-Za-z0-9_.-]{1,64}$' then
        raise exception 'invalid namespace "%"', coalesce(namespace, 'null') using errcode = '22023',
            hint = 'A namespace is 1-64 letters, digits, _ . or - (e.g. common, checkout).';
    end if;
    if key is null or key = '' or key ~ '[[:cntrl:]]' then
        raise exception 'invalid translation key' using errcode = '22023',
            hint = 'A key is 1-200 printable characters, e.g. cart.checkout.title.';
    end if;
    canon_tag := i18n.assert_tag(locale);
    if not exists (select from i18n.locales as l where l.tag = canon_tag) then
        raise exception 'locale % is not one of the platform''s locales', canon_tag using errcode = '22023',
            hint = 'See api.locales; the platform adds locales with i18n.set_locale.';
    end if;
    return canon_tag;
end
$$;

comment on function i18n._check_key(text, text, text) is
'Validates a namespace, key and locale (22001, 22023); the canonical tag.';

create or replace function i18n.set_message(
    brand_id uuid,
    namespace text,
    key text,
    locale text,
    source text,
    status text default 'draft',
    description text default null
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    tag text;
    compiled jsonb;
    st text := coalesce(status, 'draft');
    pub boolean;
    ph text[];
    pf text[];
    code text[];
begin
    perform i18n._assert_writer(brand_id);
    tag := i18n._check_key(namespace, key, locale);
    if st not in ('draft', 'reviewed', 'published') then
        raise exception 'invalid status "%"', pg_catalog.left(st, 40) using errcode = '22023',
            hint = 'A translation is draft, reviewed or published.';
    end if;
    if pg_catalog.length(description) > 2000 then
        raise exception 'description too long' using errcode = '22001',
            hint = 'A description has at most 2000 characters.';
    end if;
    compiled := i18n.compile(source, tag);
    pub := st = 'published';
    ph := array(select pg_catalog.jsonb_array_elements_text(compiled -> 'placeholders'));
    pf := array(select pg_catalog.jsonb_array_elements_text(compiled -> 'plural_forms'));
    code := array(select pg_catalog.jsonb_array_elements_text(compiled -> 'code'));
    if brand_id is null then
        insert into i18n.messages as m (namespace, key, locale, source, status, placeholders, plural_forms,
            published_source, code, fast, i18next, description, updated_by)
        values (namespace, key, tag, source, st, ph, pf, case when pub then source end,
            case when pub then code end, case when pub then i18n._fast(code) end,
            case when pub then compiled -> 'i18next' end,
            coalesce(description, ''), brand.caller_id())
        on conflict on constraint messages_pkey do update set
            source = excluded.source, status = excluded.status, placeholders = excluded.placeholders,
            plural_forms = excluded.plural_forms,
            published_source = case when pub then excluded.published_source else m.published_source end,
            code = case when pub then excluded.code else m.code end,
            fast = case when pub then excluded.fast else m.fast end,
            i18next = case when pub then excluded.i18next else m.i18next end,
            description = coalesce(set_message.description, m.description),
            updated_by = excluded.updated_by, updated_at = pg_catalog.now();
    else
        insert into i18n.brand_messages as m (brand_id, namespace, key, locale, source, status, placeholders,
            plural_forms, published_source, code, i18next, description, updated_by)
        values (brand_id, namespace, key, tag, source, st, ph, pf, case when pub then source end,
            case when pub then code end, case when pub then compiled -> 'i18next' end,
            coalesce(description, ''), brand.caller_id())
        on conflict on constraint brand_messages_pkey do update set
            source = excluded.source, status = excluded.status, placeholders = excluded.placeholders,
            plural_forms = excluded.plural_forms,
            published_source = case when pub then excluded.published_source else m.published_source end,
            code = case when pub then excluded.code else m.code end,
            i18next = case when pub then excluded.i18next else m.i18next end,
            description = coalesce(set_message.description, m.description),
            updated_by = excluded.updated_by, updated_at = pg_catalog.now();
    end if;
    return pg_catalog.jsonb_build_object('namespace', namespace, 'key', key, 'locale', tag, 'status', st,
        'placeholders', compiled -> 'placeholders', 'plural_forms', compiled -> 'plural_forms');
end
$$;

comment on function i18n.set_message(uuid, text, text, text, text, text, text) is
'Adds or changes a translation''s working copy (brand_id null: global, service only; else the '
'brand''s, i18n.manage). status published also publishes it. 22023 for a bad tag, key, syntax '
'error or a plural case the locale lacks.';

create or replace function i18n.set_status(brand_id uuid, namespace text, key text, locale text, status text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    tag text;
    working text;
    compiled jsonb;
begin
    perform i18n._assert_writer(brand_id);
    tag := i18n._check_key(namespace, key, locale);
    if status is null or status not in ('draft', 'reviewed', 'published') then
        raise exception 'invalid status "%"', pg_catalog.left(coalesce(status, 'null'), 40) using errcode = '22023',
            hint = 'A translation is draft, reviewed or published.';
    end if;
    if brand_id is null then
        select m.source into working from i18n.messages as m
        where m.namespace = set_status.namespace and m.locale = tag and m.key = set_status.key;
    else
        select m.source into working from i18n.brand_messages as m
        where m.brand_id = set_status.brand_id and m.namespace = set_status.namespace and m.locale = tag
            and m.key = set_status.key;
    end if;
    if working is null then
        raise exception 'translation %/% (%) not found', namespace, key, tag using errcode = 'PT404',
            hint = 'Create it with set_translation first.';
    end if;
    compiled := case when status = 'published' then i18n.compile(working, tag) end;
    if brand_id is null then
        update i18n.messages as m set status = set_status.status, updated_by = brand.caller_id(), updated_at = pg_catalog.now(),
            published_source = case when compiled is null then m.published_source else m.source end,
            code = case when compiled is null then m.code else array(select pg_catalog.jsonb_array_elements_text(compiled -> 'code')) end,
            fast = case when compiled is null then m.fast
                else i18n._fast(array(select pg_catalog.jsonb_array_elements_text(compiled -> 'code'))) end,
            i18next = case when compiled is null then m.i18next else compiled -> 'i18next' end
        where m.namespace = set_status.namespace and m.locale = tag and m.key = set_status.key;
    else
        update i18n.brand_messages as m set status = set_status.status, updated_by = brand.caller_id(), updated_at = pg_catalog.now(),
            published_source = case when compiled is null then m.published_source else m.source end,
            code = case when compiled is null then m.code else array(select pg_catalog.jsonb_array_elements_text(compiled -> 'code')) end,
            i18next = case when compiled is null then m.i18next else compiled -> 'i18next' end
        where m.brand_id = set_status.brand_id and m.namespace = set_status.namespace and m.locale = tag
            and m.key = set_status.key;
    end if;
end
$$;

comment on function i18n.set_status(uuid, text, text, text, text) is
'Moves a translation''s working copy to draft, reviewed or published (publishing serves it). '
'PT404 when missing.';

create or replace function i18n.delete_message(brand_id uuid, namespace text, key text, locale text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    tag text;
begin
    perform i18n._assert_writer(brand_id);
    tag := i18n._check_key(namespace, key, locale);
    if brand_id is null then
        delete from i18n.messages as m
        where m.namespace = delete_message.namespace and m.locale = tag and m.key = delete_message.key;
    else
        delete from i18n.brand_messages as m
        where m.brand_id = delete_message.brand_id and m.namespace = delete_message.namespace and m.locale = tag
            and m.key = delete_message.key;
    end if;
    if not found then
        raise exception 'translation %/% (%) not found', namespace, key, tag using errcode = 'PT404',
            hint = 'See api.translations for the brand''s keys.';
    end if;
end
$$;

comment on function i18n.delete_message(uuid, text, text, text) is
'Removes a translation (the brand''s, or with brand_id null a global one); PT404 when missing.';

create or replace function i18n.import_messages(rows jsonb, brand_id uuid default null)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
    n integer := 0;
    dup record;
begin
    perform i18n._assert_writer(brand_id);
    if pg_catalog.jsonb_typeof(rows) is distinct from 'array' then
        raise exception 'import expects a JSON array of messages' using errcode = '22023',
            hint = '[{"namespace", "key", "locale", "source", "status", "description"}, ...]';
    end if;
    -- the same key twice: identical rows are one, different ones a conflict (nothing is written)
    select x.value ->> 'namespace' as ns, x.value ->> 'key' as k, i18n.canonical_tag(x.value ->> 'locale') as loc
    into dup
    from pg_catalog.jsonb_array_elements(rows) as x
    group by 1, 2, 3
    having count(distinct x.value ->> 'source') > 1
    limit 1;
    if found then
        raise exception 'conflicting translations for %/% (%) in the import', dup.ns, dup.k, dup.loc
            using errcode = '23505',
                  hint = 'Each namespace, key and locale may appear once (or with the same text); nothing was imported.';
    end if;
    perform pg_catalog.set_config('i18n.defer_bundles', 'on', true);
    for r in
        select distinct on (x.value ->> 'namespace', x.value ->> 'key', i18n.canonical_tag(x.value ->> 'locale'))
            x.value ->> 'namespace' as ns, x.value ->> 'key' as k, x.value ->> 'locale' as loc,
            x.value ->> 'source' as src, coalesce(x.value ->> 'status', 'published') as st,
            x.value ->> 'description' as descr
        from pg_catalog.jsonb_array_elements(rows) with ordinality as x (value, o)
        order by x.value ->> 'namespace', x.value ->> 'key', i18n.canonical_tag(x.value ->> 'locale'), x.o
    loop
        perform i18n.set_message(brand_id, r.ns, r.k, r.loc, r.src, r.st, r.descr);
        n := n + 1;
    end loop;
    perform pg_catalog.set_config('i18n.defer_bundles', 'off', true);
    for r in select distinct x.value ->> 'namespace' as ns from pg_catalog.jsonb_array_elements(rows) as x loop
        perform i18n._rebuild_bundles(brand_id, r.ns, null);
    end loop;
    return n;
end
$$;

comment on function i18n.import_messages(jsonb, uuid) is
'Writes many translations in one transaction (brandbase i18n import): all or nothing. 23505 for '
'conflicting duplicates, the errors of set_message for the first bad row.';

create or replace function i18n.set_brand_locales(brand_id uuid, tags text[], default_tag text)
returns text[]
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    canon text[] := '{}'::text[];
    one_tag text;
    dflt text;
begin
    perform brand.require_permission(brand_id, 'i18n.manage');
    if pg_catalog.cardinality(tags) > 200 then
        raise exception 'too many locales' using errcode = '22001', hint = 'A brand serves at most 200 locales.';
    end if;
    foreach one_tag in array coalesce(tags, '{}'::text[]) loop
        one_tag := i18n.assert_tag(one_tag);
        if not exists (select from i18n.locales as l where l.tag = one_tag) then
            raise exception 'locale % is not one of the platform''s locales', one_tag using errcode = '22023',
                hint = 'See api.locales for the locales a brand can enable.';
        end if;
        if not one_tag = any(canon) then
            canon := canon || one_tag;
        end if;
    end loop;
    dflt := i18n.assert_tag(default_tag);
    if not dflt = any(canon) then
        raise exception 'the default locale % is not among the brand''s locales', dflt using errcode = '22023',
            hint = 'List the default locale in tags too.';
    end if;
    delete from i18n.brand_locales as bl where bl.brand_id = set_brand_locales.brand_id and not bl.tag = any(canon);
    update i18n.brand_locales as bl set is_default = false
    where bl.brand_id = set_brand_locales.brand_id and bl.is_default and bl.tag <> dflt;
    insert into i18n.brand_locales as bl (brand_id, tag, is_default)
    select set_brand_locales.brand_id, t.tag, t.tag = dflt from pg_catalog.unnest(canon) as t (tag)
    on conflict on constraint brand_locales_pkey do update set is_default = excluded.is_default;
    return canon;
end
$$;

comment on function i18n.set_brand_locales(uuid, text[], text) is
'Sets the locales a brand serves and its default (i18n.manage); the canonical tags.';

create or replace function i18n.set_brand_settings(brand_id uuid, public_wording boolean)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'i18n.manage');
    insert into i18n.brand_settings as s (brand_id, public_wording)
    values (brand_id, coalesce(public_wording, false))
    on conflict on constraint brand_settings_pkey do update set
        public_wording = excluded.public_wording, updated_at = pg_catalog.now();
end
$$;

comment on function i18n.set_brand_settings(uuid, boolean) is
'Whether the brand''s published wording is served to anyone naming the brand (i18n.manage).';

create or replace function i18n._refresh_fast()
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    n integer;
begin
    -- rows published before the fast form existed, or built by an older i18n._fast;
    -- the bundles are rebuilt once afterwards (i18n._rebuild_all_bundles)
    perform pg_catalog.set_config('i18n.defer_bundles', 'on', true);
    update i18n.messages as m set fast = i18n._fast(m.code)
    where m.code is not null and m.fast is distinct from i18n._fast(m.code);
    get diagnostics n = row_count;
    perform pg_catalog.set_config('i18n.defer_bundles', 'off', true);
    return n;
end
$$;

comment on function i18n._refresh_fast() is
'Fills i18n.messages.fast for every published message whose fast form is missing or stale; '
'the number of rows changed. Run at the end of this file, which holds i18n._fast.';

revoke all on function
i18n._reading_brand(uuid), i18n.t(text, text, jsonb, text, uuid), i18n._t(text, text, jsonb, text, uuid),
i18n.bundle(text, text, uuid),
i18n._build_bundle(uuid, text, text[]), i18n._rebuild_bundles(uuid, text, text[]),
i18n._rebuild_all_bundles(), i18n._refresh_fast(), i18n._fast(text[]), i18n._fast_parts(text[], text),
i18n.tg_messages__bundles(),
i18n.request_chain(), i18n._assert_writer(uuid), i18n._check_key(text, text, text),
i18n.set_message(uuid, text, text, text, text, text, text), i18n.set_status(uuid, text, text, text, text),
i18n.delete_message(uuid, text, text, text), i18n.import_messages(jsonb, uuid),
i18n.set_brand_locales(uuid, text[], text), i18n.set_brand_settings(uuid, boolean)
from public;
grant execute on function
i18n.t(text, text, jsonb, text, uuid), i18n._t(text, text, jsonb, text, uuid), i18n.bundle(text, text, uuid),
i18n.request_chain()
to anon, authenticated, service_role;
grant execute on function
i18n.set_message(uuid, text, text, text, text, text, text), i18n.set_status(uuid, text, text, text, text),
i18n.delete_message(uuid, text, text, text), i18n.set_brand_locales(uuid, text[], text),
i18n.set_brand_settings(uuid, boolean)
to authenticated, service_role;
grant execute on function i18n.import_messages(jsonb, uuid) to service_role;

-- a changed i18n._fast (this file): the stored fast forms again, and the resolved messages
-- with them (i18n.resolved copies them); a no-op when nothing changed
select i18n._rebuild_all_bundles()
where i18n._refresh_fast() > 0;
