-- brandbase 0009 (access): IP allow/deny rules (cidr, IPv4 and IPv6) and geo rules by
-- country, globally (the nil brand) and per brand; trusted proxies; a country table for
-- GeoLite2-style IP-to-country data.

create schema access;
comment on schema access is 'Access rules: IP allow/deny lists, geo rules, trusted proxies.';
grant usage on schema access to authenticated, service_role;

create table access.countries (
    code char(2) primary key check (code ~ '^[A-Z]{2}$')
);
comment on table access.countries is 'ISO 3166-1 alpha-2 country codes: what geo rules may name.';

create table access.ip_rules (
    brand_id uuid not null,
    id bigint generated always as identity,
    network cidr not null,
    action text not null check (action in ('allow', 'deny')),
    note text,
    created_at timestamptz not null default now(),
    primary key (brand_id, id)
);
comment on table access.ip_rules is
'IP rules: deny wins; when allow rules exist for a scope, only matching addresses pass. '
'brand_id is the nil uuid for global rules.';
create index ip_rules_network_idx on access.ip_rules using gist (network inet_ops);
-- "Is this scope an allowlist?" must not scan a scope's many deny rules.
create index ip_rules_allow_idx on access.ip_rules (brand_id) where action = 'allow';

create table access.geo_rules (
    brand_id uuid not null,
    country char(2) not null references access.countries (code),
    action text not null check (action in ('allow', 'deny')),
    primary key (brand_id, country)
);
comment on table access.geo_rules is 'Geo rules by country, with the same semantics as IP rules.';
create index geo_rules_country_idx on access.geo_rules (country);

create table access.trusted_proxies (
    network cidr primary key,
    note text
);
comment on table access.trusted_proxies is
'Proxies whose X-Forwarded-For entries are believed; the client is the right-most address '
'not among them.';

create table access.geoip (
    network cidr primary key,
    country char(2) not null references access.countries (code)
);
comment on table access.geoip is
'IP-to-country blocks loaded with brandbase geoip load (GeoLite2-style CSV).';
create index geoip_network_idx on access.geoip using gist (network inet_ops);
create index geoip_country_idx on access.geoip (country);

create table access.denials (
    brand_id uuid not null,
    day date not null,
    reason text not null,
    denied bigint not null default 0,
    primary key (brand_id, day, reason)
);
comment on table access.denials is 'Denied requests per brand, day and reason.';

alter table access.ip_rules enable row level security;
alter table access.geo_rules enable row level security;
alter table access.denials enable row level security;

insert into access.countries (code) values
('AD'), ('AE'), ('AF'), ('AG'), ('AI'), ('AL'), ('AM'), ('AO'), ('AQ'), ('AR'), ('AS'), ('AT'),
('AU'), ('AW'), ('AX'), ('AZ'), ('BA'), ('BB'), ('BD'), ('BE'), ('BF'), ('BG'), ('BH'), ('BI'),
('BJ'), ('BL'), ('BM'), ('BN'), ('BO'), ('BQ'), ('BR'), ('BS'), ('BT'), ('BV'), ('BW'), ('BY'),
('BZ'), ('CA'), ('CC'), ('CD'), ('CF'), ('CG'), ('CH'), ('CI'), ('CK'), ('CL'), ('CM'), ('CN'),
('CO'), ('CR'), ('CU'), ('CV'), ('CW'), ('CX'), ('CY'), ('CZ'), ('DE'), ('DJ'), ('DK'), ('DM'),
('DO'), ('DZ'), ('EC'), ('EE'), ('EG'), ('EH'), ('ER'), ('ES'), ('ET'), ('FI'), ('FJ'), ('FK'),
('FM'), ('FO'), ('FR'), ('GA'), ('GB'), ('GD'), ('GE'), ('GF'), ('GG'), ('GH'), ('GI'), ('GL'),
('GM'), ('GN'), ('GP'), ('GQ'), ('GR'), ('GS'), ('GT'), ('GU'), ('GW'), ('GY'), ('HK'), ('HM'),
('HN'), ('HR'), ('HT'), ('HU'), ('ID'), ('IE'), ('IL'), ('IM'), ('IN'), ('IO'), ('IQ'), ('IR'),
('IS'), ('IT'), ('JE'), ('JM'), ('JO'), ('JP'), ('KE'), ('KG'), ('KH'), ('KI'), ('KM'), ('KN'),
('KP'), ('KR'), ('KW'), ('KY'), ('KZ'), ('LA'), ('LB'), ('LC'), ('LI'), ('LK'), ('LR'), ('LS'),
('LT'), ('LU'), ('LV'), ('LY'), ('MA'), ('MC'), ('MD'), ('ME'), ('MF'), ('MG'), ('MH'), ('MK'),
('ML'), ('MM'), ('MN'), ('MO'), ('MP'), ('MQ'), ('MR'), ('MS'), ('MT'), ('MU'), ('MV'), ('MW'),
('MX'), ('MY'), ('MZ'), ('NA'), ('NC'), ('NE'), ('NF'), ('NG'), ('NI'), ('NL'), ('NO'), ('NP'),
('NR'), ('NU'), ('NZ'), ('OM'), ('PA'), ('PE'), ('PF'), ('PG'), ('PH'), ('PK'), ('PL'), ('PM'),
('PN'), ('PR'), ('PS'), ('PT'), ('PW'), ('PY'), ('QA'), ('RE'), ('RO'), ('RS'), ('RU'), ('RW'),
('SA'), ('SB'), ('SC'), ('SD'), ('SE'), ('SG'), ('SH'), ('SI'), ('SJ'), ('SK'), ('SL'), ('SM'),
('SN'), ('SO'), ('SR'), ('SS'), ('ST'), ('SV'), ('SX'), ('SY'), ('SZ'), ('TC'), ('TD'), ('TF'),
('TG'), ('TH'), ('TJ'), ('TK'), ('TL'), ('TM'), ('TN'), ('TO'), ('TR'), ('TT'), ('TV'), ('TW'),
('TZ'), ('UA'), ('UG'), ('UM'), ('US'), ('UY'), ('UZ'), ('VA'), ('VC'), ('VE'), ('VG'), ('VI'),
('VN'), ('VU'), ('WF'), ('WS'), ('YE'), ('YT'), ('ZA'), ('ZM'), ('ZW');

create table access.settings (
    name text primary key check (name in ('country_header')),
    value text not null
);
comment on table access.settings is
'Access settings: country_header names a header a trusted proxy sets (e.g. cf-ipcountry).';
