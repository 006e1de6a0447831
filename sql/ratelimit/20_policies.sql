-- ratelimit: which limits a request meets. Policies come from the brand's plan
-- (plan_policies) with per-brand overrides (brand_policies) and the role's default
-- (policies) for callers of no plan; each applicable policy is one GCRA check.

create or replace function ratelimit.policies_for(brand_id uuid, api_role text, route text)
returns table (scope text, route text, rate integer, period interval, burst integer)
language sql
stable
as $$
    -- Per scope and route, the brand's override beats its plan's policy, which beats the
    -- role's default (a caller policy for every route). Plain SQL, so callers inline it.
    select distinct on (p.scope, p.route) p.scope, p.route, p.rate, p.period, p.burst
    from (
        select 1 as precedence, o.scope, o.route, o.rate, o.period, o.burst
        from ratelimit.brand_policies as o
        where o.brand_id = policies_for.brand_id and o.api_role = policies_for.api_role
            and o.route in ('*', policies_for.route)
        union all
        select 2, d.scope, d.route, d.rate, d.period, d.burst
        from brand.brands as b
        inner join ratelimit.plan_policies as d on b.plan = d.plan
        where b.id = policies_for.brand_id and d.api_role = policies_for.api_role
            and d.route in ('*', policies_for.route)
        union all
        select 3, 'caller', '*', r.rate, r.period, r.burst
        from ratelimit.policies as r
        where r.api_role = policies_for.api_role
    ) as p
    order by p.scope, p.route, p.precedence
$$;

comment on function ratelimit.policies_for(uuid, text, text) is
'The rate-limit policies a request of api_role to a brand (null: none named) on a route '
'(''GET /things'') meets: the brand''s overrides, else its plan''s, else the role''s default.';

drop function if exists ratelimit.limit_request(uuid, text, text, text);  -- OUT "limit" renamed
create function ratelimit.limit_request(
    brand_id uuid, api_role text, caller text, route text,
    out allowed boolean, out capacity integer, out remaining integer,
    out reset_after double precision, out retry_after double precision, out policy text
)
language plpgsql
as $$
declare
    p record;
    c record;
begin
    -- Callers (a user, or a client IP) count per brand they call, and apart per route
    -- with a policy of its own; a brand policy counts all the brand's callers of the
    -- role together. Every applicable policy consumes; the answer describes the tightest
    -- (a refusal first, else the fewest requests left) and lists them all in `policy`.
    -- A refused request should be rolled back, as the request hook's error does. A loop,
    -- not one statement: with the usual one or two policies, starting a join, a window
    -- and a sort cost more than the few assignments.
    for p in select * from ratelimit.policies_for(brand_id, api_role, route) loop
        c := ratelimit.check(
            coalesce('brand:' || brand_id || ':', '')
            || case when p.scope = 'brand' then api_role else caller end
            || case when p.route = '*' then '' else ' ' || p.route end,
            p.rate, p.period, p.burst
        );
        policy := concat_ws(', ', policy,
            pg_catalog.format('%s;w=%s;burst=%s', p.rate, extract(epoch from p.period)::bigint, p.burst));
        if allowed is null or (c.allowed, -c.retry_after, c.remaining) < (allowed, -retry_after, remaining) then
            allowed := c.allowed;
            capacity := c.capacity;
            remaining := c.remaining;
            reset_after := c.reset_after;
            retry_after := c.retry_after;
        end if;
    end loop;
end
$$;

comment on function ratelimit.limit_request(uuid, text, text, text) is
'For the request hook: checks every policy a request meets (caller, brand, route) and '
'returns the tightest outcome plus the RateLimit-Policy list; null when no policy applies.';

select brand.isolate('ratelimit.brand_policies', 'ratelimit.read');
revoke all on ratelimit.plan_policies, ratelimit.brand_policies from public, anon;
grant select on ratelimit.plan_policies, ratelimit.brand_policies to authenticated;
grant select, insert, update, delete on ratelimit.plan_policies, ratelimit.brand_policies to service_role;
revoke all on ratelimit.policies from public;
grant select on ratelimit.policies to authenticated;
grant select, insert, update, delete on ratelimit.policies to service_role;
grant usage on schema ratelimit to authenticated;

revoke all on function
ratelimit.policies_for(uuid, text, text),
ratelimit.limit_request(uuid, text, text, text)
from public;
grant execute on function ratelimit.policies_for(uuid, text, text) to authenticated, service_role;
grant execute on function ratelimit.limit_request(uuid, text, text, text) to service_role;
