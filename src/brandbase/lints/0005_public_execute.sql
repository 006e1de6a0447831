-- PostgreSQL lets PUBLIC execute new functions; the pack revokes that and grants each
-- API role exactly what it needs, next to the function.
select
    'function_executable_by_public' as name,
    'WARN' as level,
    p.oid::regprocedure::text as object,
    'function is executable by PUBLIC (every role, anon included)' as description,
    format('revoke all on function %s from public;', p.oid::regprocedure) as remediation
from pg_proc as p
inner join pg_namespace as n on p.pronamespace = n.oid
where
    n.nspname = any($1::text[])
    and n.nspname <> 'auth'
    and not exists (
        select from pg_depend as d
        where d.objid = p.oid and d.deptype = 'e'
    )
    and (p.proacl is null or exists (
        select from aclexplode(p.proacl) as acl
        where acl.grantee = 0 and acl.privilege_type = 'EXECUTE'
    ))
