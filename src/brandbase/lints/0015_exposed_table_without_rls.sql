-- A table in the exposed schema `api` is readable over REST by whoever holds a grant;
-- without RLS nothing narrows the rows. The pack exposes security_invoker views only.
select
    'exposed_table_without_rls' as name,
    'ERROR' as level,
    c.oid::regclass::text as object,
    'table in the exposed schema api without row level security' as description,
    format('move %s to its module schema and expose a security_invoker view', c.oid::regclass)
        as remediation
from pg_class as c
where
    c.relnamespace = 'api'::regnamespace
    and c.relkind in ('r', 'p')
    and not c.relrowsecurity
    and 'api' = any($1::text[])
