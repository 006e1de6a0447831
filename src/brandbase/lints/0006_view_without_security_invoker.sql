-- A view runs with its owner's rights unless security_invoker is set: exposed to the
-- API roles, it would bypass row level security.
select
    'view_without_security_invoker' as name,
    'ERROR' as level,
    format('%I.%I', n.nspname, c.relname) as object,
    'view readable by anon or authenticated runs as its owner, bypassing RLS' as description,
    format('alter view %I.%I set (security_invoker = true);', n.nspname, c.relname)
        as remediation
from pg_class as c
inner join pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind = 'v'
    and n.nspname = any($1::text[])
    and not coalesce(c.reloptions @> array['security_invoker=true'], false)
    and not coalesce(c.reloptions @> array['security_invoker=on'], false)
    and (
        has_table_privilege('anon', c.oid, 'select')
        or has_table_privilege('authenticated', c.oid, 'select')
    )
