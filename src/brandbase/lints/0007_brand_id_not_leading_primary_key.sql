-- brand_id leads every brand-scoped primary key: lookups stay brand-local and the table
-- can be distributed by brand_id (Citus) without changing its keys. A nullable brand_id
-- marks a table that also holds system rows (job queues, logs): not brand-scoped.
select
    'brand_id_not_leading_primary_key' as name,
    'ERROR' as level,
    c.oid::regclass::text as object,
    'brand-scoped table whose primary key does not start with brand_id' as description,
    format('alter table %s drop constraint ..., add primary key (brand_id, ...);', c.oid::regclass)
        as remediation
from pg_class as c
inner join pg_namespace as n on c.relnamespace = n.oid
inner join pg_index as i on c.oid = i.indrelid and i.indisprimary
inner join pg_attribute as a on c.oid = a.attrelid and a.attnum = i.indkey[0]
where
    c.relkind in ('r', 'p')
    and not c.relispartition
    and n.nspname = any($1::text[])
    and a.attname <> 'brand_id'
    and exists (
        select from pg_attribute as b
        where b.attrelid = c.oid and b.attname = 'brand_id' and b.attnotnull and not b.attisdropped
    )
