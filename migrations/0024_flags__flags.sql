-- brandbase 0024 (flags): feature flags with Unleash's semantics, evaluated inside
-- Postgres. Flags, segments and entitlements are the platform's (one set for every brand);
-- overrides are per brand and per user. Strategies, constraints and variants are kept in
-- the shape Unleash's client API uses (validated on write by flags._check_* in
-- sql/flags/20_validate.sql), so an import is a copy and an export is a select.

create schema flags;
comment on schema flags is
'Feature flags: definitions per environment, segments, plan entitlements, per-brand and '
'per-user overrides, and the one evaluation path behind flags.evaluate() and flags.enabled().';
grant usage on schema flags to anon, authenticated, service_role;

create table flags.settings (
    singleton boolean primary key default true check (singleton),
    environment text not null default 'production'
);
comment on table flags.settings is
'One row. environment: the environment evaluations use when the caller names none (one of '
'flags.environments).';
insert into flags.settings default values;

create table flags.environments (
    name text primary key check (name ~ '^[a-z][a-z0-9_-]{0,39}$'),
    description text not null default ''
);
comment on table flags.environments is
'Where a flag can be configured differently (its own kill switch and strategies).';
insert into flags.environments (name, description) values
('development', 'Developers'' machines and preview deployments'),
('staging', 'Pre-release testing'),
('production', 'What customers use');

create table flags.flags (
    key text primary key check (length(key) between 1 and 200 and key !~ '[[:cntrl:]]'),
    kind text not null default 'boolean' check (kind in ('boolean', 'string', 'number', 'json')),
    description text not null default '' check (length(description) <= 2000),
    tags text[] not null default '{}' check (cardinality(tags) <= 50),
    on_value jsonb,
    variants jsonb not null default '[]' check (jsonb_typeof(variants) = 'array'),
    dependencies jsonb not null default '[]' check (jsonb_typeof(dependencies) = 'array'),
    archived_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (
        on_value is null
        or (kind = 'boolean' and jsonb_typeof(on_value) = 'boolean')
        or (kind = 'string' and jsonb_typeof(on_value) = 'string')
        or (kind = 'number' and jsonb_typeof(on_value) = 'number')
        or kind = 'json'
    )
);
comment on table flags.flags is
'One row per flag. Evaluation runs per environment (flags.flag_environments).';
comment on column flags.flags.kind is
'The type of the flag''s value: boolean, string, number or json (OpenFeature''s four).';
comment on column flags.flags.on_value is
'The value when the flag is on and no variant applies (boolean: true; others: required for a '
'value without variants).';
comment on column flags.flags.variants is
'Unleash variants: [{name, weight, weightType fix|variable, stickiness, payload {type, value}, '
'overrides [{contextName, values}]}]; weights sum to 1000 (normalised on write).';
comment on column flags.flags.dependencies is
'Parent flags: [{feature, enabled (default true), variants [names]}]; one level, as in Unleash.';
comment on column flags.flags.archived_at is
'When the flag was archived; archived flags evaluate as disabled.';

create table flags.flag_environments (
    flag_key text not null references flags.flags (key) on update cascade on delete cascade,
    environment text not null references flags.environments (name) on delete cascade,
    enabled boolean not null default false,
    strategies jsonb not null default '[]' check (jsonb_typeof(strategies) = 'array'),
    updated_at timestamptz not null default now(),
    primary key (flag_key, environment)
);
comment on table flags.flag_environments is
'A flag in one environment: its kill switch (enabled) and its ordered Unleash strategies '
'[{name, parameters, constraints, segments, variants}]. A flag without a row here is off.';
create index flag_environments_environment_idx on flags.flag_environments (environment, flag_key);

create table flags.segments (
    id integer primary key check (id > 0),
    name text not null unique check (length(name) between 1 and 200),
    description text not null default '',
    constraints jsonb not null default '[]' check (jsonb_typeof(constraints) = 'array')
);
comment on table flags.segments is
'Named, reusable constraint sets; a strategy naming a segment requires all of its constraints.';

create table flags.entitlements (
    plan text not null check (plan ~ '^[a-z0-9_]{1,40}$'),
    flag_key text not null references flags.flags (key) on update cascade on delete cascade,
    value jsonb not null default 'true',
    primary key (plan, flag_key)
);
comment on table flags.entitlements is
'A brand on this plan gets this value of the flag (unless an override says otherwise).';
create index entitlements_flag_key_idx on flags.entitlements (flag_key);

create table flags.overrides (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    flag_key text not null references flags.flags (key) on update cascade on delete cascade,
    -- the nil uuid: the brand-wide override; any other: that user's, within the brand
    user_id uuid not null default '00000000-0000-0000-0000-000000000000',
    value jsonb not null,
    reason text not null check (length(reason) between 1 and 500),
    set_by uuid references auth.users (id) on delete set null,
    set_at timestamptz not null default now(),
    expires_at timestamptz,
    primary key (brand_id, flag_key, user_id),
    check (expires_at is null or expires_at > set_at)
);
comment on table flags.overrides is
'Per-brand (user_id = nil uuid) and per-user overrides of a flag''s value: who set it, when, '
'why, until when. They win over entitlements and targeting, not over the kill switch.';
comment on column flags.overrides.value is
'The value the flag takes for the brand or user (of the flag''s kind).';
comment on column flags.overrides.reason is 'Why it was set (required; shown in the audit trail).';
create index overrides_flag_key_idx on flags.overrides (flag_key);
create index overrides_set_by_idx on flags.overrides (set_by);

alter table flags.flags enable row level security;
alter table flags.flag_environments enable row level security;
alter table flags.segments enable row level security;
alter table flags.entitlements enable row level security;
alter table flags.overrides enable row level security;
alter table flags.settings enable row level security;
alter table flags.environments enable row level security;

-- flags.read and flags.manage are in the 0002 catalogue (viewer+ / admin+); say what manage
-- now covers.
update brand.permissions
set description = 'Set and clear the brand''s flag overrides (per brand and per user)'
where permission = 'flags.manage';

insert into webhooks.event_types (event_type, description) values
('flags.override.set', 'A flag override was set for the brand or one of its users'),
('flags.override.cleared', 'A flag override of the brand or one of its users was removed');

create type flags.evaluation as (
    key text,
    value jsonb,
    variant text,
    reason text,
    error_code text,
    enabled boolean,
    payload jsonb,
    detail text
);
comment on type flags.evaluation is
'One flag''s evaluation, shaped like OpenFeature''s: value, variant, reason (STATIC, DEFAULT, '
'TARGETING_MATCH, SPLIT, DISABLED, ERROR), error_code (FLAG_NOT_FOUND, TYPE_MISMATCH, '
'INVALID_CONTEXT, GENERAL), whether the flag is on, the variant''s Unleash payload, and what decided.';
