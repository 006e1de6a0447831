-- api: the PostgREST db-pre-request hook, the pack's middleware. Before every request:
-- the API version (Deprecation / Sunset headers, 410 after sunset), the access rules
-- (403), the rate limit (429 with Retry-After) and the brand's API-call quota (429).
-- It raises PostgREST's PTxxx SQLSTATEs, which become the HTTP status, and sets
-- response.headers. Configure: db-pre-request = "api.pre_request".

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
    profile text;
    v api.versions;
    ip inet := access.client_ip(headers);
    brand_id uuid;
    gate record;
    policy ratelimit.policies;
    limited record;
    out_headers jsonb := '[]';
begin
    -- 1. Version: the schema the request selects.
    profile := coalesce(
        headers ->> case when method in ('GET', 'HEAD') then 'accept-profile' else 'content-profile' end, 'api');
    select * into v from api.versions as av where av.schema_name = profile;
    if v.sunset_at is not null and v.sunset_at <= brandbase.now() then
        raise sqlstate 'PT410' using
            message = pg_catalog.format('API version %s was retired on %s', v.version, v.sunset_at),
            hint = coalesce('Migration guide: ' || v.guide_url, 'Use a current API version.');
    end if;
    if v.deprecated_at is not null and v.deprecated_at <= brandbase.now() then
        out_headers := out_headers || jsonb_build_array(
            jsonb_build_object('Deprecation', '@' || extract(epoch from v.deprecated_at)::bigint));
        if v.sunset_at is not null then
            out_headers := out_headers || jsonb_build_array(jsonb_build_object('Sunset',
                to_char(v.sunset_at at time zone 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS "GMT"')));
        end if;
        if v.guide_url is not null then
            out_headers := out_headers || jsonb_build_array(
                jsonb_build_object('Link', '<' || v.guide_url || '>; rel="deprecation"'));
        end if;
    end if;

    -- 2. Access rules, for the brand the request names (X-Brand-Id or the brand_id claim).
    begin
        brand_id := coalesce(headers ->> 'x-brand-id', claims ->> 'brand_id')::uuid;
    exception when invalid_text_representation then
        raise sqlstate 'PT400' using message = 'X-Brand-Id is not a uuid';
    end;
    select * into gate from access.check(brand_id, ip, access.country_of(ip, headers));
    if not gate.allowed then
        raise sqlstate 'PT403' using message = 'access denied: ' || gate.reason;
    end if;

    -- 3. Rate limit per user, or per client IP for anonymous callers.
    select * into policy from ratelimit.policies as p where p.api_role = caller_role;
    if found then
        select * into limited from ratelimit.check(
            case when claims ? 'sub' then 'user:' || (claims ->> 'sub')
                 else 'ip:' || coalesce(host(ip), 'unknown') end,
            policy.rate, policy.period, policy.burst);
        out_headers := out_headers || jsonb_build_array(
            jsonb_build_object('X-RateLimit-Limit', limited."limit"::text),
            jsonb_build_object('X-RateLimit-Remaining', limited.remaining::text),
            jsonb_build_object('X-RateLimit-Reset', ceil(limited.reset_after)::text),
            jsonb_build_object('RateLimit', pg_catalog.format('limit=%s, remaining=%s, reset=%s',
                limited."limit", limited.remaining, ceil(limited.reset_after))),
            jsonb_build_object('RateLimit-Policy', pg_catalog.format('%s;w=%s;burst=%s',
                policy.rate, extract(epoch from policy.period)::bigint, policy.burst)));
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
'rate limit (429 + RateLimit headers), API-call quota (429).';

revoke all on function api.pre_request() from public;
grant execute on function api.pre_request() to anon, authenticated, service_role;
revoke all on api.versions from public, anon, authenticated;
grant select on api.versions to anon, authenticated;
grant select, insert, update, delete on api.versions to service_role;
revoke all on ratelimit.policies from public;
grant select, insert, update, delete on ratelimit.policies to service_role;
