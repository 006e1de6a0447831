-- brandbase 0021 (api): the request gate leaves the exposed schema, and learns who the
-- client is only from a proxy the operator names.
-- 1. The version registry moves from api (a table PostgREST exposes, without row security)
--    to brandbase.api_versions; sql/api/10_pre_request.sql puts a security_invoker view
--    api.versions over it for clients, and the hook itself becomes brandbase.pre_request().
-- 2. access.settings may name client_ip_header: the header the proxy in front of
--    PostgREST sets to the client's address (cf-connecting-ip behind Supabase's edge, or
--    x-forwarded-for). Without it, and without trusted proxies, the address is unknown.
-- 3. Attempt slots: 64 unlogged sequences per API role. nextval() and setval() are not
--    undone by a rollback, so the hook counts every request in them, the ones that fail
--    included (their bucket and quota writes roll back with them). Unlogged: no WAL, so no
--    transaction id and no WAL flush at commit (PostgreSQL 15 and later).

alter table api.versions set schema brandbase;
alter table brandbase.versions rename to api_versions;
comment on table brandbase.api_versions is
'API versions, one PostgREST schema each (selected with Accept-Profile / Content-Profile). '
'Deprecated versions answer with Deprecation and Sunset headers, sunset ones with 410. '
'Clients read it through the view api.versions.';

update access.settings set value = lower(value);
alter table access.settings drop constraint settings_name_check;
alter table access.settings add constraint settings_name_check
check (name in ('country_header', 'client_ip_header'));
alter table access.settings add constraint settings_value_check
check (value ~ '^[a-z0-9-]{1,64}$');
comment on table access.settings is
'Access settings: client_ip_header names the header the proxy in front of PostgREST sets to '
'the client address (cf-connecting-ip, or x-forwarded-for, walked from the right past '
'access.trusted_proxies); country_header a header such a proxy sets to the country '
'(cf-ipcountry). Header names in lower case, as in request.headers.';

do $$
declare
    api_role text;
    slot integer;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        for slot in 0..63 loop
            execute pg_catalog.format(
                'create unlogged sequence ratelimit.%I as bigint minvalue 0 start 0',
                'attempts_' || api_role || '_' || pg_catalog.lpad(slot::text, 2, '0'));
            execute pg_catalog.format(
                'comment on sequence ratelimit.%I is %L',
                'attempts_' || api_role || '_' || pg_catalog.lpad(slot::text, 2, '0'),
                'Attempt slot of ratelimit.attempt(): a GCRA theoretical arrival time, in emission '
                'intervals, shared by the ' || api_role || ' callers whose key hashes here.');
            execute pg_catalog.format(
                'revoke all on sequence ratelimit.%I from public, anon, authenticated',
                'attempts_' || api_role || '_' || pg_catalog.lpad(slot::text, 2, '0'));
        end loop;
    end loop;
end
$$;
