-- brandbase 0022 (webhooks): caps and limits that keep webhooks from being an open relay.
-- Endpoints per brand by plan, a platform-wide ceiling per target host, a limit on replays
-- (redeliver, recover, re-enable) per brand, a cap on Retry-After, the list of refused
-- networks as a table (the worker's guard mirrors it, a test compares both), the target
-- host of every endpoint (the ceiling's key) and when an endpoint was disabled.

create table webhooks.plan_limits (
    plan text primary key check (plan ~ '^[a-z0-9_]{1,40}$'),
    max_endpoints integer not null check (max_endpoints >= 0)
);
comment on table webhooks.plan_limits is
'Endpoints a brand may have, by brand.brands.plan. A plan not listed gets the smallest '
'limit listed (10 when the table is empty).';
insert into webhooks.plan_limits (plan, max_endpoints) values ('free', 10), ('pro', 50), ('enterprise', 200);

alter table webhooks.settings
add column host_rate_limit integer default 1000 check (host_rate_limit between 1 and 100000),
add column replay_rate integer not null default 60 check (replay_rate between 1 and 100000),
add column max_retry_after interval not null default '24 hours' check (max_retry_after >= interval '0'),
add column recover_window interval not null default '7 days' check (recover_window > interval '0'),
add column reenable_after interval not null default '1 hour' check (reenable_after >= interval '0');
comment on column webhooks.settings.host_rate_limit is
'Deliveries per second to one target host, across all brands (null: no ceiling).';
comment on column webhooks.settings.replay_rate is
'Redeliveries, recoveries and re-enablings per brand per hour through api.';
comment on column webhooks.settings.max_retry_after is 'The longest Retry-After a receiver may ask for.';
comment on column webhooks.settings.recover_window is
'How far back api.recover_webhooks reaches (an earlier or null since is clamped to it).';
comment on column webhooks.settings.reenable_after is
'How long after a 410 Gone the app may re-enable the endpoint without changing its URL.';

create table webhooks.refused_networks (
    network cidr primary key,
    what text not null
);
comment on table webhooks.refused_networks is
'Networks deliveries never go to unless in settings.allowed_networks. IPv4 addresses '
'embedded in IPv6 (mapped, compatible, translated, NAT64, 6to4, Teredo) are checked too. '
'brandbase.http1.REFUSED_NETWORKS mirrors this list (tests compare them).';
insert into webhooks.refused_networks (network, what) values
('0.0.0.0/8', 'this network'),
('10.0.0.0/8', 'private'),
('100.64.0.0/10', 'carrier-grade NAT'),
('127.0.0.0/8', 'loopback'),
('169.254.0.0/16', 'link-local, cloud metadata'),
('172.16.0.0/12', 'private'),
('192.0.0.0/24', 'IETF protocol assignments'),
('192.0.2.0/24', 'documentation'),
('192.88.99.0/24', '6to4 relay anycast'),
('192.168.0.0/16', 'private'),
('198.18.0.0/15', 'benchmarking'),
('198.51.100.0/24', 'documentation'),
('203.0.113.0/24', 'documentation'),
('224.0.0.0/3', 'multicast, reserved, broadcast'),
('::/127', 'unspecified, loopback'),
('64:ff9b:1::/48', 'local-use IPv4/IPv6 translation'),
('100::/64', 'discard-only'),
('2001::/32', 'Teredo'),
('2001:2::/48', 'benchmarking'),
('2001:db8::/32', 'documentation'),
('2001:10::/28', 'ORCHID'),
('2001:20::/28', 'ORCHIDv2'),
('fc00::/7', 'unique local'),
('fe80::/10', 'link-local'),
('fec0::/10', 'site-local (deprecated)'),
('ff00::/8', 'multicast');

alter table webhooks.endpoints
add column host text generated always as (
    lower(substring(url from '^[a-zA-Z]+://(\[[^]]*\]|[^/:?#]*)'))
) stored,
add column disabled_at timestamptz;
comment on column webhooks.endpoints.host is
'The URL''s host, lower-case: the key of settings.host_rate_limit.';
comment on column webhooks.endpoints.disabled_at is 'When the endpoint was last disabled by the platform.';
update webhooks.endpoints set disabled_at = updated_at
where not enabled;
