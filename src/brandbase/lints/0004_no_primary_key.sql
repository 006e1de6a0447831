-- Without a primary key, rows cannot be addressed, audited, replicated or distributed.
select
    'no_primary_key' as name,
    'WARN' as level,
    format('%I.%I', n.nspname, c.relname) as object,
    'table has no primary key' as description,
    'alter table ... add primary key (brand_id, id);' as remediation
from pg_class as c
inner join pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind in ('r', 'p')
    and not c.relispartition
    and n.nspname = any($1::text[])
    and not exists (
        select from pg_index as i
        where i.indrelid = c.oid and i.indisprimary
    )
