-- api: the PostgREST db-pre-request hook, the pack's middleware. Before every request:
-- the API version (Deprecation / Sunset headers, 410 after sunset), the access rules
-- (403), the rate limits (429 with Retry-After) and the brand's API-call quota (429).
-- It raises PostgREST's PTxxx SQLSTATEs, which become the HTTP status, and sets
-- response.headers. Configure: db-pre-request = "api.pre_request".
--
-- It runs before every request, so it is built to be cheap: the request GUCs are read
-- once, each step is one statement, and each module is entered once through a function
-- without SET clauses or exception blocks (each of those costs a context switch or a
-- subtransaction per call).

create or replace function api.pre_request()
returns void
language plpgsql
security definer
set search_path = ''
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
    out_headers jsonb;
begin
    -- 1. Version: the schema the request selects, and its deprecation headers.
    select
        v.sunset_at <= brandbase.now() as retired, v.version, v.sunset_at, v.guide_url,
        case when v.deprecated_at <= brandbase.now() then
            jsonb_build_array(jsonb_build_object('Deprecation', '@' || extract(epoch from v.deprecated_at)::bigint))
            || case when v.sunset_at is not null then jsonb_build_array(jsonb_build_object('Sunset',
                to_char(v.sunset_at at time zone 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS "GMT"'))) else '[]' end
            || case when v.guide_url is not null then jsonb_build_array(
                jsonb_build_object('Link', '<' || v.guide_url || '>; rel="deprecation"')) else '[]' end
        end as headers
    into version
    from api.versions as v
    where v.schema_name = coalesce(
        headers ->> case when method in ('GET', 'HEAD') then 'accept-profile' else 'content-profile' end, 'api');
    if version.retired then
        raise sqlstate 'PT410' using
            message = pg_catalog.format('API version %s was retired on %s', version.version, version.sunset_at),
            hint = coalesce('Migration guide: ' || version.guide_url, 'Use a current API version.');
    end if;
    out_headers := coalesce(version.headers, '[]');

    -- 2. Access rules, for the brand the request names (X-Brand-Id or the brand_id claim).
    -- Checked by pattern, not by catching the cast's error: that would be a subtransaction.
    if brand_text !~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' then
        raise sqlstate 'PT400' using message = 'X-Brand-Id is not a uuid',
            hint = 'Send the brand''s id, such as 0b0b0b0b-0000-4000-8000-000000000001.';
    end if;
    brand_id := brand_text::uuid;
    door := access.admit(brand_id, headers);
    if door.reason is not null then
        raise sqlstate 'PT403' using message = 'access denied: ' || door.reason;
    end if;

    -- 3 and 4 write (the limiter's buckets, the quota's usage). PostgREST runs GET and
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
        out_headers := out_headers || jsonb_build_array(
            jsonb_build_object('X-RateLimit-Limit', limited."limit"::text),
            jsonb_build_object('X-RateLimit-Remaining', limited.remaining::text),
            jsonb_build_object('X-RateLimit-Reset', ceil(limited.reset_after)::text),
            jsonb_build_object('RateLimit', pg_catalog.format('limit=%s, remaining=%s, reset=%s',
                limited."limit", limited.remaining, ceil(limited.reset_after))),
            jsonb_build_object('RateLimit-Policy', limited.policy));
        if not limited.allowed then
            out_headers := out_headers || jsonb_build_array(
                jsonb_build_object('Retry-After', ceil(limited.retry_after)::text));
            perform pg_catalog.set_config('response.headers', out_headers::text, true);
            raise sqlstate 'PT429' using message = 'rate limit exceeded',
                detail = jsonb_build_object('retry_after', ceil(limited.retry_after))::text,
                hint = 'Retry after the number of seconds in Retry-After.';
        end if;
    end if;

    -- 4. The brand's API-call quota.
    if brand_id is not null and not (quotas.consume(brand_id, 'api_calls', 1)).allowed then
        raise sqlstate 'PT429' using message = 'the brand''s API call quota is used up',
            hint = 'Quotas renew each billing period; see api.quota_usage.';
    end if;

    perform pg_catalog.set_config('response.headers', out_headers::text, true);
end
$$;

comment on function api.pre_request() is
'PostgREST db-pre-request hook: API version headers (410 after sunset), access rules (403), '
'rate limits per caller, brand and route (429 + RateLimit headers), API-call quota (429).';

revoke all on function api.pre_request() from public;
grant execute on function api.pre_request() to anon, authenticated, service_role;
revoke all on api.versions from public, anon, authenticated;
grant select on api.versions to anon, authenticated;
grant select, insert, update, delete on api.versions to service_role;
