-- i18n: quality reports over the working copies a brand sees (its own messages over the
-- global ones), against the platform's default locale:
--   missing               a key of the default locale without a message in one of the
--                         brand's locales (the reader then falls back)
--   unused                a key with messages but none in the default locale
--   placeholder_mismatch  a message whose arguments differ from the default locale's
--   plural_missing        a plural whose cases miss categories CLDR gives the locale

create or replace function i18n.report(brand_id uuid, ns text default null)
returns table (kind text, namespace text, key text, locale text, detail text)
language plpgsql
stable
security definer
rows 100
set search_path = pg_catalog, pg_temp
as $$
declare
    dflt text := (select s.default_locale from i18n.settings as s);
begin
    if pg_catalog.length(ns) > 64 then
        raise exception 'namespace too long' using errcode = '22001', hint = 'A namespace has at most 64 characters.';
    end if;
    if brand_id is null then
        if not brand.caller_is_service() then
            raise exception 'only the platform reads the global report' using errcode = '42501',
                hint = 'Pass your brand_id.';
        end if;
    else
        perform brand.require_permission(brand_id, 'i18n.read');
    end if;
    return query
    with eff as (
        select distinct on (x.namespace, x.key, x.locale) x.namespace, x.key, x.locale, x.placeholders, x.plural_forms
        from (
            select m.namespace, m.key, m.locale, m.placeholders, m.plural_forms, 0 as r
            from i18n.brand_messages as m where m.brand_id = report.brand_id
            union all
            select m.namespace, m.key, m.locale, m.placeholders, m.plural_forms, 1
            from i18n.messages as m
        ) as x
        where report.ns is null or x.namespace = report.ns
        order by x.namespace, x.key, x.locale, x.r
    ),
    base as (select e.* from eff as e where e.locale = dflt),
    locs as (
        select l.tag, l.chain, l.cardinal_categories, l.ordinal_categories
        from i18n.locales as l
        where l.enabled and l.tag <> dflt and (
            not exists (select from i18n.brand_locales as bl where bl.brand_id = report.brand_id)
            or l.tag in (select bl.tag from i18n.brand_locales as bl where bl.brand_id = report.brand_id))
    ),
    plural_cases as (
        select e.namespace, e.key, e.locale, pg_catalog.split_part(p, ':', 1) as arg,
            pg_catalog.split_part(p, ':', 2) as plural_kind, pg_catalog.split_part(p, ':', 3) as kase
        from eff as e cross join pg_catalog.unnest(e.plural_forms) as p
    )
    select * from (
        select 'missing'::text, b.namespace, b.key, l.tag,
            'falls back to ' || coalesce((
                select e.locale from eff as e
                where e.namespace = b.namespace and e.key = b.key and e.locale = any(l.chain)
                order by pg_catalog.array_position(l.chain, e.locale) limit 1), dflt)
        from base as b cross join locs as l
        where not exists (select from eff as e where e.namespace = b.namespace and e.key = b.key and e.locale = l.tag)
        union all
        select 'unused', e.namespace, e.key, e.locale, 'no message in the default locale ' || dflt
        from eff as e
        where e.locale <> dflt
            and not exists (select from base as b where b.namespace = e.namespace and b.key = e.key)
        union all
        select 'placeholder_mismatch', e.namespace, e.key, e.locale,
            pg_catalog.format('uses {%s}, %s uses {%s}', pg_catalog.array_to_string(e.placeholders, '}, {'), dflt,
                pg_catalog.array_to_string(b.placeholders, '}, {'))
        from eff as e inner join base as b on e.namespace = b.namespace and e.key = b.key
        where e.locale <> dflt and e.placeholders is distinct from b.placeholders
        union all
        select 'plural_missing', g.namespace, g.key, g.locale,
            pg_catalog.format('%s (%s) lacks %s', g.arg, g.plural_kind, pg_catalog.array_to_string(array(
                select c from pg_catalog.unnest(case g.plural_kind when 'ordinal' then l.ordinal_categories
                    else l.cardinal_categories end) as c
                where not c = any(g.cases)), ', '))
        from (
            select pc.namespace, pc.key, pc.locale, pc.arg, pc.plural_kind, pg_catalog.array_agg(pc.kase) as cases
            from plural_cases as pc group by 1, 2, 3, 4, 5
        ) as g
        inner join i18n.locales as l on g.locale = l.tag
        where exists (
            select from pg_catalog.unnest(case g.plural_kind when 'ordinal' then l.ordinal_categories
                else l.cardinal_categories end) as c
            where not c = any(g.cases))
    ) as findings (kind, namespace, key, locale, detail)
    order by 1, 2, 3, 4
    limit 10000;
end
$$;

comment on function i18n.report(uuid, text) is
'Quality findings for the brand''s translations (i18n.read; null: the global ones, service only): '
'missing, unused, placeholder_mismatch, plural_missing. At most 10000 rows.';

revoke all on function i18n.report(uuid, text) from public;
grant execute on function i18n.report(uuid, text) to authenticated, service_role;
