-- access: who may come in. The client address comes only from what trusted proxies
-- say; deny rules win; an allow rule in a scope (global or the brand) turns that scope
-- into an allowlist. Geo rules work the same by country.

create or replace function access.client_ip(headers jsonb)
returns inet
language plpgsql
stable
as $$
begin
    -- The header the proxy in front of PostgREST sets to the client's address. Without
    -- it, trusted proxies imply X-Forwarded-For; with neither, nothing in the request
    -- can be believed (the client writes every header PostgREST passes on).
    return access._client_ip(
        headers,
        coalesce(
            (select s.value from access.settings as s where s.name = 'client_ip_header'),
            case when exists (select from access.trusted_proxies) then 'x-forwarded-for' end
        ),
        exists (select from access.trusted_proxies)
    );
end
$$;

-- The body of access.client_ip(), for the request hook, which reads the configuration
-- (source: the header to believe; proxies: whether any trusted proxy is listed) in its one
-- query of the request. Invoker rights without SET: the hook runs as the owner already.
create or replace function access._client_ip(headers jsonb, source text, proxies boolean)
returns inet
language plpgsql
stable
as $$
declare
    hops text[];
    hop text;
    address inet;
begin
    if source is null then
        return null;  -- unknown: allowlists fail closed, deny-lists cannot match
    end if;
    if source = 'x-forwarded-for' then
        hops := string_to_array(headers ->> 'x-forwarded-for', ',');
    else
        hops := array[headers ->> source];  -- one address, set (not appended) by the proxy
    end if;
    -- X-Forwarded-For lists client, proxy1, proxy2…; each proxy appends what it saw. Walk
    -- from the right and stop at the first address that is not a trusted proxy: anything
    -- left of it was written by the client and may be spoofed.
    for i in reverse coalesce(array_upper(hops, 1), 0)..1 loop
        hop := btrim(hops[i]);
        -- A well-formed IPv4 address casts without the subtransaction an exception block
        -- costs; anything else (IPv6, garbage) is tried inside one.
        if hop ~ '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$' then
            address := hop::inet;
        elsif hop is null or octet_length(hop) > 64 then
            return null;
        else
            begin
                address := hop::inet;
            exception when invalid_text_representation then
                return null;  -- garbage in the chain: no trustworthy client address
            end;
        end if;
        -- Two tests, not one: with the probe in the same expression it is a query, which
        -- PostgreSQL plans at every call (the plan without proxies is always cheaper).
        if source <> 'x-forwarded-for' or not proxies then
            return address;
        end if;
        if not exists (select from access.trusted_proxies as p where p.network >>= address) then
            return address;
        end if;
    end loop;
    return null;
end
$$;

comment on function access._client_ip(jsonb, text, boolean) is
'The body of access.client_ip(): the client address from headers, believing the header source '
'(null: unknown) and, for x-forwarded-for, skipping trusted proxies (proxies: any are listed).';

comment on function access.client_ip(jsonb) is
'The client address: the header named by access.settings client_ip_header (for '
'x-forwarded-for, or with only trusted proxies configured: the right-most entry that is not a '
'trusted proxy); null (unknown) when none is configured or the header is missing or garbled.';

create or replace function access.country_of(ip inet, headers jsonb)
returns char(2)
language plpgsql
stable
as $$
begin
    -- A trusted proxy's country header (settings.country_header) wins; else the GeoIP data.
    -- PL/pgSQL keeps this query's plan; as a SQL function it was planned at every call.
    return coalesce(
        (select upper(headers ->> s.value) from access.settings as s where s.name = 'country_header'
         and upper(headers ->> s.value) in (select c.code from access.countries as c)),
        (select g.country from access.geoip as g where g.network >>= ip order by masklen(g.network) desc limit 1)
    );
end
$$;

comment on function access.country_of(inet, jsonb) is
'The client''s country from the trusted country header, else from the loaded GeoIP blocks.';

create or replace function access.decide(
    brand_id uuid, ip inet, country text, out allowed boolean, out reason text
)
language plpgsql
stable
as $$
begin
    -- Each test is an index probe: GiST (network >>= ip) for matches, a partial index for
    -- "does this scope have an allowlist". PL/pgSQL keeps the plan between calls.
    with scope (brand_id) as (
        values (coalesce(decide.brand_id, '00000000-0000-0000-0000-000000000000'::uuid)),
               ('00000000-0000-0000-0000-000000000000'::uuid)
    ),
    verdict as (
        select case
            when exists (
                select from access.ip_rules as r
                where r.network >>= decide.ip and r.action = 'deny' and r.brand_id in (select s.brand_id from scope as s)
            ) then 'ip denied'
            when exists (
                select from access.ip_rules as r
                where r.action = 'allow' and r.brand_id in (select s.brand_id from scope as s)
            ) and not exists (
                select from access.ip_rules as r
                where r.network >>= decide.ip and r.action = 'allow' and r.brand_id in (select s.brand_id from scope as s)
            ) then 'ip not allowed'
            when exists (
                select from access.geo_rules as g
                where g.country = decide.country and g.action = 'deny' and g.brand_id in (select s.brand_id from scope as s)
            ) then 'country denied'
            when exists (
                select from access.geo_rules as g
                where g.action = 'allow' and g.brand_id in (select s.brand_id from scope as s)
            ) and not exists (
                select from access.geo_rules as g
                where g.country = decide.country and g.action = 'allow' and g.brand_id in (select s.brand_id from scope as s)
            ) then 'country not allowed'
        end as reason
    )
    select v.reason is null, v.reason into allowed, reason from verdict as v;
end
$$;

comment on function access.decide(uuid, inet, text) is
'Whether a client may reach a brand (null brand: global rules only), and why not.';

create or replace function access.count_denial(brand_id uuid, reason text)
returns void
language sql
as $$
    insert into access.denials as n (brand_id, day, reason, denied)
    values (coalesce(brand_id, '00000000-0000-0000-0000-000000000000'), brandbase.now()::date, reason, 1)
    on conflict on constraint denials_pkey do update set denied = n.denied + 1
$$;

comment on function access.count_denial(uuid, text) is 'Counts one denied request per brand, day and reason.';

create or replace function access.check(
    brand_id uuid, ip inet, country text, out allowed boolean, out reason text
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    select d.allowed, d.reason into allowed, reason
    from access.decide(coalesce(brand_id, '00000000-0000-0000-0000-000000000000'), ip, country) as d;
    if not allowed then
        perform access.count_denial(brand_id, reason);
    end if;
end
$$;

comment on function access.check(
    uuid, inet, text
) is 'access.decide(), counting denials per brand, day and reason.';

-- The request hook's one call into this module: who the client is and whether it may in.
-- Invoker rights without SET: the hook already runs as the owner with an empty path. The
-- address is derived only when needed: for the key of an anonymous caller (want_ip), or
-- when rules are in scope.
drop function if exists access.admit(uuid, jsonb);
create or replace function access.admit(
    brand_id uuid, headers jsonb, want_ip boolean, out ip inet, out reason text
)
language plpgsql
as $$
begin
    if want_ip then
        ip := access.client_ip(headers);
    end if;
    -- Most brands, and most installs, have no rules in scope: one probe of each rule
    -- table's primary key settles them without the country lookup and the six rule tests
    -- (this hook also runs for every read, where it is most of the cost).
    if not exists (
        select from access.ip_rules as r
        where r.brand_id in (admit.brand_id, '00000000-0000-0000-0000-000000000000')
    ) and not exists (
        select from access.geo_rules as g
        where g.brand_id in (admit.brand_id, '00000000-0000-0000-0000-000000000000')
    ) then
        return;
    end if;
    if not want_ip then
        ip := access.client_ip(headers);
    end if;
    select d.reason into reason
    from access.decide(brand_id, ip, access.country_of(ip, headers)) as d;
end
$$;

comment on function access.admit(uuid, jsonb, boolean) is
'For the request hook: the client address from the configured proxy (derived when want_ip or '
'rules are in scope) and, when the access rules refuse it, why (null reason: allowed). The '
'hook counts the refusal (brandbase.refuse()).';

-- The permission helpers' call into this module (brand.has_permission,
-- brand.require_permission, brand.brands_with): whether the access rules of the brand being
-- acted on (and the global ones) refuse this request's client, and why. Recomputed from
-- request.headers, which PostgREST sets per request, never read from a cached decision:
-- any GUC (a cache included) can be set by a caller with an SQL session, while the rules
-- and the proxy configuration are tables the caller cannot write. Cheap where it matters:
-- a brand without rules in scope costs two primary-key probes; only a brand with rules pays
-- for the address (one settings probe and the X-Forwarded-For walk) and the rule tests.
create or replace function access.request_refusal(brand_id uuid)
returns text
language plpgsql
stable
as $$
declare
    headers jsonb;
    ip inet;
begin
    if not exists (
        select from access.ip_rules as r
        where r.brand_id in (request_refusal.brand_id, '00000000-0000-0000-0000-000000000000')
    ) and not exists (
        select from access.geo_rules as g
        where g.brand_id in (request_refusal.brand_id, '00000000-0000-0000-0000-000000000000')
    ) then
        return null;
    end if;
    headers := coalesce(nullif(pg_catalog.current_setting('request.headers', true), ''), '{}')::jsonb;
    ip := access.client_ip(headers);
    return (select d.reason from access.decide(brand_id, ip, access.country_of(ip, headers)) as d);
end
$$;

comment on function access.request_refusal(uuid) is
'Why the access rules of a brand (and the global ones) refuse the current request''s client '
'(request.headers through access.client_ip()), or null when they let it in.';

-- Managing rules (permission access.manage; the nil brand's rules are service_role's).
create or replace function access.add_ip_rule(
    brand_id uuid, network text, action text, note text default null
)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    parsed cidr;
    created bigint;
begin
    perform brand.require_permission(brand_id, 'access.manage');
    if octet_length(network) > 64 or octet_length(note) > 1000 then
        raise exception 'network or note too long (% and % bytes)', octet_length(network), octet_length(note)
            using errcode = '22001', hint = 'A network is at most 64 bytes, a note at most 1000.';
    end if;
    begin
        parsed := network::cidr;
    exception when invalid_text_representation or invalid_parameter_value then
        raise exception 'malformed network "%"', network
            using errcode = '22023', hint = 'A cidr like 203.0.113.0/24, 2001:db8::/32 or a single address.';
    end;
    if action not in ('allow', 'deny') or action is null then
        raise exception 'action must be allow or deny, got %', action
            using errcode = '22023', hint = 'Pass ''allow'' or ''deny''.';
    end if;
    insert into access.ip_rules (brand_id, network, action, note)
    values (add_ip_rule.brand_id, parsed, add_ip_rule.action, add_ip_rule.note)
    returning id into created;
    return created;
end
$$;

create or replace function access.set_geo_rule(brand_id uuid, country text, action text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'access.manage');
    if octet_length(country) > 2 or not exists (select from access.countries as c where c.code = upper(country)) then
        raise exception 'unknown country code "%"', left(country, 16)
            using errcode = '22023', hint = 'Use an ISO 3166-1 alpha-2 code such as DE or US.';
    end if;
    if action is null then
        delete from access.geo_rules as g where g.brand_id = set_geo_rule.brand_id and g.country = upper(set_geo_rule.country);
        return;
    end if;
    if action not in ('allow', 'deny') then
        raise exception 'action must be allow, deny or null (remove), got %', action
            using errcode = '22023', hint = 'Pass ''allow'', ''deny'', or null to remove the rule.';
    end if;
    insert into access.geo_rules as g (brand_id, country, action)
    values (set_geo_rule.brand_id, upper(set_geo_rule.country), set_geo_rule.action)
    on conflict on constraint geo_rules_pkey do update set action = excluded.action;
end
$$;

create or replace function access.remove_ip_rule(brand_id uuid, id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'access.manage');
    delete from access.ip_rules as r where r.brand_id = remove_ip_rule.brand_id and r.id = remove_ip_rule.id;
    if not found then
        raise exception 'ip rule % not found', id
            using errcode = 'PT404', hint = 'List the brand''s rules in access.ip_rules; ids are per brand.';
    end if;
end
$$;

comment on function access.add_ip_rule(
    uuid, text, text, text
) is 'Adds an IP rule; returns its id (access.manage).';
comment on function access.set_geo_rule(
    uuid, text, text
) is 'Sets (or, with a null action, removes) a country rule.';
comment on function access.remove_ip_rule(uuid, bigint) is 'Removes an IP rule (access.manage).';

select brand.isolate('access.ip_rules', 'access.read');
select brand.isolate('access.geo_rules', 'access.read');
select brand.isolate('access.denials', 'access.read');
revoke all on access.ip_rules, access.geo_rules, access.denials, access.countries, access.trusted_proxies,
access.geoip, access.settings from public, anon;
grant select on access.ip_rules, access.geo_rules, access.denials, access.countries to authenticated;
grant select, insert, update, delete on access.ip_rules, access.geo_rules, access.trusted_proxies,
access.geoip, access.settings to service_role;
grant select on access.denials, access.countries to service_role;

create or replace function api.add_ip_rule(brand_id uuid, network text, action text, note text default null)
returns bigint
language sql
set search_path = pg_catalog, pg_temp
as $$ select access.add_ip_rule(brand_id, network, action, note) $$;

create or replace function api.remove_ip_rule(brand_id uuid, id bigint)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select access.remove_ip_rule(brand_id, id) $$;

create or replace function api.set_geo_rule(brand_id uuid, country text, action text)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select access.set_geo_rule(brand_id, country, action) $$;

comment on function api.add_ip_rule(uuid, text, text, text) is 'Add an allow/deny IP rule for a brand.';
comment on function api.remove_ip_rule(uuid, bigint) is 'Remove an IP rule.';
comment on function api.set_geo_rule(uuid, text, text) is 'Allow or deny a country (null action: remove).';

revoke all on function
access.client_ip(jsonb),
access._client_ip(jsonb, text, boolean),
access.country_of(inet, jsonb),
access.decide(uuid, inet, text),
access.check(uuid, inet, text),
access.count_denial(uuid, text),
access.admit(uuid, jsonb, boolean),
access.request_refusal(uuid),
access.add_ip_rule(uuid, text, text, text),
access.set_geo_rule(uuid, text, text),
access.remove_ip_rule(uuid, bigint),
api.add_ip_rule(uuid, text, text, text),
api.remove_ip_rule(uuid, bigint),
api.set_geo_rule(uuid, text, text)
from public;
grant execute on function
access.add_ip_rule(uuid, text, text, text),
access.set_geo_rule(uuid, text, text),
access.remove_ip_rule(uuid, bigint),
api.add_ip_rule(uuid, text, text, text),
api.remove_ip_rule(uuid, bigint),
api.set_geo_rule(uuid, text, text)
to authenticated, service_role;
grant execute on function
access.client_ip(jsonb), access._client_ip(jsonb, text, boolean), access.country_of(inet, jsonb),
access.decide(uuid, inet, text), access.check(uuid, inet, text)
to service_role;
