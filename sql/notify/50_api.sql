-- notify: policies, grants and the app's surface. A user reads only their own
-- notifications and counters, of the brands where they hold notifications.read; the
-- tables are written only through the definer functions in notify. api holds
-- security_invoker views and invoker wrappers.

revoke all on all tables in schema notify from public, anon, authenticated;
grant select on
notify.notifications, notify.inboxes, notify.preferences, notify.user_settings, notify.categories,
notify.channels, notify.pack_categories, notify.brand_channels
to authenticated;
grant select on all tables in schema notify to service_role;
revoke select (unsubscribe_secret) on notify.settings from service_role;

select brand.isolate('notify.categories', 'notifications.read');
select brand.isolate('notify.brand_channels', 'notifications.read');
select brand.isolate('notify.brand_settings', 'notifications.manage');
select brand.isolate('notify.templates', 'notifications.manage');

do $$
declare
    t text;
begin
    foreach t in array array['notifications', 'inboxes', 'preferences'] loop
        execute format('drop policy if exists %I on notify.%I', 'users read their own in brands they belong to', t);
        execute format(
            'create policy %I on notify.%I for select to authenticated using ('
            'user_id = (select brand.caller_id()) '
            'and brand_id in (select brand.brands_with(''notifications.read'')))',
            'users read their own in brands they belong to', t);
    end loop;
    execute format('drop policy if exists %I on notify.user_settings', 'users read their own settings');
    execute format('create policy %I on notify.user_settings for select to authenticated '
        'using (user_id = (select brand.caller_id()))', 'users read their own settings');
    foreach t in array array['channels', 'pack_categories'] loop
        execute format('drop policy if exists %I on notify.%I', 'signed-in users may read it', t);
        execute format('create policy %I on notify.%I for select to authenticated using (true)',
            'signed-in users may read it', t);
    end loop;
    foreach t in array array[
        'notifications', 'inboxes', 'preferences', 'user_settings', 'channels', 'pack_categories', 'sends',
        'emails', 'settings'
    ] loop
        execute format('drop policy if exists %I on notify.%I', 'service role may read it', t);
        execute format('create policy %I on notify.%I for select to service_role using (true)',
            'service role may read it', t);
    end loop;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Views

create or replace view api.notifications
with (security_invoker = true) as
select
    n.id,
    n.brand_id,
    n.seq,
    n.category,
    n.title,
    n.body,
    n.data,
    n.action_url,
    n.actor_id,
    n.created_at,
    n.seen_at,
    n.read_at,
    n.archived_at
from notify.notifications as n
where n.in_app;

comment on view api.notifications is
'The caller''s notifications in the brands where they hold notifications.read (RLS): filter by '
'brand_id, order by id desc; api.list_notifications pages them.';

create or replace view api.notification_counts
with (security_invoker = true) as
select
    i.brand_id,
    i.unread,
    i.unseen,
    i.by_category,
    i.updated_at
from notify.inboxes as i;

comment on view api.notification_counts is
'The caller''s unread and unseen counts per brand, in total and per category '
'({"category": [unread, unseen]}): counters, one row per brand, cheap to poll.';

create or replace view api.notification_channels
with (security_invoker = true) as
select
    c.name,
    c.description,
    c.digestible
from notify.channels as c;

comment on view api.notification_channels is 'The channels a notification can go to.';

create or replace view api.notification_categories
with (security_invoker = true) as
select
    b.brand_id,
    c.key,
    c.description,
    c.critical,
    c.defaults,
    c.own
from (select brand.brands_with('notifications.read') as brand_id) as b
cross join lateral (
    select
        bc.key,
        bc.description,
        bc.critical,
        bc.defaults,
        true as own
    from notify.categories as bc
    where bc.brand_id = b.brand_id
    union all
    select
        p.key,
        p.description,
        p.critical,
        p.defaults,
        false as own
    from notify.pack_categories as p
    where not exists (
        select from notify.categories as x
        where x.brand_id = b.brand_id and x.key = p.key
    )
) as c;

comment on view api.notification_categories is
'The categories of the caller''s brands (the brand''s own and the pack''s), with the critical '
'flag and per-channel defaults.';

revoke all on api.notifications, api.notification_counts, api.notification_channels,
api.notification_categories from public, anon;
grant select on api.notifications, api.notification_counts, api.notification_channels,
api.notification_categories to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Functions

create or replace function api.send_notification(
    brand_id uuid,
    recipients jsonb,
    category text,
    title text,
    body text default null,
    data jsonb default '{}',
    action_url text default null,
    idempotency_key text default null
)
returns integer
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.send(brand_id, recipients, category, title, body, data, action_url, idempotency_key)
$$;

comment on function api.send_notification(uuid, jsonb, text, text, text, jsonb, text, text) is
'Sends a notification to members of the brand (notifications.send): recipients is a user id, '
'an array of user ids or {"permission": "..."}. Returns how many were written.';

create or replace function api.list_notifications(
    brand_id uuid,
    before_id bigint default null,
    page_size integer default 20,
    category text default null,
    status text default null
)
returns setof api.notifications
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.claims();  -- malformed claims: the clear 28000, not a cast error in the policy
    if pg_catalog.octet_length(category) > 63 then
        raise exception 'category is too long'
            using errcode = '22001', hint = 'Category names have at most 63 characters.';
    end if;
    if status is not null and status not in ('unread', 'read', 'unseen', 'archived', 'all') then
        raise exception 'invalid status filter: %', pg_catalog.left(status, 20)
            using errcode = '22023', hint = 'One of unread, read, unseen, archived, all (null: not archived).';
    end if;
    return query
        select n.*
        from api.notifications as n
        where n.brand_id = list_notifications.brand_id
            and (before_id is null or n.id < before_id)
            and (list_notifications.category is null or n.category = list_notifications.category)
            and case coalesce(status, 'inbox')
                when 'inbox' then n.archived_at is null
                when 'unread' then n.read_at is null and n.archived_at is null
                when 'unseen' then n.seen_at is null and n.archived_at is null
                when 'read' then n.read_at is not null and n.archived_at is null
                when 'archived' then n.archived_at is not null
                else true
            end
        order by n.id desc
        limit least(greatest(coalesce(page_size, 20), 1), 100);
end
$$;

comment on function api.list_notifications(uuid, bigint, integer, text, text) is
'One page of the caller''s notifications in a brand, newest first: pass the last id seen as '
'before_id for the next page (keyset). Filters: category, status (unread, unseen, read, '
'archived, all; default: not archived). page_size 1-100, default 20.';

create or replace function api.unread_counts(brand_id uuid)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    counts jsonb;
begin
    perform brand.claims();  -- malformed claims: the clear 28000, not a cast error in the policy
    select pg_catalog.jsonb_build_object(
        'unread', coalesce(c.unread, 0),
        'unseen', coalesce(c.unseen, 0),
        'categories', coalesce((
            select pg_catalog.jsonb_object_agg(k.key, pg_catalog.jsonb_build_object(
                'unread', (k.value ->> 0)::integer, 'unseen', (k.value ->> 1)::integer
            ))
            from pg_catalog.jsonb_each(c.by_category) as k
        ), '{}'::jsonb)
    ) into counts
    from (select 1) as one
    left join api.notification_counts as c on c.brand_id = unread_counts.brand_id;
    return counts;
end
$$;

comment on function api.unread_counts(uuid) is
'The caller''s unread and unseen counts in a brand, in total and for every category, in one '
'call: {"unread", "unseen", "categories": {"<category>": {"unread", "unseen"}}}. Read from the '
'counters (one row), never counted.';

create or replace function api.mark_notifications(brand_id uuid, ids bigint[], state text)
returns integer
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.mark(brand_id, ids, state)
$$;

comment on function api.mark_notifications(uuid, bigint[], text) is
'Marks the caller''s notifications read, unread, seen, archived or unarchived: the ids given, '
'or all with ids null. Returns how many changed.';

create or replace function api.delete_notifications(brand_id uuid, ids bigint[])
returns integer
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.remove(brand_id, ids)
$$;

comment on function api.delete_notifications(
    uuid, bigint[]
) is 'Deletes the caller''s notifications of these ids.';

create or replace function api.notification_preferences(brand_id uuid)
returns table (
    category text,
    description text,
    critical boolean,
    channel text,
    enabled boolean,
    digest text,
    source text
)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select * from notify.my_preferences(brand_id)
$$;

comment on function api.notification_preferences(uuid) is
'The caller''s effective preferences in a brand per category and channel, and which layer '
'decided (critical, muted, user category, user channel, category, brand, channel).';

create or replace function api.set_notification_preference(
    brand_id uuid, category text, channel text, enabled boolean
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_preference(brand_id, category, channel, enabled)
$$;

comment on function api.set_notification_preference(uuid, text, text, boolean) is
'Switches a category (or ''*'': all) on or off on a channel for the caller; null clears it.';

create or replace function api.set_notification_digest(brand_id uuid, channel text, frequency text)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_digest(brand_id, channel, frequency)
$$;

comment on function api.set_notification_digest(uuid, text, text) is
'The caller''s digest frequency on a channel: off, hourly, daily, weekly (null: brand default).';

create or replace function api.set_notification_settings(
    muted boolean default null,
    time_zone text default null,
    quiet_start time default null,
    quiet_end time default null,
    locale text default null
)
returns notify.user_settings
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select * from notify.set_settings(muted, time_zone, quiet_start, quiet_end, locale)
$$;

comment on function api.set_notification_settings(boolean, text, time, time, text) is
'The caller''s global mute, time zone, quiet hours and locale (nulls leave a setting as it is).';

create or replace function api.notification_settings()
returns table (muted boolean, time_zone text, quiet_start time, quiet_end time, locale text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select * from notify.my_settings()
$$;

comment on function api.notification_settings() is 'The caller''s notification settings.';

create or replace function api.clear_quiet_hours()
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.clear_quiet_hours()
$$;

comment on function api.clear_quiet_hours() is 'Removes the caller''s quiet hours.';

create or replace function api.set_notification_category(
    brand_id uuid,
    key text,
    description text default '',
    critical boolean default false,
    defaults jsonb default '{"in_app": true}'
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_category(brand_id, key, description, critical, defaults)
$$;

comment on function api.set_notification_category(uuid, text, text, boolean, jsonb) is
'Creates or changes a category of the brand (notifications.manage).';

create or replace function api.set_notification_channel_default(
    brand_id uuid, channel text, enabled boolean default null, digest text default null
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_brand_channel(brand_id, channel, enabled, digest)
$$;

comment on function api.set_notification_channel_default(uuid, text, boolean, text) is
'The brand''s default for a channel: on/off and digest frequency (notifications.manage).';

create or replace function api.set_notification_retention(
    brand_id uuid, keep_read interval, keep_archived interval
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_retention(brand_id, keep_read, keep_archived)
$$;

comment on function api.set_notification_retention(uuid, interval, interval) is
'How long the brand keeps read and archived notifications (notifications.manage).';

create or replace function api.set_notification_template(
    brand_id uuid, category text, locale text, subject text, text_body text, html_body text
)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.set_template(brand_id, category, locale, subject, text_body, html_body)
$$;

comment on function api.set_notification_template(uuid, text, text, text, text, text) is
'The brand''s email template for a category (or ''*'') and locale (notifications.manage).';

create or replace function api.unsubscribe(token text)
returns boolean
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select notify.unsubscribe(token)
$$;

comment on function api.unsubscribe(text) is
'Follows an email''s unsubscribe link (anonymous: the signed token is the authority).';

revoke all on function
api.send_notification(uuid, jsonb, text, text, text, jsonb, text, text),
api.list_notifications(uuid, bigint, integer, text, text),
api.unread_counts(uuid),
api.mark_notifications(uuid, bigint[], text),
api.delete_notifications(uuid, bigint[]),
api.notification_preferences(uuid),
api.set_notification_preference(uuid, text, text, boolean),
api.set_notification_digest(uuid, text, text),
api.set_notification_settings(boolean, text, time, time, text),
api.notification_settings(),
api.clear_quiet_hours(),
api.set_notification_category(uuid, text, text, boolean, jsonb),
api.set_notification_channel_default(uuid, text, boolean, text),
api.set_notification_retention(uuid, interval, interval),
api.set_notification_template(uuid, text, text, text, text, text),
api.unsubscribe(text)
from public;
grant execute on function
api.send_notification(uuid, jsonb, text, text, text, jsonb, text, text),
api.list_notifications(uuid, bigint, integer, text, text),
api.unread_counts(uuid),
api.mark_notifications(uuid, bigint[], text),
api.delete_notifications(uuid, bigint[]),
api.notification_preferences(uuid),
api.set_notification_preference(uuid, text, text, boolean),
api.set_notification_digest(uuid, text, text),
api.set_notification_settings(boolean, text, time, time, text),
api.notification_settings(),
api.clear_quiet_hours(),
api.set_notification_category(uuid, text, text, boolean, jsonb),
api.set_notification_channel_default(uuid, text, boolean, text),
api.set_notification_retention(uuid, interval, interval),
api.set_notification_template(uuid, text, text, text, text, text)
to authenticated, service_role;
grant execute on function api.unsubscribe(text) to anon, authenticated, service_role;
