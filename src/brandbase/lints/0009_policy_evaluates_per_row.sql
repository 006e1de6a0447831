-- A policy that calls auth.uid(), auth.jwt(), current_setting() or a brand helper with
-- the row's values runs it once per row; wrapped in a sub-select, or in the set form
-- brand_id in (select brand.brands_with(...)), it runs once per statement.
select
    'policy_evaluates_per_row' as name,
    'WARN' as level,
    format('%I.%I (%s)', p.schemaname, p.tablename, p.policyname) as object,
    'policy calls a function per row instead of once per statement' as description,
    'wrap the call in a sub-select, e.g. (select auth.uid()), or use '
    || 'brand_id in (select brand.brands_with(''<permission>''))' as remediation
from pg_policies as p
cross join lateral (values (coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''))) as e (expr)
where
    p.schemaname = any($1::text[])
    and (
        e.expr ~ 'brand\.has_permission\('
        or (
            e.expr ~ '(auth\.(uid|jwt|role)|current_setting)\('
            and e.expr !~ 'SELECT (auth\.(uid|jwt|role)|current_setting)\('
        )
    )
