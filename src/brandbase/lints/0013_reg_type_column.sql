-- pg_upgrade refuses a cluster whose tables store reg* values other than regclass,
-- regrole and regtype (their oids change across the upgrade); Supabase upgrades projects
-- in place with pg_upgrade. Store a signature as text and resolve it when used.
select
    'reg_type_column' as name,
    'ERROR' as level,
    format('%s.%s', c.oid::regclass, a.attname) as object,
    format('column of type %s blocks pg_upgrade', t.typname) as description,
    format('alter table %s alter column %I type text;', c.oid::regclass, a.attname)
        as remediation
from pg_attribute as a
inner join pg_class as c on a.attrelid = c.oid
inner join pg_namespace as n on c.relnamespace = n.oid
inner join pg_type as t on a.atttypid = t.oid
where
    n.nspname = any($1::text[])
    and c.relkind in ('r', 'p', 'm')
    and a.attnum > 0
    and not a.attisdropped
    and t.typname like 'reg%'
