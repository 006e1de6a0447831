-- i18n: locale tags and fallback chains. Tags are BCP 47 (RFC 5646), canonicalised as
-- the RFC recommends (lowercase language, Titlecase script, UPPERCASE region) plus the
-- deprecated language aliases; fallback chains follow explicit steps, then truncate as
-- RFC 4647 lookup does, and end with the default locale. Chains are resolved on write
-- (i18n.locales.chain), so a reader never walks them. Readers get null for a bad tag;
-- writers get 22023.

create or replace function i18n.canonical_tag(tag text)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    parts text[];
    n integer;
    idx integer := 2;
    lang text;
    out text;
    seen text[] := '{}'::text[];
    extlangs integer := 0;
begin
    if tag is null or pg_catalog.length(tag) > 64 then
        return null;
    end if;
    tag := pg_catalog.lower(pg_catalog.replace(pg_catalog.btrim(tag), '_', '-'));
    if tag !~ '^[a-z0-9]+(-[a-z0-9]+)*$' then
        return null;
    end if;
    parts := pg_catalog.string_to_array(tag, '-');
    n := pg_catalog.cardinality(parts);
    if parts[1] = 'x' then
        return case when n > 1 and tag ~ '^x(-[a-z0-9]{1,8})+$' then tag end;
    end if;
    lang := parts[1];
    if lang !~ '^([a-z]{2,3}|[a-z]{5,8})$' then
        return null;
    end if;
    lang := case lang
        when 'iw' then 'he' when 'in' then 'id' when 'ji' then 'yi' when 'jw' then 'jv'
        when 'mo' then 'ro' when 'tl' then 'fil'
        else lang
    end;
    out := lang;
    -- extlang (up to three, only after a 2-3 letter language)
    while idx <= n and pg_catalog.length(lang) <= 3 and parts[idx] ~ '^[a-z]{3}$' and extlangs < 3 loop
        out := out || '-' || parts[idx];
        idx := idx + 1;
        extlangs := extlangs + 1;
    end loop;
    if idx <= n and parts[idx] ~ '^[a-z]{4}$' then
        out := out || '-' || pg_catalog.initcap(parts[idx]);
        idx := idx + 1;
    end if;
    if idx <= n and parts[idx] ~ '^([a-z]{2}|[0-9]{3})$' then
        out := out || '-' || pg_catalog.upper(parts[idx]);
        idx := idx + 1;
    end if;
    while idx <= n and parts[idx] ~ '^([a-z0-9]{5,8}|[0-9][a-z0-9]{3})$' loop
        if parts[idx] = any(seen) then
            return null;  -- a repeated variant
        end if;
        seen := seen || parts[idx];
        out := out || '-' || parts[idx];
        idx := idx + 1;
    end loop;
    seen := '{}'::text[];
    while idx <= n and parts[idx] ~ '^[a-wyz0-9]$' loop
        if parts[idx] = any(seen) or idx = n or parts[idx + 1] !~ '^[a-z0-9]{2,8}$' then
            return null;  -- a repeated or empty extension
        end if;
        seen := seen || parts[idx];
        out := out || '-' || parts[idx];
        idx := idx + 1;
        while idx <= n and parts[idx] ~ '^[a-z0-9]{2,8}$' loop
            out := out || '-' || parts[idx];
            idx := idx + 1;
        end loop;
    end loop;
    if idx <= n and parts[idx] = 'x' then
        if idx = n then
            return null;
        end if;
        out := out || '-x';
        idx := idx + 1;
        while idx <= n and parts[idx] ~ '^[a-z0-9]{1,8}$' loop
            out := out || '-' || parts[idx];
            idx := idx + 1;
        end loop;
    end if;
    if idx <= n then
        return null;
    end if;
    return out;
end
$$;

comment on function i18n.canonical_tag(text) is
'The canonical form of a BCP 47 language tag (en-us -> en-US, zh-hant-tw -> zh-Hant-TW, '
'iw -> he, en_US accepted), or null when it is not a well-formed tag. Never raises.';

create or replace function i18n.assert_tag(tag text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    canonical text := i18n.canonical_tag(tag);
begin
    if canonical is null then
        raise exception 'invalid locale tag "%"', pg_catalog.left(coalesce(tag, 'null'), 70)
            using errcode = '22023',
                  hint = 'Use a BCP 47 language tag such as en, de-AT, zh-Hant-TW or es-419.';
    end if;
    return canonical;
end
$$;

comment on function i18n.assert_tag(text) is 'The canonical tag, or 22023 for writers when it is not one.';

create or replace function i18n._truncate(tag text)
returns text
language sql
immutable
parallel safe
as $$
    -- RFC 4647 3.4 lookup: drop the last subtag, and a singleton left at the end with it
    select case
        when pg_catalog.strpos(tag, '-') = 0 then null
        else pg_catalog.regexp_replace(
            pg_catalog.regexp_replace(tag, '-[^-]*$', ''), '-[A-Za-z0-9]$', ''
        )
    end
$$;

comment on function i18n._truncate(text) is
'The next shorter range of RFC 4647 lookup (de-CH-1996 -> de-CH -> de); null after the language.';

create or replace function i18n._rule_of(tag text, ordinal boolean)
returns smallint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    cur text := tag;
    rule smallint;
begin
    while cur is not null loop
        select case when _rule_of.ordinal then p.ordinal else p.cardinal end into rule
        from i18n._plural_locales() as p
        where pg_catalog.lower(p.locale) = pg_catalog.lower(cur);
        if rule is not null then
            return rule;
        end if;
        cur := i18n._truncate(cur);
    end loop;
    select case when _rule_of.ordinal then p.ordinal else p.cardinal end into rule
    from i18n._plural_locales() as p where p.locale = 'und';
    return rule;
end
$$;

comment on function i18n._rule_of(text, boolean) is
'The CLDR plural rule set of a tag (cardinal or ordinal), found by truncation; und''s otherwise.';

create or replace function i18n.plural_categories(locale text, ordinal boolean default false)
returns text[]
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select case when plural_categories.ordinal then p.ordinal_categories else p.cardinal_categories end
    from i18n._plural_locales() as p
    where p.ordinal = i18n._rule_of(i18n.canonical_tag(plural_categories.locale), true)
        and p.cardinal = i18n._rule_of(i18n.canonical_tag(plural_categories.locale), false)
    limit 1
$$;

comment on function i18n.plural_categories(text, boolean) is
'The plural categories CLDR gives the locale (cardinal, or ordinal), in CLDR order.';

create or replace function i18n.chain_of(tag text)
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    cur text := i18n.canonical_tag(tag);
    chain text[] := '{}'::text[];
    next_tag text;
    steps integer := 0;
    fallback_default text := (select s.default_locale from i18n.settings as s);
begin
    while cur is not null and steps < 30 loop
        steps := steps + 1;
        select l.fallback into next_tag from i18n.locales as l where l.tag = cur;
        if found then
            if not cur = any(chain) then
                chain := chain || cur;
            end if;
            cur := coalesce(next_tag, i18n._truncate(cur));
        else
            cur := i18n._truncate(cur);
        end if;
    end loop;
    if fallback_default is not null and not fallback_default = any(chain) then
        chain := chain || fallback_default;
    end if;
    return chain;
end
$$;

comment on function i18n.chain_of(text) is
'The fallback chain of a tag over the platform''s locales: the tag, explicit fallbacks, RFC 4647 '
'truncations, the default locale last (de-AT -> {de-AT, de, en}). Unknown steps are skipped.';

create or replace function i18n._refresh_chains()
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update i18n.locales as l
    set chain = c.chain, cardinal_rule = c.cr, ordinal_rule = c.o_r,
        cardinal_categories = (select p.cardinal_categories from i18n._plural_locales() as p where p.cardinal = c.cr limit 1),
        ordinal_categories = (select p.ordinal_categories from i18n._plural_locales() as p where p.ordinal = c.o_r limit 1)
    from (
        select x.tag, i18n.chain_of(x.tag) as chain, i18n._rule_of(x.tag, false) as cr,
            i18n._rule_of(x.tag, true) as o_r
        from i18n.locales as x
    ) as c
    where l.tag = c.tag
        and (l.chain, l.cardinal_rule, l.ordinal_rule, l.cardinal_categories is null)
        is distinct from (c.chain, c.cr, c.o_r, false);
end
$$;

comment on function i18n._refresh_chains() is
'Resolves every locale''s chain and plural rule sets again (after any change to locales or settings).';

create or replace function i18n.tg_locales__refresh()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.pg_trigger_depth() = 1 then
        perform i18n._refresh_chains();
        perform i18n._rebuild_all_bundles();
    end if;
    return null;
end
$$;

drop trigger if exists locales_refresh on i18n.locales;
create trigger locales_refresh after insert or update or delete on i18n.locales
for each statement execute function i18n.tg_locales__refresh();
drop trigger if exists settings_refresh on i18n.settings;
create trigger settings_refresh after update on i18n.settings
for each statement execute function i18n.tg_locales__refresh();

create or replace function i18n.set_locale(
    tag text, name text default null, fallback text default null, enabled boolean default true
)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    canonical text := i18n.assert_tag(tag);
    next_tag text := case when fallback is null then null else i18n.assert_tag(fallback) end;
begin
    if pg_catalog.length(name) > 200 then
        raise exception 'locale name too long' using errcode = '22001',
            hint = 'A locale name has at most 200 characters.';
    end if;
    if next_tag = canonical then
        raise exception 'locale % cannot fall back to itself', canonical using errcode = '22023',
            hint = 'Name another locale as the fallback, or none to truncate the tag.';
    end if;
    if next_tag is not null and not exists (select from i18n.locales as l where l.tag = next_tag) then
        raise exception 'fallback locale % does not exist', next_tag using errcode = '22023',
            hint = 'Add the fallback locale first with i18n.set_locale.';
    end if;
    insert into i18n.locales as l (tag, name, fallback, enabled)
    values (canonical, coalesce(name, ''), next_tag, coalesce(enabled, true))
    on conflict on constraint locales_pkey do update set
        name = coalesce(set_locale.name, l.name), fallback = next_tag,
        enabled = coalesce(set_locale.enabled, l.enabled), updated_at = pg_catalog.now();
    return canonical;
end
$$;

comment on function i18n.set_locale(text, text, text, boolean) is
'Adds or changes a platform locale (operators): canonical tag, name, explicit fallback, enabled. '
'Chains of every locale are resolved again.';

-- ---------------------------------------------------------------------------------------
-- Negotiation (RFC 9110 12.5.4 Accept-Language, RFC 4647 3.4 lookup).

create or replace function i18n.negotiate(accept_language text, available text[])
returns text
language plpgsql
immutable
parallel safe
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    header text := pg_catalog.left(accept_language, 4096);
    piece text;
    range_text text;
    params text;
    q numeric;
    pos integer := 0;
    ranges text[] := '{}'::text[];
    weights numeric[] := '{}'::numeric[];
    refused text[] := '{}'::text[];
    avail text[] := '{}'::text[];
    canon text;
    r record;
    cur text;
    a text;
begin
    if available is null or pg_catalog.cardinality(available) = 0 then
        return null;
    end if;
    foreach a in array available[1:500] loop
        canon := i18n.canonical_tag(a);
        if canon is not null and not canon = any(avail) then
            avail := avail || canon;
        end if;
    end loop;
    if header is null or pg_catalog.cardinality(avail) = 0 then
        return null;
    end if;
    foreach piece in array (pg_catalog.string_to_array(header, ','))[1:100] loop
        pos := pos + 1;
        range_text := pg_catalog.btrim(pg_catalog.split_part(piece, ';', 1), E' \t');
        params := pg_catalog.lower(pg_catalog.replace(pg_catalog.replace(
            pg_catalog.substr(piece, pg_catalog.length(pg_catalog.split_part(piece, ';', 1)) + 1), ' ', ''), E'\t', ''));
        if range_text !~ '^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$' then
            continue;  -- a malformed range is skipped, the rest of the header still counts
        end if;
        if params = '' then
            q := 1;
        elsif params ~ '^;q=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$' then
            q := pg_catalog.substr(params, 4)::numeric;
        else
            continue;  -- a malformed weight: the range is skipped
        end if;
        if q = 0 then
            refused := refused || pg_catalog.lower(range_text);
        else
            ranges := ranges || pg_catalog.lower(range_text);
            weights := weights || q;
        end if;
    end loop;
    for r in
        select x.rng
        from unnest(ranges, weights) with ordinality as x (rng, w, o)
        order by x.w desc, x.o
    loop
        if r.rng = '*' then
            foreach a in array avail loop
                if not exists (
                    select from pg_catalog.unnest(refused) as f (rng)
                    where f.rng <> '*' and (pg_catalog.lower(a) = f.rng or pg_catalog.lower(a) like f.rng || '-%')
                ) then
                    return a;
                end if;
            end loop;
            continue;
        end if;
        cur := r.rng;
        while cur is not null loop
            foreach a in array avail loop
                if pg_catalog.lower(a) = cur and not pg_catalog.lower(a) = any(refused) then
                    return a;
                end if;
            end loop;
            cur := i18n._truncate(cur);
        end loop;
    end loop;
    return null;
end
$$;

comment on function i18n.negotiate(text, text[]) is
'The best of the available locales for an Accept-Language header: ranges by q-value (then order), '
'each looked up with RFC 4647 truncation, * for any locale not refused with q=0. Malformed '
'ranges and weights are skipped; null when nothing matches (use the default). Never raises.';

create or replace function i18n._request_header(name text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    raw text := nullif(pg_catalog.current_setting('request.headers', true), '');
begin
    if raw is null or pg_catalog.length(raw) > 65536 then
        return null;
    end if;
    return pg_catalog.left(raw::jsonb ->> name, 4096);
exception when invalid_text_representation or invalid_parameter_value then
    return null;
end
$$;

comment on function i18n._request_header(text) is
'One request header as PostgREST passes it in request.headers (lowercase name); null when absent '
'or when the setting is not JSON.';

create or replace function i18n._request_brand()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    raw text := i18n._request_header('x-brand-id');
begin
    if raw is null then
        raw := brand.claims() ->> 'brand_id';
    end if;
    if raw ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
        return raw::uuid;
    end if;
    return null;
end
$$;

comment on function i18n._request_brand() is
'The brand the request names (X-Brand-Id header, else the brand_id claim), as the gate reads it.';

create or replace function i18n.available_locales(brand_id uuid default null)
returns text[]
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- a brand's enabled locales, its default first; else the platform's enabled ones, the default first
    select coalesce(
        (select pg_catalog.array_agg(bl.tag order by bl.is_default desc, bl.tag)
         from i18n.brand_locales as bl
         inner join i18n.locales as l on bl.tag = l.tag and l.enabled
         where bl.brand_id = available_locales.brand_id),
        (select pg_catalog.array_agg(l.tag order by l.tag = s.default_locale desc, l.tag)
         from i18n.locales as l cross join i18n.settings as s where l.enabled)
    )
$$;

comment on function i18n.available_locales(uuid) is
'The locales a brand serves (its default first), or the platform''s enabled locales (default first). '
'Which locales a brand offers is public: its site shows them to every visitor.';

create or replace function i18n.request_locale(brand_id uuid default null)
returns text
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    avail text[] := i18n.available_locales(coalesce(brand_id, i18n._request_brand()));
begin
    return coalesce(
        i18n.negotiate(i18n._request_header('accept-language'), avail),
        avail[1],
        (select s.default_locale from i18n.settings as s)
    );
end
$$;

comment on function i18n.request_locale(uuid) is
'The request''s locale: PostgREST''s Accept-Language header (request.headers) negotiated against '
'the brand''s locales (X-Brand-Id or the argument), else the brand''s default, else the platform''s.';

create or replace function i18n.resolve_chain(locale_or_accept_language text, brand_id uuid default null)
returns text[]
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    input text := pg_catalog.left(locale_or_accept_language, 4096);
    chosen text;
    chain text[];
begin
    if input is null or pg_catalog.btrim(input) = '' then
        chosen := i18n.request_locale(brand_id);
    elsif input ~ '[,;*]' then
        chosen := coalesce(
            i18n.negotiate(input, i18n.available_locales(brand_id)),
            (i18n.available_locales(brand_id))[1]
        );
    else
        chosen := i18n.canonical_tag(input);
    end if;
    select l.chain into chain from i18n.locales as l where l.tag = chosen;
    if chain is null or pg_catalog.cardinality(chain) = 0 then
        chain := i18n.chain_of(chosen);
    end if;
    return chain;
end
$$;

comment on function i18n.resolve_chain(text, uuid) is
'The fallback chain for a tag or an Accept-Language header (negotiated against the brand''s '
'locales), or for the request''s locale when null. An invalid tag gets the default locale''s chain.';

revoke all on function
i18n.canonical_tag(text), i18n.assert_tag(text), i18n._truncate(text), i18n._rule_of(text, boolean),
i18n.plural_categories(text, boolean), i18n.chain_of(text), i18n._refresh_chains(),
i18n.tg_locales__refresh(), i18n.set_locale(text, text, text, boolean), i18n.negotiate(text, text[]),
i18n._request_header(text), i18n._request_brand(), i18n.available_locales(uuid), i18n.request_locale(uuid),
i18n.resolve_chain(text, uuid)
from public;
grant execute on function
i18n.canonical_tag(text), i18n.plural_categories(text, boolean), i18n.negotiate(text, text[]),
i18n.available_locales(uuid), i18n.request_locale(uuid), i18n.resolve_chain(text, uuid)
to anon, authenticated, service_role;
grant execute on function
i18n.assert_tag(text), i18n._truncate(text), i18n._rule_of(text, boolean), i18n.chain_of(text),
i18n._request_header(text), i18n._request_brand()
to service_role;
grant execute on function i18n.set_locale(text, text, text, boolean) to service_role;
