-- brandbase 0027 (notify): in-app notifications, preferences per user x brand x category
-- x channel, per-user inbox counters, an email outbox for immediate mails and digests.
-- Notifications are written in the same transaction as the change that causes them
-- (notify.send, notify.on_insert); the counters in notify.inboxes are kept by the same
-- statements, so an unread count is one row read, never a count(*).

create schema notify;
comment on schema notify is
'Notifications: categories, channels, preferences, the inbox with its counters, the email '
'outbox and digests. The app''s surface is in api.';
grant usage on schema notify to anon, authenticated, service_role;

create table notify.settings (
    singleton boolean primary key default true check (singleton),
    title_max integer not null default 200 check (title_max between 1 and 10000),
    body_max integer not null default 10000 check (body_max between 1 and 1000000),
    data_max_bytes integer not null default 16384 check (data_max_bytes between 2 and 1048576),
    list_max integer not null default 10000 check (list_max between 1 and 1000000),
    -- 32 random bytes from two v4 uuids (core gen_random_uuid(), the OS's strong random source)
    unsubscribe_secret bytea not null
    default decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'),
    unsubscribe_url text not null default 'http://127.0.0.1:8787/unsubscribe'
    check (length(unsubscribe_url) <= 2000)
);
comment on table notify.settings is
'One row: the caps on what a send may carry, and the secret that signs unsubscribe tokens '
'(readable by the owner only).';
insert into notify.settings default values;

create table notify.channels (
    name text primary key check (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    description text not null default '' check (length(description) <= 500),
    default_enabled boolean not null default false,
    digestible boolean not null default false,
    queue text check (queue is null or queue ~ '^[a-z][a-z0-9_.-]{0,62}$')
);
comment on table notify.channels is
'Where a notification can go: in_app (the inbox), email (the outbox, digests), and channels '
'the app registers (notify.register_channel), whose deliveries are jobs in their queue.';
comment on column notify.channels.default_enabled is
'The channel''s default when neither the brand, the category nor the user says otherwise.';
comment on column notify.channels.digestible is 'Whether a user may choose a digest frequency.';
comment on column notify.channels.queue is 'App channels: the jobs queue a delivery is enqueued in.';
insert into notify.channels (name, description, default_enabled, digestible) values
('in_app', 'The in-app inbox', true, false),
('email', 'Email, immediately or as a digest', false, true);

create table notify.pack_categories (
    key text primary key check (key ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    description text not null default '' check (length(description) <= 500),
    critical boolean not null default false,
    defaults jsonb not null default '{}' check (jsonb_typeof(defaults) = 'object')
);
comment on table notify.pack_categories is
'Categories every brand has (registered by the platform). A brand''s own category of the '
'same key wins.';
comment on column notify.pack_categories.critical is
'Critical categories cannot be switched off (nor muted) on any channel they default to.';
comment on column notify.pack_categories.defaults is
'Per channel: whether the category goes there by default, e.g. {"in_app": true, "email": true}.';
insert into notify.pack_categories (key, description, critical, defaults) values
('system', 'Messages from the platform', false, '{"in_app": true}'),
('security', 'Security alerts about your account', true, '{"in_app": true, "email": true}');

create table notify.categories (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    key text not null check (key ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    description text not null default '' check (length(description) <= 500),
    critical boolean not null default false,
    defaults jsonb not null default '{}' check (jsonb_typeof(defaults) = 'object'),
    created_at timestamptz not null default now(),
    primary key (brand_id, key)
);
comment on table notify.categories is
'A brand''s own notification categories, with per-channel defaults and the critical flag.';

create table notify.brand_channels (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    channel text not null references notify.channels (name) on delete cascade,
    enabled boolean,
    digest text check (digest in ('off', 'hourly', 'daily', 'weekly')),
    primary key (brand_id, channel)
);
comment on table notify.brand_channels is
'The brand''s default per channel (enabled, digest frequency): below a category''s default '
'and a user''s override.';
create index brand_channels_channel_idx on notify.brand_channels (channel);

create table notify.user_settings (
    user_id uuid primary key references auth.users (id) on delete cascade,
    muted boolean not null default false,
    time_zone text not null default 'UTC' check (length(time_zone) <= 64),
    quiet_start time,
    quiet_end time,
    locale text not null default 'en' check (locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
    updated_at timestamptz not null default now(),
    check ((quiet_start is null) = (quiet_end is null))
);
comment on table notify.user_settings is
'Per user, in every brand: the global mute, the time zone and quiet hours (local time, '
'start to end, may span midnight) and the locale of emails.';

create table notify.preferences (
    brand_id uuid not null,
    user_id uuid not null,
    category text not null check (category = '*' or category ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    channel text not null references notify.channels (name) on delete cascade,
    enabled boolean,
    digest text check (digest in ('off', 'hourly', 'daily', 'weekly')),
    updated_at timestamptz not null default now(),
    primary key (brand_id, user_id, category, channel),
    foreign key (brand_id, user_id) references brand.members (brand_id, user_id) on delete cascade,
    check (category = '*' or digest is null)
);
comment on table notify.preferences is
'A user''s overrides within a brand: per category and channel (enabled), and per channel '
'(category ''*'': enabled for every category, and the digest frequency).';
create index preferences_channel_idx on notify.preferences (channel);

create table notify.sends (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    idempotency_key text not null check (octet_length(idempotency_key) between 1 and 200),
    recipients integer not null,
    created_at timestamptz not null default now(),
    primary key (brand_id, idempotency_key)
);
comment on table notify.sends is
'Sends made with an idempotency key: a second send with the same key in the brand does nothing.';

create sequence notify.notifications_id_seq as bigint cache 100;

create table notify.notifications (
    brand_id uuid not null,
    id bigint not null default nextval('notify.notifications_id_seq'),
    user_id uuid not null,
    seq bigint not null,
    category text not null,
    title text not null,
    body text,
    data jsonb not null default '{}',
    action_url text,
    actor_id uuid,
    in_app boolean not null default true,
    email text check (email in ('off', 'hourly', 'daily', 'weekly')),
    email_id bigint,
    created_at timestamptz not null default now(),
    seen_at timestamptz,
    read_at timestamptz,
    archived_at timestamptz,
    primary key (brand_id, id),
    -- one check per row: a member of the brand (leaving the brand, or deleting the user,
    -- deletes the member's notifications)
    foreign key (brand_id, user_id) references brand.members (brand_id, user_id) on delete cascade
);
alter sequence notify.notifications_id_seq owned by notify.notifications.id;
comment on table notify.notifications is
'One row per recipient. in_app: shown in the inbox; email: how it is mailed (off = on its own, '
'else the digest frequency; null = not mailed); email_id: the outbox row that carried it.';
comment on column notify.notifications.seq is
'The recipient''s sequence number within the brand, in commit order (taken under the inbox '
'row''s lock): the Server-Sent Events id, so a resumed stream misses and repeats nothing.';
create index notifications_inbox_idx on notify.notifications (user_id, brand_id, id desc);
create unique index notifications_seq_idx on notify.notifications (brand_id, user_id, seq);
create index notifications_email_pending_idx on notify.notifications (email, created_at)
where email is not null and email_id is null;
-- Retention walks the oldest rows (read_at and archived_at come after created_at); no index
-- names read_at, seen_at or archived_at, so marking a notification can be a HOT update.
create index notifications_created_idx on notify.notifications (created_at);
alter table notify.notifications set (fillfactor = 80);

create table notify.inboxes (
    brand_id uuid not null,
    user_id uuid not null,
    seq bigint not null default 0,
    unread integer not null default 0 check (unread >= 0),
    unseen integer not null default 0 check (unseen >= 0),
    by_category jsonb not null default '{}',
    updated_at timestamptz not null default now(),
    primary key (brand_id, user_id),
    foreign key (brand_id, user_id) references brand.members (brand_id, user_id) on delete cascade
);
comment on table notify.inboxes is
'Per user and brand: the unread and unseen counters (in total and per category, '
'{"category": [unread, unseen]}), kept by every statement that changes a notification, and the '
'last sequence number given out.';
create index inboxes_user_idx on notify.inboxes (user_id);

create table notify.brand_settings (
    brand_id uuid primary key references brand.brands (id) on delete cascade,
    keep_read interval not null default '90 days' check (keep_read > interval '0'),
    keep_archived interval not null default '30 days' check (keep_archived > interval '0')
);
comment on table notify.brand_settings is
'Retention per brand: read and archived notifications are deleted after these (notify.prune).';

create table notify.templates (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    category text not null check (category = '*' or category ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    locale text not null check (locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
    subject text not null check (length(subject) <= 1000),
    text_body text not null check (length(text_body) <= 100000),
    html_body text not null check (length(html_body) <= 200000),
    primary key (brand_id, category, locale)
);
comment on table notify.templates is
'A brand''s email templates per category (''*'': digests and every category) and locale: '
'Jinja2 sources (subject, plain text, HTML with autoescape) rendered in a sandbox by the '
'worker. Without one, the pack''s built-in templates apply.';

create table notify.emails (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id bigint generated always as identity,
    user_id uuid not null references auth.users (id) on delete cascade,
    kind text not null check (kind in ('single', 'digest')),
    frequency text not null check (frequency in ('off', 'hourly', 'daily', 'weekly')),
    to_address text not null check (length(to_address) <= 320),
    notification_ids bigint[] not null,
    status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'failed')),
    attempts integer not null default 0,
    idempotency_key text not null unique,
    provider_message_id text,
    accepted_at timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    primary key (brand_id, id)
);
comment on table notify.emails is
'The email outbox: one row per message (one notification, or a digest of several). status '
'sent with accepted_at once the provider accepted it; a retried job finds it sent and sends '
'nothing. idempotency_key is the provider idempotency key and the Message-ID.';
create index emails_user_idx on notify.emails (user_id);
create index emails_status_idx on notify.emails (status) where status <> 'sent';

alter table notify.settings enable row level security;
alter table notify.channels enable row level security;
alter table notify.pack_categories enable row level security;
alter table notify.categories enable row level security;
alter table notify.brand_channels enable row level security;
alter table notify.user_settings enable row level security;
alter table notify.preferences enable row level security;
alter table notify.sends enable row level security;
alter table notify.notifications enable row level security;
alter table notify.inboxes enable row level security;
alter table notify.brand_settings enable row level security;
alter table notify.templates enable row level security;
alter table notify.emails enable row level security;

insert into webhooks.event_types (event_type, description) values
('notify.sent', 'Notifications were sent to members of the brand (one event per send)');
