-- api: the PostgREST db-pre-request hook, the pack's middleware. Before every request:
-- the API version (Deprecation / Sunset headers, 410 after sunset), the access rules
-- (403), the rate limits (429 with Retry-After) and the brand's API-call quota (429).
-- A refusal is PostgREST's PGRST error (status, JSON body and headers, through
-- brandbase.refuse()); an admitted request gets its headers through response.headers.
-- Configure: db-pre-request = "brandbase.pre_request". The hook lives outside the exposed
-- schema api, so it is no endpoint (POST /rpc/pre_request would be one, callable by anon).
--
-- Who is charged: the brand the request names (X-Brand-Id, or the brand_id claim) only
-- when the caller acts for it: service_role (the database role), or a signed-in member of
-- that brand. Anyone else (anon always, a non-member, a request naming no brand) is limited
-- by its own key alone (user:<sub>, or ip:<address> when anonymous) under the role's
-- default policy, and spends nothing of any brand.
--
-- It runs before every request, so it is built to be cheap: the request GUCs are read
-- once, and each module is entered once through a function without exception blocks (a
-- subtransaction each) and without SET clauses (a GUC save and restore per call; the
-- quota through quotas._consume(), the body of the definer quotas.consume()). No step
-- writes WAL.

-- A refusal, as PostgREST's PGRST error: the HTTP status, a JSON body whose code names the
-- reason, and the response headers (those set in response.headers are lost with the
-- aborted transaction). Each reason has a counter: a sequence, which the rollback cannot
-- undo. Read-only transactions (PostgREST's GET and HEAD) refuse nextval(), so refused
-- reads go uncounted.
create or replace function brandbase.refuse(
    reason text, status integer, message text, hint text, headers jsonb default '[]'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.current_setting('transaction_read_only') = 'off' then
        perform case reason
            when 'bad_request' then pg_catalog.nextval('api.refused_bad_request')
            when 'version' then pg_catalog.nextval('api.refused_version')
            when 'access' then pg_catalog.nextval('api.refused_access')
            when 'rate_limit' then pg_catalog.nextval('api.refused_rate_limit')
            when 'quota' then pg_catalog.nextval('api.refused_quota')
        end;
    end if;
    raise sqlstate 'PGRST' using
        message = jsonb_build_object('code', reason, 'message', message, 'hint', hint)::text,
        detail = jsonb_build_object(
            'status', status,
            -- response.headers is a list of one-header objects; PGRST wants one object.
            'headers', (select coalesce(jsonb_object_agg(h.key, h.value), '{}') from jsonb_array_elements(headers) as a,
                jsonb_each(a.value) as h)
        )::text;
end
$$;

comment on function brandbase.refuse(text, integer, text, text, jsonb) is
'Ends a request with a PostgREST error of this HTTP status and headers, counting the reason '
'(bad_request, version, access, rate_limit, quota) in api.refused_<reason>.';

create or replace function brandbase.pre_request()
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
<<hook>>
declare
    headers jsonb := coalesce(nullif(pg_catalog.current_setting('request.headers', true), ''), '{}')::jsonb;
    claims jsonb := coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb;
    method text := coalesce(nullif(pg_catalog.current_setting('request.method', true), ''), 'GET');
    -- The database role PostgREST switched to: a claim can be set by anyone with an SQL
    -- session, the role only by whom the database lets.
    db_role text := brand.invoking_role();
    sub text := claims ->> 'sub';
    api_role text;
    brand_text text := coalesce(headers ->> 'x-brand-id', claims ->> 'brand_id');
    ctx record;
    ip inet;
    reason text;
    caller text;
    attempt record;
    p record;
    c record;
    -- the tightest rate-limit outcome, and the RateLimit-Policy list
    lim_allowed boolean;
    lim_capacity integer;
    lim_remaining integer;
    lim_reset double precision;
    lim_retry double precision;
    policy_list text;
    limit_headers text;  -- the RateLimit headers, as JSON objects separated by commas
    out_headers jsonb := '[]'::jsonb;
begin
    -- 0. Who. A sub that is present must be a user id ({"sub": null} included).
    if claims ? 'sub' and (sub is null or sub !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$') then
        raise exception 'malformed JWT claims in request.jwt.claims: "sub" is not a user id'
            using errcode = '28000',
                  hint = 'Expected a JSON object whose "sub" is the user''s uuid, as PostgREST sets it from a '
                         'verified token; sign in again.';
    end if;
    api_role := case
        when db_role in ('anon', 'authenticated', 'service_role') then db_role
        when sub is not null then 'authenticated'
        else 'anon'
    end;

    -- One query reads everything the request needs from the tables: each statement a
    -- PL/pgSQL function runs pays an executor start-up, and a request is one transaction,
    -- so nothing of it is cached between requests (the policies, the version and the rules
    -- may change between two). What it reads:
    --  * the API version the request selects (its profile header);
    --  * the brand the request is charged to: the one it names (X-Brand-Id, or the brand_id
    --    claim; checked by pattern, not by catching the cast's error, which would be a
    --    subtransaction) when the caller acts for it: service_role (the database role), or
    --    a signed-in member of that brand (one primary-key probe);
    --  * whether access rules are in scope (that brand's or the global ones; most installs
    --    have none: two primary-key probes), and how to find the client address;
    --  * the role's default policy: the attempt slots' and, for a request charged to no
    --    brand, its only rate limit (what ratelimit.policies_for answers for no brand).
    select v.version, v.deprecated_at, v.sunset_at, v.guide_url, w.charged,
        exists (
            select from access.ip_rules as r
            where r.brand_id in (w.charged, '00000000-0000-0000-0000-000000000000')
        ) or exists (
            select from access.geo_rules as g
            where g.brand_id in (w.charged, '00000000-0000-0000-0000-000000000000')
        ) as rules,
        coalesce(
            (select s.value from access.settings as s where s.name = 'client_ip_header'),
            case when exists (select from access.trusted_proxies) then 'x-forwarded-for' end
        ) as ip_source,
        exists (select from access.trusted_proxies) as proxies,
        d.rate, d.period, d.burst
    into ctx
    from (
        select case
            when brand_text ~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'
                then brand_text::uuid
        end as named
    ) as n
    left join brandbase.api_versions as v
        on v.schema_name = coalesce(
            headers ->> case when method in ('GET', 'HEAD') then 'accept-profile' else 'content-profile' end, 'api')
    cross join lateral (
        select case
            when api_role = 'service_role' then n.named
            when api_role = 'authenticated' and sub is not null and n.named is not null and exists (
                select from brand.members as m where m.brand_id = n.named and m.user_id = sub::uuid
            ) then n.named
        end as charged
        offset 0  -- computed once, then read as a value
    ) as w
    left join ratelimit.policies as d on d.api_role = hook.api_role and d.api_role in ('anon', 'authenticated');

    -- 1. Version: deprecation headers, 410 after sunset. The headers are built in a branch
    -- only deprecated versions enter: every function an expression calls is
    -- permission-checked each time it is set up (once per request).
    if ctx.deprecated_at <= brandbase.now() then
        out_headers := jsonb_build_array(jsonb_build_object('Deprecation',
            '@' || extract(epoch from ctx.deprecated_at)::bigint))
            || case when ctx.sunset_at is not null then jsonb_build_array(jsonb_build_object('Sunset',
                to_char(ctx.sunset_at at time zone 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS "GMT"'))) else '[]' end
            || case when ctx.guide_url is not null then jsonb_build_array(
                jsonb_build_object('Link', '<' || ctx.guide_url || '>; rel="deprecation"')) else '[]' end;
        if ctx.sunset_at <= brandbase.now() then
            perform brandbase.refuse('version', 410,
                pg_catalog.format('API version %s was retired on %s', ctx.version, ctx.sunset_at),
                coalesce('Migration guide: ' || ctx.guide_url, 'Use a current API version.'), out_headers);
        end if;
    end if;

    -- 2. A brand id that is no uuid.
    if brand_text !~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' then
        perform brandbase.refuse('bad_request', 400, 'X-Brand-Id is not a uuid',
            'Send the brand''s id, such as 0b0b0b0b-0000-4000-8000-000000000001.');
    end if;

    -- 3. Access rules of the charged brand and the global ones. A brand the caller does
    -- not act for is guarded where it is resolved (brand.has_permission,
    -- brand.brands_with), and naming one tells nothing of its rules. The client address is
    -- derived only when needed: for the key of an anonymous caller, or when rules apply.
    if sub is null or ctx.rules then
        ip := access._client_ip(headers, ctx.ip_source, ctx.proxies);
    end if;
    if ctx.rules then
        reason := (select d.reason from access.decide(ctx.charged, ip, access.country_of(ip, headers)) as d);
        if reason is not null then
            perform brandbase.refuse('access', 403, 'access denied: ' || reason,
                'The access rules refuse this client address or country.');
        end if;
    end if;

    -- 4 to 6 write (the attempt slot, the limiter's buckets, the API-call counter).
    -- PostgREST runs GET and HEAD requests, and POSTs to STABLE or IMMUTABLE functions, in
    -- read-only transactions, where nothing can be written: there the hook stops here, so
    -- those are versioned and access-checked but not metered (docs/ratelimit.md).
    if pg_catalog.current_setting('transaction_read_only') = 'on' then
        perform pg_catalog.set_config('response.headers', out_headers::text, true);
        return;
    end if;

    -- 4. Attempts, counted where the request's rollback cannot undo them (a sequence
    -- slot): a request that fails is not free.
    caller := case when sub is not null then 'user:' || sub else 'ip:' || coalesce(host(ip), 'unknown') end;
    attempt := ratelimit._attempt(api_role, caller, ctx.rate, ctx.period, ctx.burst);
    if not attempt.allowed then
        perform brandbase.refuse('rate_limit', 429, 'too many attempts',
            'Retry after the number of seconds in Retry-After.',
            jsonb_build_array(jsonb_build_object('Retry-After', ceil(attempt.retry_after)::text)));
    end if;

    -- 5. Rate limits: per user when signed in, per client IP when anonymous, under the
    -- role's default read above; for the charged brand, its own and the route's policies.
    -- What ratelimit.limit_request() does, without entering it: callers count per brand
    -- they are charged to, and apart per route with a policy of its own; a brand policy
    -- counts all the brand's callers of the role together. Every applicable policy
    -- consumes; the answer describes the tightest (a refusal first, else the longest
    -- wait, else the fewest requests left).
    if ctx.charged is null then
        if ctx.rate is not null then
            c := ratelimit.check(caller, ctx.rate, ctx.period, ctx.burst);
            policy_list := pg_catalog.format('%s;w=%s;burst=%s',
                ctx.rate, extract(epoch from ctx.period)::bigint, ctx.burst);
            lim_allowed := c.allowed;
            lim_capacity := c.capacity;
            lim_remaining := c.remaining;
            lim_reset := c.reset_after;
            lim_retry := c.retry_after;
        end if;
    else
        for p in select * from ratelimit.policies_for(
            ctx.charged, api_role,
            method || ' ' || coalesce(nullif(pg_catalog.current_setting('request.path', true), ''), '/')
        ) loop
            c := ratelimit.check(
                'brand:' || ctx.charged || ':'
                || case when p.scope = 'brand' then api_role else caller end
                || case when p.route = '*' then '' else ' ' || p.route end,
                p.rate, p.period, p.burst
            );
            policy_list := concat_ws(', ', policy_list, pg_catalog.format('%s;w=%s;burst=%s',
                p.rate, extract(epoch from p.period)::bigint, p.burst));
            if lim_allowed is null or lim_allowed and not c.allowed or c.allowed = lim_allowed and (
                c.retry_after > lim_retry or c.retry_after = lim_retry and c.remaining < lim_remaining
            ) then
                lim_allowed := c.allowed;
                lim_capacity := c.capacity;
                lim_remaining := c.remaining;
                lim_reset := c.reset_after;
                lim_retry := c.retry_after;
            end if;
        end loop;
    end if;
    if lim_allowed is not null then
        -- One format() rather than ten JSON constructors; the values are numbers and a
        -- policy list of numbers, so nothing needs escaping.
        limit_headers := pg_catalog.format(
            '{"X-RateLimit-Limit": "%1$s"}, {"X-RateLimit-Remaining": "%2$s"}, {"X-RateLimit-Reset": "%3$s"}, '
            '{"RateLimit": "limit=%1$s, remaining=%2$s, reset=%3$s"}, {"RateLimit-Policy": "%4$s"}',
            lim_capacity, lim_remaining, ceil(lim_reset), policy_list
        );
        if not lim_allowed then
            perform brandbase.refuse('rate_limit', 429, 'rate limit exceeded',
                'Retry after the number of seconds in Retry-After.',
                out_headers || ('[' || limit_headers || ']')::jsonb
                || jsonb_build_array(jsonb_build_object('Retry-After', ceil(lim_retry)::text)));
        end if;
    end if;

    -- 6. The charged brand's API-call quota.
    if ctx.charged is not null and not (quotas._consume(ctx.charged, 'api_calls', 1)).allowed then
        perform brandbase.refuse('quota', 429, 'the brand''s API call quota is used up',
            'Quotas renew each billing period; see api.quota_usage.',
            out_headers || coalesce('[' || limit_headers || ']', '[]')::jsonb);
    end if;

    -- The headers as text: no JSON round trip unless the version is deprecated.
    perform pg_catalog.set_config('response.headers', case
        when out_headers = '[]'::jsonb then '[' || coalesce(limit_headers, '') || ']'
        else (out_headers || coalesce('[' || limit_headers || ']', '[]')::jsonb)::text
    end, true);
end
$$;

comment on function brandbase.pre_request() is
'PostgREST db-pre-request hook (db-pre-request = "brandbase.pre_request"): API version headers '
'(410 after sunset), access rules (403), attempts and rate limits per caller, and for a brand the '
'caller acts for its brand and route limits (429 + RateLimit headers) and API-call quota (429).';

-- The hook and its refusal left the exposed schema (0021): neither may stay an endpoint.
drop function if exists api.pre_request();
drop function if exists api.refuse(text, integer, text, text, jsonb);

revoke all on function brandbase.refuse(text, integer, text, text, jsonb) from public;
revoke all on function brandbase.pre_request() from public;
grant execute on function brandbase.pre_request() to anon, authenticated, service_role;

-- The version registry, for clients: a view over brandbase.api_versions (migration 0021;
-- the condition lets these files be applied over an older schema, as upgrade tests do).
do $$
begin
    if pg_catalog.to_regclass('brandbase.api_versions') is null then
        return;
    end if;
    execute $sql$
        create or replace view api.versions
        with (security_invoker = true) as
        select v.schema_name, v.version, v.released_at, v.deprecated_at, v.sunset_at, v.guide_url
        from brandbase.api_versions as v
    $sql$;
    comment on view api.versions is
    'The API versions (schemas) served, with their deprecation and sunset dates; the registry is '
    'brandbase.api_versions, written by the operator.';
    revoke all on brandbase.api_versions, api.versions from public, anon, authenticated;
    grant select on brandbase.api_versions, api.versions to anon, authenticated;
    grant select, insert, update, delete on brandbase.api_versions, api.versions to service_role;
end
$$;

-- PostgREST configured with the hook's old name (authenticator's pgrst.db_pre_request, as
-- docs/api-versioning.md said before 0021) would fail every request: point it at the new
-- one and have PostgREST reload, where this role may. Otherwise the operator does it.
do $$
declare
    setting record;
begin
    for setting in
        select d.datname
        from pg_catalog.pg_db_role_setting as s
        inner join pg_catalog.pg_roles as r on s.setrole = r.oid
        left join pg_catalog.pg_database as d on s.setdatabase = d.oid
        where r.rolname = 'authenticator' and 'pgrst.db_pre_request=api.pre_request' = any(s.setconfig)
    loop
        begin
            if setting.datname is null then
                execute 'alter role authenticator set pgrst.db_pre_request = ''brandbase.pre_request''';
            else
                execute pg_catalog.format(
                    'alter role authenticator in database %I set pgrst.db_pre_request = ''brandbase.pre_request''',
                    setting.datname);
            end if;
            perform pg_catalog.pg_notify('pgrst', 'reload config');
        exception when insufficient_privilege then
            raise warning 'PostgREST still calls api.pre_request(), which is gone'
                using hint = 'As a role that may: alter role authenticator set pgrst.db_pre_request = '
                             '''brandbase.pre_request''; notify pgrst, ''reload config'';';
        end;
    end loop;
end
$$;
