-- brandbase 0008 (quotas): per-brand limits per metric and period, from plans with
-- per-brand overrides, metered usage, and threshold alerts raised once per period.

create schema quotas;
comment on schema quotas is 'Per-brand quotas: limits from plans and overrides, usage metering, alerts.';
grant usage on schema quotas to authenticated, service_role;

create table quotas.metrics (
    metric text primary key check (metric ~ '^[a-z][a-z0-9_]*$'),
    unit text not null,
    description text not null
);
comment on table quotas.metrics is 'What can be metered (api_calls, ai_tokens, storage_bytes, …).';

create table quotas.plan_limits (
    plan text not null,
    metric text not null references quotas.metrics (metric) on delete cascade,
    soft_limit bigint check (soft_limit >= 0),
    hard_limit bigint check (hard_limit >= 0),
    period text not null default 'month' check (period in ('month', 'rolling')),
    rolling_window interval check (rolling_window > interval '0'),
    primary key (plan, metric),
    check ((period = 'rolling') = (rolling_window is not null)),
    check (soft_limit is null or hard_limit is null or soft_limit <= hard_limit)
);
comment on table quotas.plan_limits is
'Default limits per plan (brand.brands.plan). Month periods start on the brand''s billing day.';
create index plan_limits_metric_idx on quotas.plan_limits (metric);

create table quotas.brand_quotas (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    metric text not null references quotas.metrics (metric) on delete cascade,
    soft_limit bigint check (soft_limit >= 0),
    hard_limit bigint check (hard_limit >= 0),
    primary key (brand_id, metric),
    check (soft_limit is null or hard_limit is null or soft_limit <= hard_limit)
);
comment on table quotas.brand_quotas is 'Per-brand overrides of the plan''s limits (null: keep the plan''s).';
create index brand_quotas_metric_idx on quotas.brand_quotas (metric);

create table quotas.usage (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    metric text not null references quotas.metrics (metric) on delete cascade,
    period_start timestamptz not null,
    used bigint not null default 0 check (used >= 0),
    updated_at timestamptz not null default now(),
    primary key (brand_id, metric, period_start)
);
comment on table quotas.usage is
'Usage per brand, metric and period. For rolling windows the period is the hour bucket.';
create index usage_metric_idx on quotas.usage (metric);

create table quotas.alerts (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    metric text not null references quotas.metrics (metric) on delete cascade,
    period_start timestamptz not null,
    threshold integer not null check (threshold > 0),
    used bigint not null,
    quota bigint not null,
    raised_at timestamptz not null default now(),
    primary key (brand_id, metric, period_start, threshold)
);
comment on table quotas.alerts is
'Thresholds crossed (percent of the quota), once per brand, metric, period and threshold. '
'Also announced with NOTIFY brandbase_quota_alert for subscribers (webhooks, notifications).';
create index alerts_metric_idx on quotas.alerts (metric);

alter table quotas.brand_quotas enable row level security;
alter table quotas.usage enable row level security;
alter table quotas.alerts enable row level security;

insert into quotas.metrics (metric, unit, description) values
('api_calls', 'requests', 'Requests through the API'),
('ai_tokens', 'tokens', 'Tokens used through the AI proxies'),
('storage_bytes', 'bytes', 'Bytes stored (read from storage.objects on Supabase)'),
('exports', 'exports', 'GDPR and data exports created'),
('seats', 'members', 'Members of the brand');

insert into quotas.plan_limits (plan, metric, soft_limit, hard_limit) values
('free', 'api_calls', 80000, 100000),
('free', 'ai_tokens', 80000, 100000),
('free', 'exports', null, 5),
('free', 'seats', null, 5),
('pro', 'api_calls', 4000000, 5000000),
('pro', 'ai_tokens', 4000000, 5000000),
('pro', 'exports', null, 100),
('pro', 'seats', null, 50);
