-- brandbase 0014 (ratelimit): rate-limit policies by plan, with per-brand overrides, for
-- every caller, for the brand as a whole and per route; and a cheaper bucket table (the
-- limiter's hot path: byte-order key comparisons, room on each page for HOT updates).

-- Keys are opaque: compare them byte by byte instead of through the locale. The length
-- check moves into ratelimit.check(), which already validates its arguments; as a table
-- constraint it was rebuilt from its stored form at every statement.
alter table ratelimit.buckets drop constraint buckets_key_check;
alter table ratelimit.buckets alter column key type text collate "C";
alter table ratelimit.buckets set (fillfactor = 70);

create table ratelimit.plan_policies (
    plan text not null check (plan ~ '^[a-z0-9_]{1,40}$'),
    api_role text not null check (api_role in ('anon', 'authenticated')),
    scope text not null check (scope in ('caller', 'brand')),
    route text not null default '*' check (route = '*' or route ~ '^(GET|HEAD|POST|PUT|PATCH|DELETE) /'),
    rate integer not null check (rate > 0),
    period interval not null check (period > interval '0'),
    burst integer not null default 0 check (burst >= 0),
    primary key (plan, api_role, scope, route)
);
comment on table ratelimit.plan_policies is
'Request limits by the brand''s plan (brand.brands.plan). scope caller: each user (or client '
'IP, when anonymous) on its own; scope brand: all of the brand''s callers of that role together. '
'route ''*'' is every request; ''POST /rpc/export'' (method and PostgREST path) adds a limit '
'on that route alone.';
comment on column ratelimit.plan_policies.route is
'* for every request, or a PostgREST route: method, a space and request.path.';

create table ratelimit.brand_policies (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    api_role text not null check (api_role in ('anon', 'authenticated')),
    scope text not null check (scope in ('caller', 'brand')),
    route text not null default '*' check (route = '*' or route ~ '^(GET|HEAD|POST|PUT|PATCH|DELETE) /'),
    rate integer not null check (rate > 0),
    period interval not null check (period > interval '0'),
    burst integer not null default 0 check (burst >= 0),
    primary key (brand_id, api_role, scope, route)
);
comment on table ratelimit.brand_policies is
'Per-brand overrides of ratelimit.plan_policies, same shape: an override replaces the plan''s '
'policy for the same role, scope and route. Written by the operator (service_role).';

alter table ratelimit.brand_policies enable row level security;

insert into ratelimit.plan_policies (plan, api_role, scope, route, rate, period, burst) values
('free', 'authenticated', 'brand', '*', 3000, '1 minute', 300),
('pro', 'authenticated', 'caller', '*', 1200, '1 minute', 200),
('pro', 'authenticated', 'brand', '*', 30000, '1 minute', 3000);
