-- brandbase 0010 (api): the request gate's configuration — the registry of API versions
-- (one schema per major version) and the default rate-limit policies per API role.

create table api.versions (
    schema_name text primary key check (schema_name ~ '^[a-z][a-z0-9_]*$'),
    version text not null,
    released_at date not null default current_date,
    deprecated_at timestamptz,
    sunset_at timestamptz,
    guide_url text check (guide_url ~ '^https?://'),
    check (sunset_at is null or deprecated_at is not null and sunset_at >= deprecated_at)
);
comment on table api.versions is
'API versions, one PostgREST schema each (selected with Accept-Profile / Content-Profile). '
'Deprecated versions answer with Deprecation and Sunset headers, sunset ones with 410.';

insert into api.versions (schema_name, version) values ('api', 'v1');

create table ratelimit.policies (
    api_role text primary key check (api_role in ('anon', 'authenticated', 'service_role')),
    rate integer not null check (rate > 0),
    period interval not null check (period > interval '0'),
    burst integer not null default 0 check (burst >= 0)
);
comment on table ratelimit.policies is
'Default request limits per API role, applied by api.pre_request(): anonymous callers per '
'client IP, signed-in callers per user.';

insert into ratelimit.policies (api_role, rate, period, burst) values
('anon', 60, '1 minute', 30),
('authenticated', 600, '1 minute', 100);
