-- A function without a pinned search_path resolves names through its caller's path.
-- SQL-language invoker functions are exempt: a SET clause stops the planner from
-- inlining them, which the RLS and hook helpers rely on; they qualify every name and
-- run with the caller's rights. Everything else pins its path (Supabase's Advisor flags
-- the exempt ones; docs/supabase.md lists them with the reason).
select
    'function_search_path_mutable' as name,
    'WARN' as level,
    p.oid::regprocedure::text as object,
    'function does not pin search_path' as description,
    format('alter function %s set search_path = pg_catalog, pg_temp;', p.oid::regprocedure)
        as remediation
from pg_proc as p
inner join pg_namespace as n on p.pronamespace = n.oid
inner join pg_language as l on p.prolang = l.oid
where
    n.nspname = any($1::text[])
    and n.nspname <> 'auth'
    and p.prokind in ('f', 'p')
    and not (l.lanname = 'sql' and not p.prosecdef)
    and l.lanname <> 'internal'
    and not exists (
        select from pg_depend as d
        where d.objid = p.oid and d.deptype = 'e'
    )
    and not exists (
        select from unnest(coalesce(p.proconfig, '{}')) as cfg
        where cfg like 'search_path=%'
    )
