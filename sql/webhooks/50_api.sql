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
-- The tables of 0022, once there (this file also loads against an older schema).
do $$
begin
    if to_regclass('webhooks.plan_limits') is not null then
        revoke all on webhooks.plan_limits, webhooks.refused_networks from public, anon, authenticated;
        grant select on webhooks.plan_limits, webhooks.refused_networks to service_role;
    end if;
end
$$;

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

-- The app's functions: each api function is a SECURITY INVOKER wrapper of a definer here
-- with exactly its arguments (Splinter's rule; nothing privileged is passed through).

drop function if exists webhooks.brand_of_endpoint(uuid);

create or replace function webhooks.endpoint_brand(endpoint_id uuid, permission text)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := (select e.brand_id from webhooks.endpoints as e where e.id = endpoint_id);
begin
    -- A missing endpoint and another brand's look the same: PT404, no brand id. A member
    -- lacking the permission gets 42501, as everywhere.
    if owner_brand is null or not brand.has_permission(owner_brand, permission) and not exists (
        select from brand.members as m where m.brand_id = owner_brand and m.user_id = brand.caller_id()
    ) then
        raise exception 'webhook endpoint % not found', endpoint_id
            using errcode = 'PT404', hint = 'See api.webhook_endpoints for the brand''s endpoints.';
    end if;
    perform brand.require_permission(owner_brand, permission);
    return owner_brand;
end
$$;

comment on function webhooks.endpoint_brand(uuid, text) is
'The brand of an endpoint the caller may act on with permission; PT404 when missing or '
'another brand''s, 42501 for a member without the permission.';

create or replace function webhooks.spend_replay(brand_id uuid)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    per_hour integer := (select s.replay_rate from webhooks.settings as s);
    verdict record;
begin
    select * into verdict from ratelimit.check('webhook-replay:' || brand_id, per_hour, '1 hour', per_hour - 1);
    if not verdict.allowed then
        raise exception 'too many webhook replays for this brand (% per hour)', per_hour
            using errcode = 'PT429',
                  hint = format('Try again in %s seconds; recover_webhooks resends many at once.',
                      ceil(verdict.retry_after));
    end if;
end
$$;

comment on function webhooks.spend_replay(uuid) is
'Spends one of the brand''s replays (redeliver, recover, re-enable; settings.replay_rate per '
'hour); PT429 when none is left.';

create or replace function webhooks.app_create_endpoint(
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

create or replace function webhooks.app_update_endpoint(
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
    owner_brand uuid := webhooks.endpoint_brand(endpoint_id, 'webhooks.manage');
    current webhooks.endpoints := (
        select e from webhooks.endpoints as e where e.brand_id = owner_brand and e.id = endpoint_id
    );
begin
    if enabled and not current.enabled then
        -- A receiver that answered 410 Gone asked to hear no more: the app may turn it back on
        -- with a new URL, or at the same URL once settings.reenable_after has passed. Every
        -- re-enabling spends a replay (it resends what comes next).
        if current.disabled_reason = 'the endpoint answered 410 Gone' and url is null
            and current.disabled_at > now() - (select s.reenable_after from webhooks.settings as s) then
            raise exception 'webhook endpoint % answered 410 Gone at %', endpoint_id, current.disabled_at
                using errcode = 'PT409',
                      hint = 'Give a new URL, or re-enable after webhooks.settings.reenable_after (1 hour).';
        end if;
        perform webhooks.spend_replay(owner_brand);
    end if;
    perform webhooks.update_endpoint(owner_brand, endpoint_id, url, event_types, description, headers,
        rate_limit, enabled);
end
$$;

create or replace function webhooks.app_rotate_secret(endpoint_id uuid, grace interval default null)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    return webhooks.rotate_secret(webhooks.endpoint_brand(endpoint_id, 'webhooks.manage'), endpoint_id, grace);
end
$$;

create or replace function webhooks.app_delete_endpoint(endpoint_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform webhooks.delete_endpoint(webhooks.endpoint_brand(endpoint_id, 'webhooks.manage'), endpoint_id);
end
$$;

create or replace function webhooks.app_redeliver(brand_id uuid, delivery_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'webhooks.replay');
    perform webhooks.redeliver(brand_id, delivery_id);
    perform webhooks.spend_replay(brand_id);
end
$$;

create or replace function webhooks.app_recover(endpoint_id uuid, since timestamptz)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    owner_brand uuid := webhooks.endpoint_brand(endpoint_id, 'webhooks.replay');
begin
    perform webhooks.spend_replay(owner_brand);
    return webhooks.recover(owner_brand, endpoint_id, since);
end
$$;

create or replace function webhooks.app_emit(brand_id uuid, event_type text, payload jsonb)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'webhooks.manage');
    -- The platform's own events and table capture's are the platform's to send: a receiver
    -- must be able to trust them.
    if event_type like 'webhooks.%' or exists (
        select from webhooks.event_types as t where t.event_type = app_emit.event_type and t.source_table is not null
    ) then
        raise exception 'event type % is emitted by the platform only', event_type
            using errcode = '42501',
                  hint = 'Register an event type of your own (webhooks.event_types) for the app to emit.';
    end if;
    return webhooks.emit(brand_id, event_type, payload);
end
$$;

create or replace function api.create_webhook_endpoint(
    brand_id uuid, url text, event_types text[], description text default '',
    headers jsonb default '{}', rate_limit integer default null, fifo boolean default false,
    out id uuid, out secret text
)
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select e.id, e.secret
    from webhooks.app_create_endpoint(brand_id, url, event_types, description, headers, rate_limit, fifo) as e
$$;

comment on function api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean) is
'Creates an endpoint (webhooks.manage; the plan caps how many); the secret in the answer is '
'never shown again.';

create or replace function api.update_webhook_endpoint(
    endpoint_id uuid, url text default null, event_types text[] default null,
    description text default null, headers jsonb default null, rate_limit integer default null,
    enabled boolean default null
)
returns void
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_update_endpoint(endpoint_id, url, event_types, description, headers, rate_limit, enabled)
$$;

comment on function api.update_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean) is
'Changes the given fields of an endpoint (webhooks.manage); enabled => true re-enables it (a '
'replay; after a 410 only with a new URL or once settings.reenable_after has passed).';

create or replace function api.rotate_webhook_secret(endpoint_id uuid, grace interval default null)
returns text
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_rotate_secret(endpoint_id, grace)
$$;

create or replace function api.delete_webhook_endpoint(endpoint_id uuid)
returns void
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_delete_endpoint(endpoint_id)
$$;

create or replace function api.redeliver_webhook(brand_id uuid, delivery_id bigint)
returns void
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_redeliver(brand_id, delivery_id)
$$;

comment on function api.redeliver_webhook(uuid, bigint) is
'Sends one delivery again now (webhooks.replay; settings.replay_rate per brand per hour).';

create or replace function api.recover_webhooks(endpoint_id uuid, since timestamptz)
returns integer
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_recover(endpoint_id, since)
$$;

comment on function api.recover_webhooks(uuid, timestamptz) is
'Resends the endpoint''s failed deliveries since a time, at most settings.recover_window back '
'(webhooks.replay; one replay).';

create or replace function api.emit_webhook(brand_id uuid, event_type text, payload jsonb)
returns uuid
language sql
security invoker
set search_path = pg_catalog, pg_temp
as $$
    select webhooks.app_emit(brand_id, event_type, payload)
$$;

comment on function api.emit_webhook(uuid, text, jsonb) is
'Emits an event from the app (webhooks.manage; not the platform''s own types); backends call '
'webhooks.emit directly.';

revoke all on function webhooks.endpoint_brand(uuid, text), webhooks.spend_replay(uuid),
webhooks.app_create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.app_update_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.app_rotate_secret(uuid, interval), webhooks.app_delete_endpoint(uuid),
webhooks.app_redeliver(uuid, bigint), webhooks.app_recover(uuid, timestamptz),
webhooks.app_emit(uuid, text, jsonb),
api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.update_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.rotate_webhook_secret(uuid, interval), api.delete_webhook_endpoint(uuid),
api.redeliver_webhook(uuid, bigint), api.recover_webhooks(uuid, timestamptz),
api.emit_webhook(uuid, text, jsonb) from public;
grant execute on function
webhooks.app_create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.app_update_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.app_rotate_secret(uuid, interval), webhooks.app_delete_endpoint(uuid),
webhooks.app_redeliver(uuid, bigint), webhooks.app_recover(uuid, timestamptz),
webhooks.app_emit(uuid, text, jsonb),
api.create_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.update_webhook_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
api.rotate_webhook_secret(uuid, interval), api.delete_webhook_endpoint(uuid),
api.redeliver_webhook(uuid, bigint), api.recover_webhooks(uuid, timestamptz),
api.emit_webhook(uuid, text, jsonb) to authenticated, service_role;
