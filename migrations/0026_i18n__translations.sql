-- brandbase 0026 (i18n): locales with fallback chains, translations (global and per
-- brand) stored with their compiled ICU MessageFormat form, and content translations for
-- rows of any table. Messages are parsed and compiled on write (i18n.compile in
-- sql/i18n/20_messages.sql), so reading one is an indexed lookup plus a short program.

create schema i18n;
comment on schema i18n is
'Translations: locales and fallback chains, UI messages (global and per brand) in ICU '
'MessageFormat with CLDR plurals, content translations of table rows, Accept-Language '
'negotiation, quality reports.';
grant usage on schema i18n to anon, authenticated, service_role;

create table i18n.settings (
    singleton boolean primary key default true check (singleton),
    default_locale text not null default 'en'
);
comment on table i18n.settings is
'One row. default_locale: the platform''s source language, the last step of every fallback '
'chain and the reference of the quality reports.';
insert into i18n.settings default values;

create table i18n.locales (
    tag text primary key check (length(tag) between 2 and 64),
    name text not null default '' check (length(name) <= 200),
    fallback text references i18n.locales (tag) on update cascade on delete set null,
    enabled boolean not null default true,
    chain text[] not null default '{}',
    cardinal_rule smallint,
    ordinal_rule smallint,
    cardinal_categories text[],
    ordinal_categories text[],
    updated_at timestamptz not null default now(),
    check (fallback is distinct from tag)
);
comment on table i18n.locales is
'The platform''s locales: canonical BCP 47 tags (i18n.canonical_tag), an optional explicit '
'next step (fallback), and the resolved chain. Brands enable a subset (i18n.brand_locales).';
comment on column i18n.locales.fallback is
'The explicit next locale after this one (de-AT -> de-DE); when null, the chain truncates the '
'tag as RFC 4647 lookup does (de-AT -> de).';
comment on column i18n.locales.chain is
'The resolved fallback chain, this tag first and the default locale last; maintained by '
'i18n._refresh_chains() on every change, so readers never walk it.';
create index locales_fallback_idx on i18n.locales (fallback);
comment on column i18n.locales.cardinal_rule is 'The CLDR cardinal plural rule set (i18n._plural).';
comment on column i18n.locales.ordinal_rule is 'The CLDR ordinal plural rule set (i18n._plural).';
comment on column i18n.locales.cardinal_categories is 'The CLDR cardinal plural categories of the locale.';
comment on column i18n.locales.ordinal_categories is 'The CLDR ordinal plural categories of the locale.';

create table i18n.brand_locales (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    tag text not null references i18n.locales (tag) on update cascade on delete cascade,
    is_default boolean not null default false,
    created_at timestamptz not null default now(),
    primary key (brand_id, tag)
);
comment on table i18n.brand_locales is
'The locales a brand serves, one of them its default (the answer when nothing in '
'Accept-Language matches).';
create unique index brand_locales_default_idx on i18n.brand_locales (brand_id) where is_default;
create index brand_locales_tag_idx on i18n.brand_locales (tag);

create table i18n.messages (
    namespace text not null check (namespace ~ '^[A-Za-z0-9_.-]{1,64}$'),
    key text not null check (length(key) between 1 and 200 and key !~ '[[:cntrl:]]'),
    locale text not null references i18n.locales (tag) on update cascade,
    source text not null check (length(source) <= 20000),
    status text not null default 'draft' check (status in ('draft', 'reviewed', 'published')),
    placeholders text[] not null default '{}',
    plural_forms text[] not null default '{}',
    published_source text,
    code text[],
    i18next jsonb,
    description text not null default '' check (length(description) <= 2000),
    updated_by uuid references auth.users (id) on delete set null,
    updated_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    primary key (namespace, locale, key)
);
comment on table i18n.messages is
'Global (platform) UI messages: key x locale x namespace, in ICU MessageFormat. source and '
'status are the working copy; published_source and code (its compiled form) are what '
'i18n.t() and i18n.bundle() serve.';
comment on column i18n.messages.source is 'The working copy of the message (ICU MessageFormat).';
comment on column i18n.messages.status is 'draft, reviewed or published (the working copy''s state).';
comment on column i18n.messages.placeholders is 'The argument names the working copy uses (sorted).';
comment on column i18n.messages.plural_forms is
'The plural categories the working copy''s plural/selectordinal branches name (sorted).';
comment on column i18n.messages.published_source is 'The published message, null until first published.';
comment on column i18n.messages.code is
'The published message compiled to a flat program for i18n._format (see sql/i18n/20_messages.sql).';
comment on column i18n.messages.i18next is
'The published message in i18next''s own JSON v4 form: {"": text} or, for a plural on count, '
'{"_one": ..., "_other": ...}; the ICU text where i18next''s syntax cannot say it.';
comment on column i18n.messages.updated_by is 'Who changed the row last (null: the platform).';
create index messages_locale_idx on i18n.messages (locale);
create index messages_updated_by_idx on i18n.messages (updated_by);

create table i18n.brand_messages (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    namespace text not null check (namespace ~ '^[A-Za-z0-9_.-]{1,64}$'),
    key text not null check (length(key) between 1 and 200 and key !~ '[[:cntrl:]]'),
    locale text not null references i18n.locales (tag) on update cascade,
    source text not null check (length(source) <= 20000),
    status text not null default 'draft' check (status in ('draft', 'reviewed', 'published')),
    placeholders text[] not null default '{}',
    plural_forms text[] not null default '{}',
    published_source text,
    code text[],
    i18next jsonb,
    description text not null default '' check (length(description) <= 2000),
    updated_by uuid references auth.users (id) on delete set null,
    updated_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    primary key (brand_id, namespace, locale, key)
);
comment on table i18n.brand_messages is
'A brand''s own wording: overrides the global message of the same namespace, key and locale '
'(at every step of the fallback chain the brand''s row comes first). Columns as i18n.messages.';
create index brand_messages_locale_idx on i18n.brand_messages (locale);
create index brand_messages_updated_by_idx on i18n.brand_messages (updated_by);

create table i18n.bundles (
    namespace text not null,
    locale text not null references i18n.locales (tag) on update cascade on delete cascade,
    body jsonb not null,
    built_at timestamptz not null default now(),
    primary key (namespace, locale)
);
comment on table i18n.bundles is
'i18n.bundle()''s answer for the global wording, per namespace and locale, fallbacks resolved; '
'rebuilt by triggers whenever a published message or a chain changes, so a read is one lookup.';

create index bundles_locale_idx on i18n.bundles (locale);

create table i18n.brand_bundles (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    namespace text not null,
    locale text not null references i18n.locales (tag) on update cascade on delete cascade,
    body jsonb not null,
    built_at timestamptz not null default now(),
    primary key (brand_id, namespace, locale)
);
comment on table i18n.brand_bundles is
'The same for a brand with wording of its own in the namespace (its messages over the global ones).';
create index brand_bundles_locale_idx on i18n.brand_bundles (locale);

create table i18n.resolved (
    namespace text not null,
    locale text not null references i18n.locales (tag) on update cascade on delete cascade,
    key text not null,
    code text[] not null,
    primary key (namespace, locale, key)
);
comment on table i18n.resolved is
'For every platform locale, the compiled global message each key resolves to along the '
'locale''s chain: i18n.t()''s hot path is one probe here. Rebuilt with the bundles.';
create index resolved_locale_idx on i18n.resolved (locale);

create table i18n.brand_settings (
    brand_id uuid primary key references brand.brands (id) on delete cascade,
    public_wording boolean not null default false,
    updated_at timestamptz not null default now()
);
comment on table i18n.brand_settings is
'public_wording: the brand''s published messages are served to anyone who names the brand '
'(anonymous visitors of its site); otherwise only to its members and service_role.';

create table i18n.translatables (
    table_name text primary key,
    columns text[] not null check (cardinality(columns) between 1 and 50),
    key_columns text[] not null,
    view_name text not null,
    created_at timestamptz not null default now()
);
comment on table i18n.translatables is
'Tables whose rows have content translations (i18n.translatable): the translated columns, the '
'key columns, and the translated view made for them. Table names as text (no reg* columns).';

create table i18n.content (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    table_name text not null references i18n.translatables (table_name) on delete cascade,
    row_key jsonb not null check (jsonb_typeof(row_key) = 'object' and length(row_key::text) <= 1000),
    column_name text not null,
    locale text not null references i18n.locales (tag) on update cascade,
    value text not null check (length(value) <= 100000),
    updated_by uuid references auth.users (id) on delete set null,
    updated_at timestamptz not null default now(),
    primary key (brand_id, table_name, row_key, column_name, locale)
);
comment on table i18n.content is
'Per-row, per-locale values of the translatable columns of app tables; the translated view '
'picks the first locale of the request''s chain, else the row''s own value.';
comment on column i18n.content.row_key is 'The row''s primary key as a JSON object (brand.row_key).';
create index content_locale_idx on i18n.content (locale);
create index content_table_name_idx on i18n.content (table_name);
create index content_updated_by_idx on i18n.content (updated_by);

alter table i18n.settings enable row level security;
alter table i18n.locales enable row level security;
alter table i18n.brand_locales enable row level security;
alter table i18n.messages enable row level security;
alter table i18n.brand_messages enable row level security;
alter table i18n.bundles enable row level security;
alter table i18n.resolved enable row level security;
alter table i18n.brand_bundles enable row level security;
alter table i18n.brand_settings enable row level security;
alter table i18n.translatables enable row level security;
alter table i18n.content enable row level security;

update brand.permissions
set
    description
    = 'Add, change, review and publish the brand''s translations, locales and content translations'
where permission = 'i18n.manage';
update brand.permissions
set description = 'Read the brand''s translations (drafts too), locales and quality reports'
where permission = 'i18n.read';

insert into i18n.locales (tag, name, chain) values ('en', 'English', '{en}');
