-- webhooks: endpoints and their signing secrets. URLs are checked on the way in (syntax,
-- https outside development mode, no literal address in a refused range); host names are
-- checked again where it matters, by brandbase worker at resolution time.

create or replace function webhooks.refused(address inet)
returns boolean
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- Loopback, private, link-local (cloud metadata), CGNAT, documentation, benchmarking,
    -- multicast, reserved, unspecified, and IPv4-mapped forms of them.
    select exists (
        select from unnest(array[
            '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16',
            '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15',
            '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/3', '::/127', '::ffff:0:0/96',
            '64:ff9b::/96', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8'
        ]::cidr []) as r (net)
        where address <<= r.net
    )
$$;

comment on function webhooks.refused(inet) is
'Whether an address is in a range deliveries never go to (unless allowed in settings).';

create or replace function webhooks.assert_url(url text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    settings webhooks.settings := (select s from webhooks.settings as s);
    parts text[] := pg_catalog.regexp_match(
        url, '^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?([/?#][^\s]*)?$'
    );
    literal inet;
begin
    if parts is null or length(url) > 2048 then
        raise exception 'invalid webhook URL: %', left(url, 200)
            using errcode = '22023', hint = 'An absolute http(s) URL, e.g. https://example.com/hooks.';
    end if;
    if parts[1] = 'http' and not settings.development_mode then
        raise exception 'webhook URLs must use https: %', left(url, 200)
            using errcode = '22023',
                  hint = 'http:// is accepted only with webhooks.settings.development_mode on.';
    end if;
    if parts[2] ~ '^\[' or parts[2] ~ '^[0-9.]+$' then
        literal := nullif(trim(both '[]' from parts[2]), '')::inet;
        if webhooks.refused(literal)
            and not exists (select from unnest(settings.allowed_networks) as n where literal <<= n) then
            raise exception 'webhook URL points to a refused address: %', literal
                using errcode = '22023',
                      hint = 'Private, loopback, link-local and metadata addresses are refused; '
                          'add the network to webhooks.settings.allowed_networks for local sinks.';
        end if;
    end if;
    return url;
end
$$;

comment on function webhooks.assert_url(
    text
) is 'Returns the URL when deliveries may target it; raises 22023 otherwise.';

create or replace function webhooks.assert_event_types(patterns text[])
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    unknown text;
begin
    select p into unknown from unnest(patterns) as p
    where p <> '*' and not exists (
        select from webhooks.event_types as t
        where t.event_type = p or (p like '%.*' and starts_with(t.event_type, left(p, -1)))
    )
    limit 1;
    if unknown is not null or cardinality(patterns) is distinct from cardinality(array_remove(patterns, null))
        or coalesce(cardinality(patterns), 0) = 0 then
        raise exception 'unknown event type: %', coalesce(unknown, 'none given')
            using errcode = '22023', hint = 'See webhooks.event_types; wildcards: order.*, *.';
    end if;
    return patterns;
end
$$;

create or replace function webhooks.new_secret()
returns text
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select 'whsec_' || encode(extensions.gen_random_bytes(24), 'base64')
$$;

comment on function webhooks.new_secret() is
'A Standard Webhooks secret: whsec_ + base64 of 24 random bytes.';

create or replace function webhooks.create_endpoint(
    brand_id uuid,
    url text,
    event_types text[],
    description text default '',
    headers jsonb default '{}',
    rate_limit integer default null,
    fifo boolean default false,
    out id uuid,
    out secret text
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    insert into webhooks.endpoints (brand_id, url, event_types, description, headers, rate_limit, fifo)
    values (
        create_endpoint.brand_id, webhooks.assert_url(url), webhooks.assert_event_types(event_types),
        coalesce(description, ''), coalesce(headers, '{}'), rate_limit, coalesce(fifo, false)
    )
    returning endpoints.id into id;
    secret := webhooks.new_secret();
    insert into webhooks.secrets (brand_id, endpoint_id, secret)
    values (create_endpoint.brand_id, id, secret);
end
$$;

comment on function webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean) is
'Creates an endpoint; returns its id and its signing secret, shown this once.';

create or replace function webhooks.update_endpoint(
    brand_id uuid,
    endpoint_id uuid,
    url text default null,
    event_types text[] default null,
    description text default null,
    headers jsonb default null,
    rate_limit integer default null,
    enabled boolean default null
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update webhooks.endpoints as e
    set url = case when update_endpoint.url is null then e.url else webhooks.assert_url(update_endpoint.url) end,
        event_types = case
            when update_endpoint.event_types is null then e.event_types
            else webhooks.assert_event_types(update_endpoint.event_types)
        end,
        description = coalesce(update_endpoint.description, e.description),
        headers = coalesce(update_endpoint.headers, e.headers),
        rate_limit = coalesce(update_endpoint.rate_limit, e.rate_limit),
        enabled = coalesce(update_endpoint.enabled, e.enabled),
        disabled_reason = case when update_endpoint.enabled then null else e.disabled_reason end,
        failing_since = case when update_endpoint.enabled then null else e.failing_since end,
        updated_at = now()
    where e.brand_id = update_endpoint.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id using errcode = 'P0002';
    end if;
end
$$;

comment on function webhooks.update_endpoint(uuid, uuid, text, text[], text, jsonb, integer, boolean) is
'Changes the given fields of an endpoint (null: unchanged); enabled => true re-enables it.';

create or replace function webhooks.rotate_secret(
    brand_id uuid, endpoint_id uuid, grace interval default null
)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    fresh text := webhooks.new_secret();
begin
    perform from webhooks.endpoints as e where e.brand_id = rotate_secret.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id using errcode = 'P0002';
    end if;
    update webhooks.secrets as s
    set expires_at = least(
        coalesce(s.expires_at, 'infinity'),
        now() + coalesce(grace, (select t.rotation_grace from webhooks.settings as t))
    )
    where s.brand_id = rotate_secret.brand_id and s.endpoint_id = rotate_secret.endpoint_id;
    insert into webhooks.secrets (brand_id, endpoint_id, secret) values (brand_id, endpoint_id, fresh);
    return fresh;
end
$$;

comment on function webhooks.rotate_secret(uuid, uuid, interval) is
'A new signing secret (returned once); the old one keeps signing beside it for the grace period '
'(settings.rotation_grace, 24 hours by default).';

create or replace function webhooks.delete_endpoint(brand_id uuid, endpoint_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from webhooks.endpoints as e where e.brand_id = delete_endpoint.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id using errcode = 'P0002';
    end if;
    delete from webhooks.deliveries as d
    where d.brand_id = delete_endpoint.brand_id and d.endpoint_id = delete_endpoint.endpoint_id;
end
$$;

comment on function webhooks.delete_endpoint(
    uuid, uuid
) is 'Deletes an endpoint with its secrets and deliveries.';

revoke all on function webhooks.refused(inet), webhooks.assert_url(text), webhooks.assert_event_types(text[]),
webhooks.new_secret(), webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.update_endpoint(uuid, uuid, text, text[], text, jsonb, integer, boolean),
webhooks.rotate_secret(uuid, uuid, interval), webhooks.delete_endpoint(uuid, uuid) from public;
grant execute on function webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.update_endpoint(uuid, uuid, text, text[], text, jsonb, integer, boolean),
webhooks.rotate_secret(uuid, uuid, interval), webhooks.delete_endpoint(uuid, uuid) to service_role;
