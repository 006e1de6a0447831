-- brandbase 0013 (webhooks): endpoints per brand with Standard Webhooks secrets, an event
-- outbox written in the app's own transaction, deliveries fanned out from it in one
-- statement, and every attempt's outcome.

create schema webhooks;
comment on schema webhooks is
'Outbound webhooks: endpoints, signing secrets, event outbox, deliveries with retries.';
grant usage on schema webhooks to authenticated, service_role;

create table webhooks.settings (
    singleton boolean primary key default true check (singleton),
    development_mode boolean not null default false,
    allowed_networks cidr[] not null default '{}',
    max_payload_bytes integer not null default 262144 check (max_payload_bytes > 0),
    timeout_ms integer not null default 15000 check (timeout_ms between 100 and 300000),
    lease interval not null default '1 minute',
    retry_schedule interval[] not null
    default '{5 seconds,5 minutes,30 minutes,2 hours,5 hours,10 hours,10 hours}',
    disable_after interval not null default '5 days',
    rotation_grace interval not null default '24 hours',
    keep_for interval not null default '30 days' check (keep_for > interval '0'),
    check (lease > timeout_ms * interval '1 millisecond')
);
comment on table webhooks.settings is
'One row. development_mode allows http:// URLs; allowed_networks lets deliveries reach these '
'otherwise refused networks (loopback sinks in tests and local development). retry_schedule: '
'the wait after each failed attempt (its length + 1 is the number of attempts). lease: how '
'long a worker holds a delivery (longer than the timeout) before another may send it.';
insert into webhooks.settings default values;

create table webhooks.event_types (
    event_type text primary key check (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    description text not null,
    source_table text
);
comment on table webhooks.event_types is
'What endpoints can subscribe to. Emitting an unlisted type is refused.';
insert into webhooks.event_types (event_type, description) values
('webhooks.endpoint.disabled', 'An endpoint was disabled: it answered 410 or failed for too long');

create table webhooks.endpoints (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id uuid not null default gen_random_uuid(),
    url text not null,
    event_types text[] not null check (cardinality(event_types) > 0),
    description text not null default '',
    enabled boolean not null default true,
    disabled_reason text,
    rate_limit integer check (rate_limit > 0),
    headers jsonb not null default '{}' check (jsonb_typeof(headers) = 'object'),
    fifo boolean not null default false,
    failing_since timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (brand_id, id),
    unique (id)
);
comment on table webhooks.endpoints is
'Where a brand''s events go. event_types: exact types or wildcards (order.*, *). rate_limit: '
'deliveries per second at most. fifo: one delivery at a time, in order.';

create table webhooks.secrets (
    brand_id uuid not null,
    endpoint_id uuid not null,
    created_at timestamptz not null default clock_timestamp(),
    secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/=]+$'),
    expires_at timestamptz,
    primary key (brand_id, endpoint_id, created_at),
    foreign key (brand_id, endpoint_id) references webhooks.endpoints (brand_id, id) on delete cascade
);
comment on table webhooks.secrets is
'Signing secrets (whsec_ + base64). The current one has no expiry; after a rotation the old '
'one keeps signing until expires_at. Never readable by API roles.';

create table webhooks.events (
    brand_id uuid not null,
    created_at timestamptz not null,
    id uuid not null default gen_random_uuid(),
    event_type text not null,
    payload jsonb not null,
    primary key (brand_id, created_at, id)
) partition by range (created_at);
comment on table webhooks.events is
'The outbox: one row per event, written in the emitting transaction. Its id is the '
'webhook-id (msg_<id>) every delivery of it carries.';
create table webhooks.events_default partition of webhooks.events default;

create table webhooks.deliveries (
    brand_id uuid not null,
    id bigint generated always as identity,
    endpoint_id uuid not null,
    event_id uuid not null,
    event_created_at timestamptz not null,
    status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    locked_by text,
    locked_until timestamptz,
    last_status_code integer,
    last_error text,
    created_at timestamptz not null default now(),
    completed_at timestamptz,
    primary key (brand_id, id)
) with (autovacuum_vacuum_scale_factor = 0.02);
comment on table webhooks.deliveries is
'One row per event and endpoint (the seed''s webhook_deliveries). pending until it succeeds '
'or runs out of attempts (failed); every attempt is in webhooks.attempts.';
create index deliveries_due_idx on webhooks.deliveries (next_attempt_at)
where status = 'pending' and locked_until is null;
create index deliveries_leases_idx on webhooks.deliveries (locked_until) where locked_until is not null;
-- FIFO endpoints look up their oldest pending delivery; only pending rows need the entry
-- (one index fewer to fill at fan-out for everything that is delivered).
create index deliveries_pending_endpoint_idx on webhooks.deliveries (brand_id, endpoint_id, id)
where status = 'pending';
create index deliveries_completed_idx on webhooks.deliveries (completed_at) where status <> 'pending';

create table webhooks.attempts (
    brand_id uuid not null,
    attempted_at timestamptz not null,
    delivery_id bigint not null,
    attempt integer not null,
    status_code integer,
    latency_ms numeric(10, 1),
    response_excerpt text,
    error text,
    primary key (brand_id, attempted_at, delivery_id, attempt)
) partition by range (attempted_at);
comment on table webhooks.attempts is
'Every delivery attempt: response code, latency, the first 1 KB of the body, the error.';
create table webhooks.attempts_default partition of webhooks.attempts default;
create index attempts_delivery_idx on webhooks.attempts (brand_id, delivery_id);

alter table webhooks.endpoints enable row level security;
alter table webhooks.secrets enable row level security;
alter table webhooks.events enable row level security;
alter table webhooks.deliveries enable row level security;
alter table webhooks.attempts enable row level security;
