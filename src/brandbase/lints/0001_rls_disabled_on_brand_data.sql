-- A table that holds brand data (a brand_id column) without row level security lets
-- every API role read every brand's rows.
select
    'rls_disabled_on_brand_data' as name,
    'ERROR' as level,
    format('%I.%I', n.nspname, c.relname) as object,
    'table holds brand data (brand_id) but row level security is disabled' as description,
    format(
        'select brand.isolate(%L, ''<read permission>'', ''<write permission>'');',
        format('%I.%I', n.nspname, c.relname)
    ) as remediation
from pg_class as c
inner join pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind in ('r', 'p')
    and n.nspname = any($1::text[])
    and not c.relrowsecurity
    and not c.relispartition  -- partitions are reached through their parent's policies
    and (
        exists (
            select from pg_attribute as a
            where a.attrelid = c.oid and a.attname = 'brand_id' and not a.attisdropped
        )
        or c.oid = to_regclass('brand.brands')
    )
