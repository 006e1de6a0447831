-- api: the PostgREST db-pre-request hook, the pack's middleware. Before every request:
-- the API version (Deprecation / Sunset headers, 410 after sunset), the access rules
-- (403), the rate limits (429 with Retry-After) and the brand's API-call quota (429).
-- A refusal is PostgREST's PGRST error (status, JSON body and headers, through
-- api.refuse()); an admitted request gets its headers through response.headers.
-- Configure: db-pre-request = "api.pre_request".
--
-- It runs before every request, so it is built to be cheap: the request GUCs are read
-- once, and each module is entered once through a function without exception blocks (a
-- subtransaction each) and, but for quotas.consume() (which service_role also calls
-- directly), without SET clauses (a GUC save and restore per call). No step writes WAL.

-- A refusal, as PostgREST's PGRST error: the HTTP status, a JSON body whose code names the
-- reason, and the response headers (those set in response.headers are lost with the
-- aborted transaction). Each reason has a counter: a sequence, which the rollback cannot
-- undo. Read-only transactions (PostgREST's GET and HEAD) refuse nextval(), so refused
-- reads go uncounted.
create or replace function api.refuse(
    reason text, status integer, message text, hint text, headers jsonb default '[]'
)
returns void
language plpgsql
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

comment on function api.refuse(text, integer, text, text, jsonb) is
'Ends a request with a PostgREST error of this HTTP status and headers, counting the reason '
'(bad_request, version, access, rate_limit, quota) in api.refused_<reason>.';

create or replace function api.pre_request()
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    headers jsonb := coalesce(nullif(pg_catalog.current_setting('request.headers', true), ''), '{}')::jsonb;
    claims jsonb := coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb;
    method text := coalesce(nullif(pg_catalog.current_setting('request.method', true), ''), 'GET');
    caller_role text := coalesce(claims ->> 'role', 'anon');
    brand_text text := coalesce(headers ->> 'x-brand-id', claims ->> 'brand_id');
    brand_id uuid;
    version record;
    door record;
    limited record;
    out_headers jsonb := '[]';
begin
    -- 1. Version: the schema the request selects, and its deprecation headers. The
    -- headers are built in a branch only deprecated versions enter: every function an
    -- expression calls is permission-checked each time it is set up (once per request).
    select v.version, v.deprecated_at, v.sunset_at, v.guide_url into version
    from api.versions as v
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
            perform api.refuse('version', 410,
                pg_catalog.format('API version %s was retired on %s', version.version, version.sunset_at),
                coalesce('Migration guide: ' || version.guide_url, 'Use a current API version.'), out_headers);
        end if;
    end if;

    -- 2. Access rules, for the brand the request names (X-Brand-Id or the brand_id claim).
    -- Checked by pattern, not by catching the cast's error: that would be a subtransaction.
    if brand_text !~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' then
        perform api.refuse('bad_request', 400, 'X-Brand-Id is not a uuid',
            'Send the brand''s id, such as 0b0b0b0b-0000-4000-8000-000000000001.');
    end if;
    brand_id := brand_text::uuid;
    door := access.admit(brand_id, headers);
    if door.reason is not null then
        perform api.refuse('access', 403, 'access denied: ' || door.reason,
            'The brand''s access rules refuse this client address or country.');
    end if;

    -- 3 and 4 write (the limiter's buckets, the API-call counter). PostgREST runs GET and
    -- HEAD requests in read-only transactions, where no table can be written: there the
    -- hook stops here, so reads are versioned and access-checked but not metered
    -- (docs/ratelimit.md: rate-limit reads in front of PostgREST).
    if pg_catalog.current_setting('transaction_read_only') = 'on' then
        perform pg_catalog.set_config('response.headers', out_headers::text, true);
        return;
    end if;

    -- 3. Rate limits: per user when signed in, per client IP when anonymous; plus the
    -- brand's and the route's policies.
    limited := ratelimit.limit_request(
        brand_id, caller_role,
        case when claims ? 'sub' then 'user:' || (claims ->> 'sub')
            else 'ip:' || coalesce(host(door.ip), 'unknown') end,
        method || ' ' || coalesce(nullif(pg_catalog.current_setting('request.path', true), ''), '/')
    );
    if limited.allowed is not null then
        -- One format() rather than ten JSON constructors (see step 1); the values are
        -- numbers and a policy list of numbers, so nothing needs escaping.
        out_headers := out_headers || pg_catalog.format(
            '[{"X-RateLimit-Limit": "%1$s"}, {"X-RateLimit-Remaining": "%2$s"}, {"X-RateLimit-Reset": "%3$s"}, '
            '{"RateLimit": "limit=%1$s, remaining=%2$s, reset=%3$s"}, {"RateLimit-Policy": "%4$s"}]',
            limited."limit", limited.remaining, ceil(limited.reset_after), limited.policy
        )::jsonb;
        if not limited.allowed then
            perform api.refuse('rate_limit', 429, 'rate limit exceeded',
                'Retry after the number of seconds in Retry-After.',
                out_headers || jsonb_build_array(jsonb_build_object('Retry-After', ceil(limited.retry_after)::text)));
        end if;
    end if;

    -- 4. The brand's API-call quota.
    if brand_id is not null and not (quotas.consume(brand_id, 'api_calls', 1)).allowed then
        perform api.refuse('quota', 429, 'the brand''s API call quota is used up',
            'Quotas renew each billing period; see api.quota_usage.', out_headers);
    end if;

    perform pg_catalog.set_config('response.headers', out_headers::text, true);
end
$$;

comment on function api.pre_request() is
'PostgREST db-pre-request hook: API version headers (410 after sunset), access rules (403), '
'rate limits per caller, brand and route (429 + RateLimit headers), API-call quota (429).';

revoke all on function api.refuse(text, integer, text, text, jsonb) from public;
revoke all on function api.pre_request() from public;
grant execute on function api.pre_request() to anon, authenticated, service_role;
revoke all on api.versions from public, anon, authenticated;
grant select on api.versions to anon, authenticated;
grant select, insert, update, delete on api.versions to service_role;
