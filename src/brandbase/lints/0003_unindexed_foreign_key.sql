-- A foreign key whose columns lead no index makes every delete or key update on the
-- referenced table scan the referencing table, holding locks meanwhile.
select
    'unindexed_foreign_key' as name,
    'WARN' as level,
    format('%s (%s)', con.conrelid::regclass, con.conname) as object,
    'foreign key columns are not the leading columns of any index' as description,
    format('create index on %s (%s);', con.conrelid::regclass, (
        select string_agg(quote_ident(a.attname), ', ' order by k.ord)
        from unnest(con.conkey) with ordinality as k (attnum, ord)
        inner join pg_attribute as a on a.attrelid = con.conrelid and k.attnum = a.attnum
    )) as remediation
from pg_constraint as con
inner join pg_namespace as n on con.connamespace = n.oid
where
    con.contype = 'f'
    and n.nspname = any($1::text[])
    and not exists (
        select from pg_index as i
        where
            i.indrelid = con.conrelid
            and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
            and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey
    )
