-- brandbase 0002 (brand): brands, members, invitations, the five role tiers and the
-- permission catalogue. Every brand-scoped key starts with brand_id (see docs/scaling.md).

create type brand.tier as enum ('viewer', 'member', 'editor', 'admin', 'owner');
comment on type brand.tier is
'Role tiers in ascending order of power; a tier holds the permissions granted to it.';

create table brand.brands (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique
    check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    name text not null check (length(btrim(name)) between 1 and 200),
    plan text not null default 'free' check (plan ~ '^[a-z0-9_]{1,40}$'),
    settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
    created_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now()
);
comment on table brand.brands is 'One row per brand (tenant). Everything else hangs off id.';
comment on column brand.brands.slug is 'URL-safe unique handle: lower-case letters, digits, dashes.';
comment on column brand.brands.plan is 'Billing plan name; quotas and rate limits default by plan.';
comment on column brand.brands.settings is 'Free-form brand settings for the app.';
create index brands_created_by_idx on brand.brands (created_by);

create table brand.permissions (
    permission text primary key check (permission ~ '^[a-z0-9_]+\.[a-z0-9_]+$'),
    module text not null,
    description text not null
);
comment on table brand.permissions is
'Catalogue of permissions, <area>.<action>; every check names one of these.';

create table brand.tier_permissions (
    tier brand.tier not null,
    permission text not null references brand.permissions (permission) on delete cascade,
    primary key (tier, permission)
);
comment on table brand.tier_permissions is 'Which permissions each role tier holds.';
create index tier_permissions_permission_idx on brand.tier_permissions (permission, tier);

create table brand.members (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    tier brand.tier not null,
    invited_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    primary key (brand_id, user_id)
);
comment on table brand.members is 'Membership of a user in a brand, with the user''s role tier.';
comment on column brand.members.tier is 'The member''s role tier; permissions follow from it.';
create index members_user_id_idx on brand.members (user_id, brand_id);
create index members_invited_by_idx on brand.members (invited_by);

create table brand.invitations (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id uuid not null default gen_random_uuid(),
    email text not null check (email ~ '^[^@\s]+@[^@\s]+$'),
    tier brand.tier not null check (tier <> 'owner'),
    token_sha256 bytea not null unique check (length(token_sha256) = 32),
    invited_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    accepted_at timestamptz,
    accepted_by uuid references auth.users (id) on delete set null,
    primary key (brand_id, id),
    check (expires_at > created_at),
    check ((accepted_at is null) = (accepted_by is null))
);
comment on table brand.invitations is
'Pending and accepted invitations; only the sha256 of the token is stored.';
comment on column brand.invitations.token_sha256 is
'sha256 of the invitation token; the token itself is shown once, to the inviter.';
create index invitations_invited_by_idx on brand.invitations (invited_by);
create index invitations_accepted_by_idx on brand.invitations (accepted_by);

alter table brand.brands enable row level security;
alter table brand.members enable row level security;
alter table brand.invitations enable row level security;

insert into brand.permissions (permission, module, description) values
('brand.read', 'brand', 'See the brand and its settings'),
('brand.update', 'brand', 'Rename the brand and change its settings'),
('brand.delete', 'brand', 'Delete the brand and all of its data'),
('billing.read', 'brand', 'See the plan and invoices'),
('billing.manage', 'brand', 'Change the plan and payment details'),
('members.read', 'brand', 'See who belongs to the brand and their tiers'),
('members.invite', 'brand', 'Invite people to join the brand'),
('members.manage', 'brand', 'Change members'' tiers and remove members'),
('audit.read', 'audit', 'Read the brand''s audit trail'),
('audit.export', 'audit', 'Export the audit trail'),
('content.read', 'versions', 'Read content and its version history'),
('content.write', 'versions', 'Create and edit content drafts'),
('content.publish', 'versions', 'Publish a version of content'),
('content.restore', 'versions', 'Restore an earlier version of content'),
('jobs.read', 'jobs', 'See the brand''s background jobs'),
('jobs.manage', 'jobs', 'Enqueue, cancel and retry jobs; manage schedules'),
('webhooks.read', 'webhooks', 'See endpoints and delivery logs'),
('webhooks.manage', 'webhooks', 'Create, change and delete webhook endpoints'),
('webhooks.replay', 'webhooks', 'Redeliver and recover webhook deliveries'),
('ratelimit.read', 'ratelimit', 'See rate-limit policies and denials'),
('ratelimit.manage', 'ratelimit', 'Change the brand''s rate-limit overrides'),
('quotas.read', 'quotas', 'See usage against quotas'),
('quotas.manage', 'quotas', 'Change the brand''s quota overrides'),
('notifications.read', 'notify', 'Read one''s own notifications'),
('notifications.send', 'notify', 'Send notifications to brand members'),
('notifications.manage', 'notify', 'Manage notification categories and digests'),
('flags.read', 'flags', 'See feature flags and their evaluation'),
('flags.manage', 'flags', 'Create and change feature flags and overrides'),
('i18n.read', 'i18n', 'Read translations'),
('i18n.manage', 'i18n', 'Add and change translations'),
('search.read', 'search', 'Search the brand''s content'),
('search.manage', 'search', 'Configure search and read search analytics'),
('errors.read', 'errors', 'See error events and issues'),
('errors.manage', 'errors', 'Resolve, ignore and alert on error issues'),
('health.read', 'health', 'See detailed health and metrics'),
('access.read', 'access', 'See IP and geo access rules'),
('access.manage', 'access', 'Change IP and geo access rules'),
('exports.create', 'exports', 'Export brand data (GDPR)'),
('exports.read', 'exports', 'Download finished exports'),
('api.read', 'api', 'See API versions and keys'),
('api.manage', 'api', 'Manage API keys and version settings'),
('storage.read', 'storage', 'Read the brand''s stored files'),
('storage.write', 'storage', 'Upload and delete the brand''s stored files'),
('ai.use', 'ai', 'Call the AI proxies on the brand''s account');

-- Each tier holds what the tier below holds, plus its own additions.
with additions (tier, permission) as (
    values
    ('viewer', 'brand.read'), ('viewer', 'members.read'), ('viewer', 'content.read'),
    ('viewer', 'notifications.read'), ('viewer', 'flags.read'), ('viewer', 'i18n.read'),
    ('viewer', 'search.read'), ('viewer', 'storage.read'), ('viewer', 'quotas.read'),
    ('member', 'content.write'), ('member', 'storage.write'), ('member', 'ai.use'),
    ('member', 'exports.read'), ('member', 'jobs.read'), ('member', 'api.read'),
    ('editor', 'content.publish'), ('editor', 'content.restore'), ('editor', 'i18n.manage'),
    ('editor', 'search.manage'), ('editor', 'notifications.send'), ('editor', 'errors.read'),
    ('editor', 'webhooks.read'),
    ('admin', 'brand.update'), ('admin', 'members.invite'), ('admin', 'members.manage'),
    ('admin', 'audit.read'), ('admin', 'audit.export'), ('admin', 'jobs.manage'),
    ('admin', 'webhooks.manage'), ('admin', 'webhooks.replay'), ('admin', 'ratelimit.read'),
    ('admin', 'ratelimit.manage'), ('admin', 'quotas.manage'),
    ('admin', 'notifications.manage'), ('admin', 'flags.manage'), ('admin', 'errors.manage'),
    ('admin', 'health.read'), ('admin', 'access.read'), ('admin', 'access.manage'),
    ('admin', 'exports.create'), ('admin', 'api.manage'), ('admin', 'billing.read'),
    ('owner', 'brand.delete'), ('owner', 'billing.manage')
)

insert into brand.tier_permissions (tier, permission)
select
    t.tier,
    a.permission
from additions as a
inner join lateral unnest(enum_range(a.tier::brand.tier, null)) as t (tier) on true;
