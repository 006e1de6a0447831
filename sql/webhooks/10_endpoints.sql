-- webhooks: endpoints and their signing secrets. URLs are checked on the way in (syntax,
-- https outside development mode, no literal address in a refused range); host names are
-- checked again where it matters, by brandbase worker at resolution time.

drop function if exists webhooks.refused(inet);

create or replace function webhooks.embedded_ipv4(address inet)
returns inet[]
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    -- The IPv4 addresses an IPv6 address carries: IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
    -- ::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4
    -- 2002:AABB:CCDD::, Teredo 2001:0:SSSS:SSSS:...:~CCCC:~CCCC (server and client).
    text_form text;
    halves text [];
    head text [];
    tail text [];
    g integer [];
    quad inet;
begin
    if address is null or family(address) <> 6 then
        return '{}'::inet [];
    end if;
    text_form := host(address);
    if text_form ~ '\d+\.\d+\.\d+\.\d+$' then
        quad := substring(text_form from '(\d+\.\d+\.\d+\.\d+)$')::inet;
        text_form := regexp_replace(text_form, '\d+\.\d+\.\d+\.\d+$', '')
            || to_hex((quad - '0.0.0.0'::inet) >> 16) || ':' || to_hex((quad - '0.0.0.0'::inet) & 65535);
    end if;
    halves := string_to_array(text_form, '::');
    head := coalesce(string_to_array(nullif(halves[1], ''), ':'), '{}');
    tail := case when cardinality(halves) > 1 then coalesce(string_to_array(nullif(halves[2], ''), ':'), '{}')
        else '{}' end;
    select array_agg(('x' || lpad(x, 8, '0'))::bit(32)::integer order by o) into g
    from unnest(head || array_fill('0'::text, array[8 - cardinality(head) - cardinality(tail)]) || tail)
        with ordinality as t (x, o);
    if g[1:5] = '{0,0,0,0,0}' and g[6] in (0, 65535) or g[1:6] = '{0,0,0,0,65535,0}'
        or g[1:6] = '{100,65435,0,0,0,0}' then
        -- mapped, compatible (:: and ::1 included: 0.0.0.0/8 is refused), translated, NAT64
        return array['0.0.0.0'::inet + (g[7]::bigint << 16 | g[8])];
    elsif g[1] = 8194 then  -- 2002::/16
        return array['0.0.0.0'::inet + (g[2]::bigint << 16 | g[3])];
    elsif g[1] = 8193 and g[2] = 0 then  -- 2001::/32
        return array['0.0.0.0'::inet + (g[3]::bigint << 16 | g[4]),
            '0.0.0.0'::inet + ((g[7] # 65535)::bigint << 16 | (g[8] # 65535))];
    end if;
    return '{}'::inet [];
end
$$;

comment on function webhooks.embedded_ipv4(inet) is
'The IPv4 addresses embedded in an IPv6 address (mapped, translated, compatible, NAT64, '
'6to4, Teredo server and client), checked like any other target.';

create or replace function webhooks.refused(address inet, allowed cidr[] default '{}')
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- The address, or an IPv4 address embedded in it, is in a refused network and not in an
    -- allowed one. (plpgsql, so that this file loads before the table's migration.)
    return exists (
        select from unnest(array[address] || webhooks.embedded_ipv4(address)) as c (a)
        where exists (select from webhooks.refused_networks as r where c.a <<= r.network)
            and not exists (select from unnest(allowed) as n (net) where c.a <<= n.net)
    );
end
$$;

comment on function webhooks.refused(inet, cidr[]) is
'Whether deliveries may not go to an address (webhooks.refused_networks, IPv4 embedded in '
'IPv6 included), unless allowed.';

create or replace function webhooks.parse_ipv4(host text)
returns inet
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    -- A host name as glibc's inet_aton reads it: 1 to 4 parts, each decimal, 0x hex or
    -- 0-led octal, the last filling the remaining bytes (127.1, 0x7f000001, 0177.0.0.1,
    -- 2130706433). null: not a numeric host. Raises 22023 for a numeric host that does not
    -- parse (08.1, 256.0.0.1), which the resolver would look up as a name.
    parts text [] := string_to_array(host, '.');
    n integer := cardinality(parts);
    v numeric [] := '{}'::numeric [];
    p text;
    total numeric := 0;
begin
    if host is null or n > 4
        or exists (select from unnest(parts) as q (x) where x !~ '^(0[xX][0-9a-fA-F]*|[0-9]+)$') then
        return null;
    end if;
    foreach p in array parts loop
        if length(p) > 12 or p ~ '^0[0-9]*[89]' then
            v := null;
            exit;
        elsif p ~* '^0x' then
            v := v || ('x' || lpad(coalesce(nullif(substr(p, 3), ''), '0'), 16, '0'))::bit(64)::bigint::numeric;
        elsif p ~ '^0' then
            v := v || (select coalesce(sum(substr(p, i, 1)::numeric * 8 ^ (length(p) - i)), 0)
                from generate_series(1, length(p)) as i);
        else
            v := v || p::numeric;
        end if;
    end loop;
    if v is null or (select bool_or(x > 255) from unnest(v[1:n - 1]) as x)
        or v[n] >= 2::numeric ^ (8 * (5 - n)) then
        raise exception 'invalid webhook URL host: %', left(host, 100)
            using errcode = '22023',
                  hint = 'A numeric host must be an IPv4 address, e.g. 203.0.113.7; '
                      'names need a letter in their last label.';
    end if;
    for i in 1..n - 1 loop
        total := total + v[i] * 2::numeric ^ (8 * (4 - i));
    end loop;
    return '0.0.0.0'::inet + (total + v[n])::bigint;
end
$$;

comment on function webhooks.parse_ipv4(text) is
'A numeric host read the way the resolver (glibc inet_aton) reads it; null for a name.';

create or replace function webhooks.assert_url(url text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    settings webhooks.settings := (select s from webhooks.settings as s);
    parts text [] := pg_catalog.regexp_match(
        url, '^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?([/?#][^\s]*)?$'
    );
    name text := lower(parts[2]);
    literal inet;
begin
    if parts is null or length(url) > 2048 or url ~ '[^\x21-\x7e]' then
        raise exception 'invalid webhook URL: %', left(url, 200)
            using errcode = '22023', hint = 'An absolute http(s) URL, e.g. https://example.com/hooks.';
    end if;
    if parts[4] is not null and substr(parts[4], 2)::integer not between 1 and 65535 then
        raise exception 'invalid webhook URL port: %', substr(parts[4], 2)
            using errcode = '22023', hint = 'A port from 1 to 65535, or none for the scheme''s default.';
    end if;
    if parts[1] = 'http' and not settings.development_mode then
        raise exception 'webhook URLs must use https: %', left(url, 200)
            using errcode = '22023',
                  hint = 'http:// is accepted only with webhooks.settings.development_mode on.';
    end if;
    if name ~ '^\[' then
        begin
            literal := trim(both '[]' from name)::inet;
        exception when invalid_text_representation then
            raise exception 'invalid webhook URL: %', left(url, 200)
                using errcode = '22023', hint = 'An IPv6 literal in brackets, e.g. https://[2001:db8::1]/hooks.';
        end;
    else
        literal := webhooks.parse_ipv4(name);
    end if;
    if literal is not null and webhooks.refused(literal, settings.allowed_networks)
        or literal is null and not settings.development_mode
        and (name in ('localhost', 'ip6-localhost', 'ip6-loopback') or name ~ '\.(localhost|local|internal)$') then
        raise exception 'webhook URL points to a refused address: %', coalesce(host(literal), name)
            using errcode = '22023',
                  hint = 'Private, loopback, link-local and metadata addresses (also inside IPv6 forms) '
                      'are refused; add the network to webhooks.settings.allowed_networks for local sinks.';
    end if;
    return url;
end
$$;

comment on function webhooks.assert_url(
    text
) is 'Returns the URL when deliveries may target it; raises 22023 otherwise.';

create or replace function webhooks.assert_headers(headers jsonb)
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    -- Names the worker sets itself, or that frame the request: never taken from an endpoint.
    reserved text [] := array[
        'host', 'content-length', 'transfer-encoding', 'connection', 'content-type', 'user-agent',
        'te', 'trailer', 'upgrade', 'keep-alive', 'proxy-connection', 'expect', 'content-encoding'
    ];
    bad record;
begin
    if headers is null then
        return '{}'::jsonb;
    end if;
    if jsonb_typeof(headers) <> 'object' then
        raise exception 'webhook headers must be a JSON object, got %', jsonb_typeof(headers)
            using errcode = '22023', hint = 'Give custom headers as {"X-Name": "value"}.';
    end if;
    if octet_length(headers::text) > 4096 or (select count(*) from jsonb_object_keys(headers)) > 20 then
        raise exception 'webhook headers too large: % bytes', octet_length(headers::text)
            using errcode = '22001', hint = 'At most 20 custom headers of 4 KB in all.';
    end if;
    select h.key, h.value into bad from jsonb_each(headers) as h
    where h.key !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]{1,64}$'
        or jsonb_typeof(h.value) <> 'string'
        or h.value #>> '{}' ~ '[^\x20-\x7e\t]'
        or lower(h.key) = any(reserved) or lower(h.key) like 'webhook-%'
    limit 1;
    if found then
        if bad.key !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]{1,64}$' then
            raise exception 'invalid webhook header name: %', left(to_jsonb(bad.key)::text, 80)
                using errcode = '22023', hint = 'Header names are HTTP tokens (RFC 9110) of 1 to 64 characters.';
        elsif jsonb_typeof(bad.value) <> 'string' or bad.value #>> '{}' ~ '[^\x20-\x7e\t]' then
            raise exception 'invalid value of webhook header %', bad.key
                using errcode = '22023',
                      hint = 'Values are strings of visible ASCII, spaces and tabs (no CR, LF or NUL).';
        end if;
        raise exception 'webhook header % is reserved', bad.key
            using errcode = '22023',
                  hint = 'Host, Content-Length, Transfer-Encoding, Connection, Content-Type, User-Agent '
                      'and webhook-* are set by the platform.';
    end if;
    return headers;
end
$$;

comment on function webhooks.assert_headers(jsonb) is
'Returns custom headers fit to send: token names, visible-ASCII values, 20 and 4 KB at most, '
'no reserved name (22023 / 22001 otherwise).';

create or replace function webhooks.assert_rate_limit(rate_limit integer)
returns integer
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if rate_limit not between 1 and 10000 then
        raise exception 'invalid webhook rate limit: %', rate_limit
            using errcode = '22023', hint = 'Deliveries per second, 1 to 10000 (null: no limit of your own).';
    end if;
    return rate_limit;
end
$$;

create or replace function webhooks.assert_description(description text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if length(description) > 1000 then
        raise exception 'webhook endpoint description of % characters is too long', length(description)
            using errcode = '22001', hint = 'At most 1000 characters.';
    end if;
    return coalesce(description, '');
end
$$;

create or replace function webhooks.max_endpoints(brand_id uuid)
returns integer
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return coalesce(
        (select l.max_endpoints from webhooks.plan_limits as l
            inner join brand.brands as b on l.plan = b.plan where b.id = max_endpoints.brand_id),
        (select min(l.max_endpoints) from webhooks.plan_limits as l),
        10
    );
end
$$;

comment on function webhooks.max_endpoints(uuid) is
'Endpoints the brand''s plan allows (webhooks.plan_limits; an unknown plan gets the smallest).';

create or replace function webhooks.assert_event_types(patterns text[])
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    unknown text;
begin
    if cardinality(patterns) > 64 then
        raise exception 'too many event types: %', cardinality(patterns)
            using errcode = '22001', hint = 'At most 64 patterns; wildcards (order.*, *) cover many.';
    end if;
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
declare
    cap integer := webhooks.max_endpoints(create_endpoint.brand_id);
    checked_url text := webhooks.assert_url(url);
    checked_types text [] := webhooks.assert_event_types(event_types);
    checked_headers jsonb := webhooks.assert_headers(headers);
    checked_rate integer := webhooks.assert_rate_limit(rate_limit);
    checked_description text := webhooks.assert_description(description);
begin
    if not exists (select from brand.brands as b where b.id = create_endpoint.brand_id) then
        raise exception 'brand not found' using errcode = 'PT404', hint = 'Check the brand id.';
    end if;
    -- One creator per brand at a time, so the count below cannot be raced past the cap.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('webhooks.endpoints:' || create_endpoint.brand_id, 0));
    if (select count(*) from webhooks.endpoints as e where e.brand_id = create_endpoint.brand_id) >= cap then
        raise exception 'the brand has its % webhook endpoints already', cap
            using errcode = 'PT429',
                  hint = 'Delete an endpoint first, or move to a plan with more (webhooks.plan_limits).';
    end if;
    insert into webhooks.endpoints (brand_id, url, event_types, description, headers, rate_limit, fifo)
    values (
        create_endpoint.brand_id, checked_url, checked_types, checked_description, checked_headers,
        checked_rate, coalesce(fifo, false)
    )
    returning endpoints.id into id;
    secret := webhooks.new_secret();
    insert into webhooks.secrets (brand_id, endpoint_id, secret)
    values (create_endpoint.brand_id, id, secret);
end
$$;

comment on function webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean) is
'Creates an endpoint (within the plan''s cap, PT429 past it); returns its id and its signing '
'secret, shown this once.';

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
declare
    checked_url text := case when url is not null then webhooks.assert_url(url) end;
    checked_types text [] := case when event_types is not null then webhooks.assert_event_types(event_types) end;
    checked_headers jsonb := case when headers is not null then webhooks.assert_headers(headers) end;
    checked_rate integer := webhooks.assert_rate_limit(rate_limit);
    checked_description text := case when description is not null then webhooks.assert_description(description) end;
begin
    update webhooks.endpoints as e
    set url = coalesce(checked_url, e.url),
        event_types = coalesce(checked_types, e.event_types),
        description = coalesce(checked_description, e.description),
        headers = coalesce(checked_headers, e.headers),
        rate_limit = coalesce(checked_rate, e.rate_limit),
        enabled = coalesce(update_endpoint.enabled, e.enabled),
        disabled_reason = case when update_endpoint.enabled then null else e.disabled_reason end,
        failing_since = case when update_endpoint.enabled then null else e.failing_since end,
        updated_at = now()
    where e.brand_id = update_endpoint.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id
            using errcode = 'PT404', hint = 'See api.webhook_endpoints for the brand''s endpoints.';
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
    if grace < interval '0' or grace > interval '30 days' then
        raise exception 'invalid rotation grace: %', grace
            using errcode = '22023',
                  hint = 'From 0 (the old secret stops at once) to 30 days; null: settings.rotation_grace.';
    end if;
    perform from webhooks.endpoints as e where e.brand_id = rotate_secret.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id
            using errcode = 'PT404', hint = 'See api.webhook_endpoints for the brand''s endpoints.';
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
'(0 to 30 days; settings.rotation_grace, 24 hours, by default).';

create or replace function webhooks.delete_endpoint(brand_id uuid, endpoint_id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from webhooks.endpoints as e where e.brand_id = delete_endpoint.brand_id and e.id = endpoint_id;
    if not found then
        raise exception 'webhook endpoint % not found', endpoint_id
            using errcode = 'PT404', hint = 'See api.webhook_endpoints for the brand''s endpoints.';
    end if;
    delete from webhooks.deliveries as d
    where d.brand_id = delete_endpoint.brand_id and d.endpoint_id = delete_endpoint.endpoint_id;
end
$$;

comment on function webhooks.delete_endpoint(
    uuid, uuid
) is 'Deletes an endpoint with its secrets and deliveries.';

revoke all on function webhooks.embedded_ipv4(inet),
webhooks.refused(inet, cidr[]),
webhooks.parse_ipv4(text),
webhooks.assert_url(text), webhooks.assert_headers(jsonb), webhooks.assert_rate_limit(integer),
webhooks.assert_description(text), webhooks.max_endpoints(uuid), webhooks.assert_event_types(text[]),
webhooks.new_secret(), webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.update_endpoint(uuid, uuid, text, text[], text, jsonb, integer, boolean),
webhooks.rotate_secret(uuid, uuid, interval), webhooks.delete_endpoint(uuid, uuid) from public;
grant execute on function webhooks.create_endpoint(uuid, text, text[], text, jsonb, integer, boolean),
webhooks.update_endpoint(uuid, uuid, text, text[], text, jsonb, integer, boolean),
webhooks.rotate_secret(uuid, uuid, interval), webhooks.delete_endpoint(uuid, uuid) to service_role;
