-- A security definer function resolving names through the caller's search_path can be
-- hijacked by objects the caller creates earlier on that path.
select
    'security_definer_without_search_path' as name,
    'ERROR' as level,
    p.oid::regprocedure::text as object,
    'security definer function does not pin search_path' as description,
    format('alter function %s set search_path = '''';', p.oid::regprocedure) as remediation
from pg_proc as p
inner join pg_namespace as n on p.pronamespace = n.oid
where
    p.prosecdef
    and n.nspname = any($1::text[])
    and not exists (
        select from unnest(coalesce(p.proconfig, '{}')) as cfg
        where cfg like 'search_path=%'
    )
