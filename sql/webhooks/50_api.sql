-- webhooks: the app's surface. Members with webhooks.read see endpoints (secrets masked),
-- deliveries and attempts; webhooks.manage creates, changes, rotates and deletes
-- endpoints; webhooks.replay redelivers. Secrets are shown once, when made.

select brand.isolate('webhooks.endpoints', 'webhooks.read');
select brand.isolate('webhooks.deliveries', 'webhooks.read');
select brand.isolate('webhooks.attempts', 'webhooks.read');
select brand.isolate('webhooks.events', 'webhooks.read');
revoke all on webhooks.endpoints, webhooks.deliveries, webhooks.attempts, webhooks.events,
webhooks.secrets, webhooks.settings, webhooks.event_types from public, anon, authenticated;
grant select on webhooks.endpoints, webhooks.deliveries, webhooks.attempts, webhooks.events,
webhooks.event_types to authenticated;
grant select on webhooks.endpoints, webhooks.deliveries, webhooks.attempts, webhooks.events,
webhooks.event_types, webhooks.settings to service_role;

create or replace function webhooks.secret_hint(brand_id uuid, endpoint_id uuid)
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- Enough to tell secrets apart, far too little to sign with.
    select left(s.secret, 10) || '…' from webhooks.secrets as s
    where s.brand_id = secret_hint.brand_id and s.endpoint_id = secret_hint.endpoint_id
        and s.expires_at is null and brand.has_permission(secret_hint.brand_id, 'webhooks.read')
    order by s.created_at desc
    limit 1
$$;

revoke all on function webhooks.secret_hint(uuid, uuid) from public;
grant execute on function webhooks.secret_hint(uuid, uuid) to authenticated, service_role;

create or replace view api.webhook_endpoints
with (security_invoker = true) as
select
    e.brand_id,
    e.id,
    e.url,
    e.event_types,
    e.description,
    e.enabled,
    e.disabled_reason,
    e.rate_limit,
    e.fifo,
    e.failing_since,
    e.created_at,
    e.updated_at,
    webhooks.secret_hint(e.brand_id, e.id) as key_hint
from webhooks.endpoints as e;

comment on view api.webhook_endpoints is
'The brand''s endpoints (webhooks.read); the signing secret only as a 10-character key_hint.';

create or replace view api.webhook_deliveries
with (security_invoker = true) as
select
    d.brand_id,
    d.id,
    d.endpoint_id,
    'msg_' || replace(d.event_id::text, '-', '') as message_id,
    ev.event_type,
    d.status,
    d.attempts,
    d.next_attempt_at,
    d.last_status_code,
    d.last_error,
    d.created_at,
    d.completed_at
from webhooks.deliveries as d
inner join webhooks.events as ev
    on d.brand_id = ev.brand_id and d.event_created_at = ev.created_at and d.event_id = ev.id;

comment on view api.webhook_deliveries is 'The brand''s deliveries with their state (webhooks.read).';

create or replace view api.webhook_attempts
with (security_invoker = true) as
select
    a.brand_id,
    a.delivery_id,
    a.attempt,
    a.attempted_at,
    a.status_code,
    a.latency_ms,
    a.response_excerpt,
    a.error
from webhooks.attempts as a;

comment on view api.webhook_attempts is 'Every delivery attempt of the brand (webhooks.read).';

create or replace view api.webhook_event_types
with (security_invoker = true) as
select
    t.event_type,
    t.description
from webhooks.event_types as t;

comment on view api.webhook_event_types is 'The event catalogue endpoints can subscribe to.';

revoke all on api.webhook_endpoints, api.webhook_deliveries, api.webhook_attempts,
api.webhook_event_types from public, anon;
grant select on api.webhook_endpoints, api.webhook_deliveries, api.webhook_attempts,
api.webhook_event_types to authenticated, service_role;

create or replace function webhooks.brand_of_endpoint(endpoint_id uuid)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := (select e.brand_id from webhooks.endpoints as e where e.id = endpoint_id);
begin
    if owner_brand is null then
        raise exception 'webhook endpoint % not found', endpoint_id using errcode = 'P0002';
    end if;
    return owner_brand;
end
$$;

create or replace function api.create_webhook_endpoint(
    brand_id uuid, url text, event_types text[], description text default '',
    headers jsonb default '{}', rate_limit integer default null, fifo boolean default false,
    out id uuid, out secret text
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'webhooks.manage');
    select e.id, e.secret into id, secret
    from webhooks.create_endpoint(brand_id, url, event_types, description, headers, rate_limit, fifo) as e;
end
$$;

comment on function api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean) is
'Creates an endpoint (webhooks.manage); the secret in the answer is never shown again.';

create or replace function api.update_webhook_endpoint(
    endpoint_id uuid, url text default null, event_types text[] default null,
    description text default null, headers jsonb default null, rate_limit integer default null,
    enabled boolean default null
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := webhooks.brand_of_endpoint(endpoint_id);
begin
    perform brand.require_permission(owner_brand, 'webhooks.manage');
    perform webhooks.update_endpoint(owner_brand, endpoint_id, url, event_types, description, headers,
        rate_limit, enabled);
end
$$;

create or replace function api.rotate_webhook_secret(endpoint_id uuid, grace interval default null)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := webhooks.brand_of_endpoint(endpoint_id);
begin
    perform brand.require_permission(owner_brand, 'webhooks.manage');
    return webhooks.rotate_secret(owner_brand, endpoint_id, grace);
end
$$;

create or replace function api.delete_webhook_endpoint(endpoint_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := webhooks.brand_of_endpoint(endpoint_id);
begin
    perform brand.require_permission(owner_brand, 'webhooks.manage');
    perform webhooks.delete_endpoint(owner_brand, endpoint_id);
end
$$;

create or replace function api.redeliver_webhook(brand_id uuid, delivery_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'webhooks.replay');
    perform webhooks.redeliver(brand_id, delivery_id);
end
$$;

create or replace function api.recover_webhooks(endpoint_id uuid, since timestamptz)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := webhooks.brand_of_endpoint(endpoint_id);
begin
    perform brand.require_permission(owner_brand, 'webhooks.replay');
    return webhooks.recover(owner_brand, endpoint_id, since);
end
$$;

create or replace function api.emit_webhook(brand_id uuid, event_type text, payload jsonb)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'webhooks.manage');
    return webhooks.emit(brand_id, event_type, payload);
end
$$;

comment on function api.emit_webhook(uuid, text, jsonb) is
'Emits an event from the app (webhooks.manage); backends call webhooks.emit directly.';

revoke all on function webhooks.brand_of_endpoint(uuid),
api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.update_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.rotate_webhook_secret(uuid, interval), api.delete_webhook_endpoint(uuid),
api.redeliver_webhook(uuid, bigint), api.recover_webhooks(uuid, timestamptz),
api.emit_webhook(uuid, text, jsonb) from public;
grant execute on function
api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.update_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.rotate_webhook_secret(uuid, interval), api.delete_webhook_endpoint(uuid),
api.redeliver_webhook(uuid, bigint), api.recover_webhooks(uuid, timestamptz),
api.emit_webhook(uuid, text, jsonb) to authenticated, service_role;
