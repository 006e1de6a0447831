-- PostgREST turns every function in the exposed schema `api` into an endpoint. A
-- security definer there is an endpoint that runs as the pack owner; the pack keeps
-- privileged bodies in module schemas and thin security invoker wrappers in `api`.
select
    'definer_in_exposed_schema' as name,
    'ERROR' as level,
    p.oid::regprocedure::text as object,
    'security definer function in the exposed schema api' as description,
    format(
        'move the body to its module schema; alter function %s security invoker;',
        p.oid::regprocedure
    ) as remediation
from pg_proc as p
where
    p.pronamespace = 'api'::regnamespace
    and p.prosecdef
    and 'api' = any($1::text[])
