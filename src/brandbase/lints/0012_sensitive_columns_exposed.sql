-- A column whose name says secret, readable by anon or authenticated on a table without
-- row level security, is readable in full through the API.
select
    'sensitive_column_exposed' as name,
    'ERROR' as level,
    format('%I.%I.%I', n.nspname, c.relname, a.attname) as object,
    'sensitive-looking column readable by an API role on a table without RLS' as description,
    format(
        'alter table %I.%I enable row level security; -- or revoke select on the column', n.nspname, c.relname
    )
        as remediation
from pg_attribute as a
inner join pg_class as c on a.attrelid = c.oid
inner join pg_namespace as n on c.relnamespace = n.oid
where
    n.nspname = any($1::text[])
    and c.relkind in ('r', 'p', 'v', 'm')
    and not c.relrowsecurity
    and a.attnum > 0 and not a.attisdropped
    and a.attname ~* '(password|passwd|secret|token|api_?key|private_?key|ssn|credit_?card|iban)'
    and (
        has_column_privilege('anon', c.oid, a.attnum, 'select')
        or has_column_privilege('authenticated', c.oid, a.attnum, 'select')
    )
