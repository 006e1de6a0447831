-- A function without a pinned search_path resolves names through its caller's path.
-- Exempt: SQL-language invoker functions (a SET clause stops the planner from inlining
-- them, which the RLS and hook helpers rely on) and the PL/pgSQL helpers the request
-- hook calls on every request (a SET clause saves and restores a GUC on every call).
-- All exempt functions are SECURITY INVOKER and qualify every name; docs/supabase.md
-- lists them for the Supabase Advisor, and a test keeps that list equal to this one.
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
    and not (
        not p.prosecdef
        and format('%I.%I', n.nspname, p.proname) = any(array[
            -- the request hook's per-request helpers (brandbase.pre_request)
            'access.admit', 'access.client_ip', 'access.country_of', 'access.decide',
            'access.request_refusal', 'brand.forwarded_ip', 'quotas._consume',
            'ratelimit.attempt', 'ratelimit."check"', 'ratelimit.limit_request',
            'access._client_ip', 'ratelimit._attempt',
            -- flag evaluation's hot path (every flags.evaluate/enabled, every rollout)
            'flags._evaluate_row', 'flags._rules', 'flags._pick_variant', 'flags.murmur3_32',
            -- the message formatter i18n.t() runs on every read
            'i18n._format',
            -- i18n.t()'s one-probe path (invoker; the rest is the definer i18n._t)
            'i18n.t'
        ])
    )
    and not exists (
        select from pg_depend as d
        where d.objid = p.oid and d.deptype = 'e'
    )
    and not exists (
        select from unnest(coalesce(p.proconfig, '{}')) as cfg
        where cfg like 'search_path=%'
    )
