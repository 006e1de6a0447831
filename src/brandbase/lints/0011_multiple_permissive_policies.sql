-- Permissive policies OR together: two for the same role and action are both evaluated
-- on every row, and the looser one silently wins.
select
    'multiple_permissive_policies' as name,
    'WARN' as level,
    format('%I.%I %s for %s', p.schemaname, p.tablename, a.action, r.role) as object,
    format('%s permissive policies: %s', count(*), string_agg(p.policyname, ', ')) as description,
    'merge them into one policy per role and action' as remediation
from pg_policies as p
cross join lateral unnest(p.roles) as r (role)
cross join
    lateral unnest(
        case when p.cmd = 'ALL' then array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] else array[p.cmd] end
    ) as a (action)
where p.schemaname = any($1::text[]) and p.permissive = 'PERMISSIVE'
group by p.schemaname, p.tablename, a.action, r.role
having count(*) > 1
