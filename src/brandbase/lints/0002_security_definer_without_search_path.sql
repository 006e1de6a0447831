-- A security definer function resolving names through the caller's search_path can be
-- hijacked by objects the caller creates earlier on that path. Pinning is not enough:
-- unless pg_temp is listed (last), PostgreSQL searches it first for relations and types,
-- even under search_path = '', so a domain pg_temp.uuid would run as the owner.
select
    'security_definer_without_search_path' as name,
    'ERROR' as level,
    p.oid::regprocedure::text as object,
    'security definer function does not pin search_path with pg_temp last' as description,
    format('alter function %s set search_path = pg_catalog, pg_temp;', p.oid::regprocedure)
        as remediation
from pg_proc as p
inner join pg_namespace as n on p.pronamespace = n.oid
where
    p.prosecdef
    and n.nspname = any($1::text[])
    and not exists (
        select from unnest(coalesce(p.proconfig, '{}')) as cfg
        where cfg ~ '^search_path=.*\mpg_temp"?$'
    )
