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
    named uuid;
    charged uuid;  -- the brand this request is charged to: named, and acted for
    caller text;
    version record;
    door record;
    attempt record;
    limited record;
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

    -- 1. Version: the schema the request selects, and its deprecation headers. The
    -- headers are built in a branch only deprecated versions enter: every function an
    -- expression calls is permission-checked each time it is set up (once per request).
    select v.version, v.deprecated_at, v.sunset_at, v.guide_url into version
    from brandbase.api_versions as v
    where v.schema_name = coalesce(
        headers ->> case when method in ('GET', 'HEAD') then 'accept-profile' else 'content-profile' end, 'api');
    if version.deprecated_at <= brandbase.now() then
        out_headers := jsonb_build_array(jsonb_build_object('Deprecation',
            '@' || extract(epoch from version.deprecated_at)::bigint))
            || case when version.sunset_at is not null then jsonb_build_array(jsonb_build_object('Sunset',
                to_char(version.sunset_at at time zone 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS "GMT"'))) else '[]' end
            || case when version.guide_url is not null then jsonb_build_array(
                jsonb_build_object('Link', '<' || version.guide_url || '>; rel="deprecation"')) else '[]' end;
        if version.sunset_at <= brandbase.now() then
            perform brandbase.refuse('version', 410,
                pg_catalog.format('API version %s was retired on %s', version.version, version.sunset_at),
                coalesce('Migration guide: ' || version.guide_url, 'Use a current API version.'), out_headers);
        end if;
    end if;

    -- 2. The brand the request is charged to. Checked by pattern, not by catching the
    -- cast's error: that would be a subtransaction.
    if brand_text !~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' then
        perform brandbase.refuse('bad_request', 400, 'X-Brand-Id is not a uuid',
            'Send the brand''s id, such as 0b0b0b0b-0000-4000-8000-000000000001.');
    end if;
    named := brand_text::uuid;
    if api_role = 'service_role' then
        charged := named;
    elsif api_role = 'authenticated' and sub is not null and named is not null and exists (
        select from brand.members as m where m.brand_id = named and m.user_id = sub::uuid
    ) then
        charged := named;
    end if;

    -- 3. Access rules of that brand and the global ones. A brand the caller does not act
    -- for is guarded where it is resolved (brand.has_permission, brand.brands_with), and
    -- naming one tells nothing of its rules.
    door := access.admit(charged, headers, sub is null);
    if door.reason is not null then
        perform brandbase.refuse('access', 403, 'access denied: ' || door.reason,
            'The access rules refuse this client address or country.');
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
    caller := case when sub is not null then 'user:' || sub else 'ip:' || coalesce(host(door.ip), 'unknown') end;
    attempt := ratelimit.attempt(api_role, caller);
    if not attempt.allowed then
        perform brandbase.refuse('rate_limit', 429, 'too many attempts',
            'Retry after the number of seconds in Retry-After.',
            jsonb_build_array(jsonb_build_object('Retry-After', ceil(attempt.retry_after)::text)));
    end if;

    -- 5. Rate limits: per user when signed in, per client IP when anonymous; plus, for the
    -- charged brand, its own and the route's policies.
    limited := ratelimit.limit_request(
        charged, api_role, caller,
        method || ' ' || coalesce(nullif(pg_catalog.current_setting('request.path', true), ''), '/')
    );
    if limited.allowed is not null then
        -- One format() rather than ten JSON constructors (see step 1); the values are
        -- numbers and a policy list of numbers, so nothing needs escaping.
        out_headers := out_headers || pg_catalog.format(
            '[{"X-RateLimit-Limit": "%1$s"}, {"X-RateLimit-Remaining": "%2$s"}, {"X-RateLimit-Reset": "%3$s"}, '
            '{"RateLimit": "limit=%1$s, remaining=%2$s, reset=%3$s"}, {"RateLimit-Policy": "%4$s"}]',
            limited.capacity, limited.remaining, ceil(limited.reset_after), limited.policy
        )::jsonb;
        if not limited.allowed then
            perform brandbase.refuse('rate_limit', 429, 'rate limit exceeded',
                'Retry after the number of seconds in Retry-After.',
                out_headers || jsonb_build_array(jsonb_build_object('Retry-After', ceil(limited.retry_after)::text)));
        end if;
    end if;

    -- 6. The charged brand's API-call quota.
    if charged is not null and not (quotas._consume(charged, 'api_calls', 1)).allowed then
        perform brandbase.refuse('quota', 429, 'the brand''s API call quota is used up',
            'Quotas renew each billing period; see api.quota_usage.', out_headers);
    end if;

    perform pg_catalog.set_config('response.headers', out_headers::text, true);
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
