-- i18n: the app's surface. Everyone (anon too) reads the platform's locales and published
-- global messages, formats with api.t and boots with api.translation_bundle; members with
-- i18n.read see their brand's translations (drafts too), locales, content translations and
-- quality report; i18n.manage changes them (the translation-management UI). api holds
-- only security_invoker views and invoker wrappers over the definers in i18n.

select brand.isolate('i18n.brand_messages', 'i18n.read');
select brand.isolate('i18n.brand_locales', 'i18n.read');
select brand.isolate('i18n.brand_settings', 'i18n.read');
select brand.isolate('i18n.brand_bundles', 'i18n.read');
select brand.isolate('i18n.content', 'i18n.read');

revoke all on i18n.settings, i18n.locales, i18n.brand_locales, i18n.messages, i18n.brand_messages,
i18n.bundles, i18n.brand_bundles, i18n.brand_settings, i18n.translatables, i18n.content, i18n.resolved
from public, anon, authenticated;
grant select on i18n.settings, i18n.locales to anon, authenticated;
grant select (namespace, key, locale, published_source, placeholders, description, updated_at)
on i18n.messages to anon, authenticated;
grant select on i18n.brand_messages, i18n.brand_locales, i18n.brand_settings, i18n.content to authenticated;
-- i18n.t() probes the resolved published global wording with the caller's rights
grant select (namespace, locale, key, parts, arg, tbl, cases) on i18n.resolved to anon, authenticated;
grant select on i18n.settings, i18n.locales, i18n.brand_locales, i18n.messages, i18n.brand_messages,
i18n.bundles, i18n.brand_bundles, i18n.brand_settings, i18n.translatables, i18n.content,
i18n.resolved to service_role;

do $$
declare
    t text;
begin
    foreach t in array array['settings', 'locales', 'resolved'] loop
        execute format('drop policy if exists %I on i18n.%I', 'everyone may read it', t);
        execute format('create policy %I on i18n.%I for select to anon, authenticated using (true)',
            'everyone may read it', t);
    end loop;
    execute format('drop policy if exists %I on i18n.messages', 'everyone may read published global messages');
    execute format('create policy %I on i18n.messages for select to anon, authenticated '
        'using (published_source is not null)', 'everyone may read published global messages');
    foreach t in array array['settings', 'locales', 'messages', 'bundles', 'translatables', 'resolved'] loop
        execute format('drop policy if exists %I on i18n.%I', 'service role may read it', t);
        execute format('create policy %I on i18n.%I for select to service_role using (true)',
            'service role may read it', t);
    end loop;
end
$$;

create or replace view api.locales
with (security_invoker = true) as
select
    l.tag,
    l.name,
    l.fallback,
    l.chain,
    l.enabled,
    l.cardinal_categories,
    l.ordinal_categories
from i18n.locales as l;

comment on view api.locales is
'The platform''s locales: canonical tag, name, explicit fallback, resolved chain, CLDR plural categories.';

create or replace view api.brand_locales
with (security_invoker = true) as
select
    bl.brand_id,
    bl.tag,
    bl.is_default
from i18n.brand_locales as bl;

comment on view api.brand_locales is 'The locales the brand serves and its default (i18n.read).';

create or replace view api.translations
with (security_invoker = true) as
select
    m.brand_id,
    m.namespace,
    m.key,
    m.locale,
    m.source,
    m.status,
    m.published_source,
    m.placeholders,
    m.plural_forms,
    m.description,
    m.updated_by,
    m.updated_at
from i18n.brand_messages as m;

comment on view api.translations is
'The brand''s own translations (i18n.read): working copy, status, published text, who changed it last.';

create or replace view api.global_translations
with (security_invoker = true) as
select
    m.namespace,
    m.key,
    m.locale,
    m.published_source as source,
    m.placeholders,
    m.description,
    m.updated_at
from i18n.messages as m
where m.published_source is not null;

comment on view api.global_translations is
'The platform''s published messages, which a brand''s wording overrides.';

create or replace view api.content_translations
with (security_invoker = true) as
select
    c.brand_id,
    c.table_name,
    c.row_key,
    c.column_name,
    c.locale,
    c.value,
    c.updated_by,
    c.updated_at
from i18n.content as c;

comment on view api.content_translations is 'The brand''s translations of table rows (i18n.read).';

revoke all on api.locales, api.brand_locales, api.translations, api.global_translations,
api.content_translations from public, anon;
grant select on api.locales, api.global_translations to anon, authenticated, service_role;
grant select on api.brand_locales, api.translations, api.content_translations to authenticated, service_role;

create or replace function api.t(
    key text,
    locale text default null,
    params jsonb default '{}',
    namespace text default 'common',
    brand_id uuid default null
)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select i18n.t(key, locale, params, namespace, brand_id)
$$;

comment on function api.t(text, text, jsonb, text, uuid) is
'A formatted message for a locale or an Accept-Language header (see i18n.t).';

create or replace function api.translation_bundle(
    locale text default null, namespace text default 'common', brand_id uuid default null
)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select i18n.bundle(locale, namespace, brand_id)
$$;

comment on function api.translation_bundle(text, text, uuid) is
'Every key of a namespace for a locale, fallbacks resolved, in i18next''s JSON v4 shape (see i18n.bundle).';

create or replace function api.negotiate_locale(accept_language text, available text[])
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select i18n.negotiate(accept_language, available)
$$;

comment on function api.negotiate_locale(text, text[]) is
'The best available locale for an Accept-Language header (RFC 9110, RFC 4647 lookup), or null.';

create or replace function api.request_locale(brand_id uuid default null)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select i18n.request_locale(brand_id)
$$;

comment on function api.request_locale(uuid) is 'The request''s locale from its Accept-Language header.';

create or replace function api.format_message(message text, locale text, params jsonb default '{}')
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select i18n.format(message, locale, params)
$$;

comment on function api.format_message(
    text, text, jsonb
) is 'Formats an ICU message for a preview (see i18n.format).';

create or replace function api.set_translation(
    brand_id uuid,
    namespace text,
    key text,
    locale text,
    source text,
    status text default 'draft',
    description text default null
)
returns jsonb
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.set_message(brand_id, namespace, key, locale, source, status, description)
$$;

comment on function api.set_translation(uuid, text, text, text, text, text, text) is
'Adds or changes the brand''s wording of a key in a locale (i18n.manage).';

create or replace function api.set_translation_status(
    brand_id uuid, namespace text, key text, locale text, status text
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.set_status(brand_id, namespace, key, locale, status)
$$;

comment on function api.set_translation_status(uuid, text, text, text, text) is
'Marks the brand''s translation draft, reviewed or published (i18n.manage).';

create or replace function api.delete_translation(brand_id uuid, namespace text, key text, locale text)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.delete_message(brand_id, namespace, key, locale)
$$;

comment on function api.delete_translation(uuid, text, text, text) is
'Removes the brand''s wording of a key in a locale (i18n.manage); the global one applies again.';

create or replace function api.set_brand_locales(brand_id uuid, tags text[], default_tag text)
returns text[]
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.set_brand_locales(brand_id, tags, default_tag)
$$;

comment on function api.set_brand_locales(
    uuid, text[], text
) is 'Sets the brand''s locales and default (i18n.manage).';

create or replace function api.set_translation_settings(brand_id uuid, public_wording boolean)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.set_brand_settings(brand_id, public_wording)
$$;

comment on function api.set_translation_settings(uuid, boolean) is
'Whether anyone naming the brand gets its published wording (i18n.manage).';

create or replace function api.set_content_translation(
    table_name text, row_key jsonb, column_name text, locale text, value text
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select i18n.set_content(table_name, row_key, column_name, locale, value)
$$;

comment on function api.set_content_translation(text, jsonb, text, text, text) is
'Sets or removes a row''s translation of a translatable column (i18n.manage in the row''s brand).';

create or replace function api.translation_report(brand_id uuid, ns text default null)
returns table (kind text, namespace text, key text, locale text, detail text)
language sql
stable
rows 100
set search_path = pg_catalog, pg_temp
as $$
    select * from i18n.report(brand_id, ns)
$$;

comment on function api.translation_report(uuid, text) is
'Missing keys, unused keys, placeholder mismatches and missing plural forms (i18n.read).';

revoke all on function
api.t(text, text, jsonb, text, uuid), api.translation_bundle(text, text, uuid),
api.negotiate_locale(text, text[]), api.request_locale(uuid), api.format_message(text, text, jsonb),
api.set_translation(uuid, text, text, text, text, text, text),
api.set_translation_status(uuid, text, text, text, text),
api.delete_translation(uuid, text, text, text), api.set_brand_locales(uuid, text[], text),
api.set_translation_settings(uuid, boolean), api.set_content_translation(text, jsonb, text, text, text),
api.translation_report(uuid, text)
from public;
grant execute on function
api.t(text, text, jsonb, text, uuid), api.translation_bundle(text, text, uuid),
api.negotiate_locale(text, text[]), api.request_locale(uuid), api.format_message(text, text, jsonb)
to anon, authenticated, service_role;
grant execute on function
api.set_translation(uuid, text, text, text, text, text, text),
api.set_translation_status(uuid, text, text, text, text),
api.delete_translation(uuid, text, text, text), api.set_brand_locales(uuid, text[], text),
api.set_translation_settings(uuid, boolean), api.set_content_translation(text, jsonb, text, text, text),
api.translation_report(uuid, text)
to authenticated, service_role;
