-- A foreign key between two brand-scoped tables that leaves out brand_id lets a row point
-- at another brand's row; with brand_id in the key that cannot happen.
select
    'foreign_key_without_brand_id' as name,
    'ERROR' as level,
    format('%s (%s)', con.conrelid::regclass, con.conname) as object,
    'foreign key between brand-scoped tables does not include brand_id' as description,
    format(
        'alter table %s add foreign key (brand_id, ...) references %s (brand_id, ...);',
        con.conrelid::regclass, con.confrelid::regclass
    ) as remediation
from pg_constraint as con
inner join pg_namespace as n on con.connamespace = n.oid
where
    con.contype = 'f'
    and n.nspname = any($1::text[])
    and exists (
        select from pg_attribute as src
        where src.attrelid = con.conrelid and src.attname = 'brand_id'
    )
    and exists (
        select from pg_attribute as dst
        where dst.attrelid = con.confrelid and dst.attname = 'brand_id'
    )
    and not exists (
        select from unnest(con.conkey) as k (attnum)
        inner join pg_attribute as a on a.attrelid = con.conrelid and k.attnum = a.attnum
        where a.attname = 'brand_id'
    )
