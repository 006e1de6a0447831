-- Two indexes with the same columns, operator classes and predicate cost every write
-- twice and help no read.
select
    'duplicate_index' as name,
    'WARN' as level,
    format('%s: %s = %s', a.indrelid::regclass, a.indexrelid::regclass, b.indexrelid::regclass)
        as object,
    'indexes with identical definitions' as description,
    format('drop index %s;', b.indexrelid::regclass) as remediation
from pg_index as a
inner join pg_index as b
    on
        a.indrelid = b.indrelid
        and a.indexrelid < b.indexrelid
        and a.indkey = b.indkey
        and a.indclass = b.indclass
        and coalesce(pg_get_expr(a.indexprs, a.indrelid), '')
        = coalesce(pg_get_expr(b.indexprs, b.indrelid), '')
        and coalesce(pg_get_expr(a.indpred, a.indrelid), '')
        = coalesce(pg_get_expr(b.indpred, b.indrelid), '')
inner join pg_class as c on a.indrelid = c.oid
where c.relnamespace::regnamespace::text = any($1::text[])
