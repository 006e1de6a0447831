-- notify: categories, channels and preferences, and the ONE place that decides where a
-- notification goes: notify.effective(). Its order is brand default -> category default
-- -> the user's per-channel override -> the user's per-category override; the global
-- mute switches everything off; a critical category wins over all of them.

-- Caps and shapes, checked before anything is written (22001 too large, 22023 malformed).
create or replace function notify._check_text(val text, max_chars integer, what text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if val is not null and pg_catalog.length(val) > max_chars then
        raise exception '% is too long (% characters; at most %)', what, pg_catalog.length(val), max_chars
            using errcode = '22001', hint = pg_catalog.format('Send at most %s characters of %s.', max_chars, what);
    end if;
    return val;
end
$$;

comment on function notify._check_text(text, integer, text) is
'Raises 22001 when the text is longer than the cap; returns it otherwise.';

create or replace function notify._check_key(val text, what text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform notify._check_text(val, 63, what);
    if val is null or val !~ '^[a-z][a-z0-9_.-]{0,62}$' then
        raise exception 'invalid % name: %', what, coalesce(val, 'null')
            using errcode = '22023',
                  hint = 'Lower-case letters, digits, _ . -, starting with a letter, at most 63 characters.';
    end if;
    return val;
end
$$;

comment on function notify._check_key(text, text) is 'Raises 22023 unless the name is a valid key.';

-- The categories a brand has: its own, and the pack's it does not redefine.
create or replace function notify.brand_categories(brand_id uuid)
returns table (key text, description text, critical boolean, defaults jsonb, own boolean)
language sql
stable
as $$
    select c.key, c.description, c.critical, c.defaults, true
    from notify.categories as c
    where c.brand_id = brand_categories.brand_id
    union all
    select p.key, p.description, p.critical, p.defaults, false
    from notify.pack_categories as p
    where not exists (
        select from notify.categories as c
        where c.brand_id = brand_categories.brand_id and c.key = p.key
    )
$$;

comment on function notify.brand_categories(uuid) is
'The notification categories of a brand: its own and the pack''s it does not redefine.';

create or replace function notify._category(brand_id uuid, category text)
returns notify.pack_categories
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    found_category notify.pack_categories;
begin
    perform notify._check_text(category, 63, 'category');
    select c.key, c.description, c.critical, c.defaults into found_category
    from notify.brand_categories(brand_id) as c
    where c.key = category;
    if found_category.key is null then
        raise exception 'unknown notification category: %', coalesce(category, 'null')
            using errcode = '22023',
                  hint = 'Use a category of the brand (api.notification_categories) or register one '
                         '(api.set_notification_category).';
    end if;
    return found_category;
end
$$;

comment on function notify._category(uuid, text) is
'The brand''s category of this key (its own or the pack''s); 22023 when there is none.';

-- The one decision. Inlined by the planner (SQL, immutable, no SET clause).
create or replace function notify._decide(
    critical boolean,
    muted boolean,
    user_category boolean,
    user_channel boolean,
    category_default boolean,
    brand_default boolean,
    channel_default boolean
)
returns boolean
language sql
immutable
as $$
    select coalesce(critical and category_default, false)
        or (
            not coalesce(muted, false)
            and coalesce(user_category, user_channel, category_default, brand_default, channel_default, false)
        )
$$;

comment on function notify._decide(boolean, boolean, boolean, boolean, boolean, boolean, boolean) is
'Whether a channel is on: a critical category on every channel it defaults to; else nothing '
'when muted; else the first that says: the user''s category override, the user''s channel '
'override, the category''s default, the brand''s default, the channel''s default.';

create or replace function notify.effective(brand_id uuid, user_ids uuid[], category text default null)
returns table (
    user_id uuid,
    category text,
    channel text,
    enabled boolean,
    digest text,
    critical boolean,
    source text
)
language sql
stable
as $$
    select
        u.user_id,
        c.key,
        ch.name,
        notify._decide(
            c.critical, us.muted, pc.enabled, pa.enabled, (c.defaults ->> ch.name)::boolean,
            bc.enabled, ch.default_enabled
        ),
        case
            when not ch.digestible or (c.critical and (c.defaults ->> ch.name)::boolean) then 'off'
            else coalesce(pa.digest, bc.digest, 'off')
        end,
        c.critical,
        case
            when c.critical and (c.defaults ->> ch.name)::boolean then 'critical'
            when us.muted then 'muted'
            when pc.enabled is not null then 'user category'
            when pa.enabled is not null then 'user channel'
            when c.defaults ? ch.name then 'category'
            when bc.enabled is not null then 'brand'
            else 'channel'
        end
    from pg_catalog.unnest(user_ids) as u (user_id)
    cross join notify.brand_categories(effective.brand_id) as c
    cross join notify.channels as ch
    left join notify.brand_channels as bc
        on bc.brand_id = effective.brand_id and ch.name = bc.channel
    left join notify.preferences as pc
        on
            pc.brand_id = effective.brand_id and u.user_id = pc.user_id
            and c.key = pc.category and ch.name = pc.channel
    left join notify.preferences as pa
        on
            pa.brand_id = effective.brand_id and u.user_id = pa.user_id
            and pa.category = '*' and ch.name = pa.channel
    left join notify.user_settings as us on u.user_id = us.user_id
    where effective.category is null or c.key = effective.category
$$;

comment on function notify.effective(uuid, uuid[], text) is
'THE effective preference of users in a brand, per category and channel: enabled, digest '
'frequency, and which layer decided (critical, muted, user category, user channel, category, '
'brand, channel). notify.send fans out with it; api.notification_preferences shows it.';

-- Quiet hours: until when (in UTC) the user is quiet at a moment; null when not quiet.
create or replace function notify.quiet_until(user_id uuid, at_time timestamptz)
returns timestamptz
language sql
stable
as $$
    select case
        when s.quiet_start is null or s.quiet_start = s.quiet_end then null
        when s.quiet_start < s.quiet_end then
            case when l.t >= s.quiet_start and l.t < s.quiet_end
                then (l.d + s.quiet_end) at time zone s.time_zone end
        when l.t >= s.quiet_start then (l.d + 1 + s.quiet_end) at time zone s.time_zone
        when l.t < s.quiet_end then (l.d + s.quiet_end) at time zone s.time_zone
    end
    from notify.user_settings as s
    cross join lateral (
        select
            (at_time at time zone s.time_zone)::time as t,
            (at_time at time zone s.time_zone)::date as d
    ) as l
    where s.user_id = quiet_until.user_id
$$;

comment on function notify.quiet_until(uuid, timestamptz) is
'When the user''s quiet hours (in their time zone) end, if they are quiet at that moment; '
'null otherwise. Emails wait for it; critical ones do not.';

-- ---------------------------------------------------------------------------------------
-- The user's own settings (any brand): mute, time zone and quiet hours, locale.

create or replace function notify._check_time_zone(time_zone text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform notify._check_text(time_zone, 64, 'time_zone');
    if time_zone is null or not exists (select from pg_catalog.pg_timezone_names as z where z.name = time_zone) then
        raise exception 'unknown time zone: %', coalesce(time_zone, 'null')
            using errcode = '22023', hint = 'Use an IANA time zone name such as Europe/Berlin or UTC.';
    end if;
    return time_zone;
end
$$;

comment on function notify._check_time_zone(text) is 'Raises 22023 unless the IANA time zone exists.';

create or replace function notify.set_settings(
    muted boolean default null,
    time_zone text default null,
    quiet_start time default null,
    quiet_end time default null,
    locale text default null
)
returns notify.user_settings
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
    saved notify.user_settings;
begin
    if time_zone is not null then
        perform notify._check_time_zone(time_zone);
    end if;
    perform notify._check_text(locale, 12, 'locale');
    if locale is not null and locale !~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$' then
        raise exception 'invalid locale: %', locale
            using errcode = '22023', hint = 'A language tag such as en, de or pt-BR.';
    end if;
    if (quiet_start is null) <> (quiet_end is null) then
        raise exception 'quiet hours need both a start and an end'
            using errcode = '22023', hint = 'Give quiet_start and quiet_end (local times), or neither.';
    end if;
    insert into notify.user_settings as s (user_id, muted, time_zone, quiet_start, quiet_end, locale)
    values (uid, coalesce(muted, false), coalesce(time_zone, 'UTC'), quiet_start, quiet_end, coalesce(locale, 'en'))
    on conflict on constraint user_settings_pkey do update
    set muted = coalesce(set_settings.muted, s.muted),
        time_zone = coalesce(set_settings.time_zone, s.time_zone),
        quiet_start = case when set_settings.quiet_start is null then s.quiet_start else set_settings.quiet_start end,
        quiet_end = case when set_settings.quiet_end is null then s.quiet_end else set_settings.quiet_end end,
        locale = coalesce(set_settings.locale, s.locale),
        updated_at = brandbase.now()
    returning s.* into saved;
    return saved;
end
$$;

comment on function notify.set_settings(boolean, text, time, time, text) is
'The caller''s notification settings in every brand: global mute, time zone, quiet hours '
'(local start and end), email locale. A null argument leaves that setting as it is.';

create or replace function notify.clear_quiet_hours()
returns void
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    update notify.user_settings as s
    set quiet_start = null, quiet_end = null, updated_at = brandbase.now()
    where s.user_id = brand.require_caller()
$$;

comment on function notify.clear_quiet_hours() is 'Removes the caller''s quiet hours.';

create or replace function notify.my_settings()
returns table (muted boolean, time_zone text, quiet_start time, quiet_end time, locale text)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select
        coalesce(s.muted, false),
        coalesce(s.time_zone, 'UTC'),
        s.quiet_start,
        s.quiet_end,
        coalesce(s.locale, 'en')
    from (select brand.require_caller() as uid) as c
    left join notify.user_settings as s on c.uid = s.user_id
$$;

comment on function notify.my_settings() is 'The caller''s notification settings (defaults when none).';

-- ---------------------------------------------------------------------------------------
-- The user's preferences within a brand.

create or replace function notify._check_channel(channel text)
returns notify.channels
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    found_channel notify.channels;
begin
    perform notify._check_text(channel, 40, 'channel');
    select c.* into found_channel from notify.channels as c where c.name = channel;
    if found_channel.name is null then
        raise exception 'unknown notification channel: %', coalesce(channel, 'null')
            using errcode = '22023', hint = 'Channels are listed in api.notification_channels (in_app, email, …).';
    end if;
    return found_channel;
end
$$;

comment on function notify._check_channel(text) is 'The channel of this name; 22023 when there is none.';

create or replace function notify.set_preference(brand_id uuid, category text, channel text, enabled boolean)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
    cat notify.pack_categories;
begin
    perform brand.require_permission(brand_id, 'notifications.read');
    perform notify._check_channel(channel);
    if category is distinct from '*' then
        cat := notify._category(brand_id, category);
        if cat.critical and (cat.defaults ->> channel)::boolean and enabled is false then
            raise exception 'category % is critical and cannot be switched off on %', category, channel
                using errcode = '23514',
                      hint = 'Critical categories (security alerts …) always reach their channels.';
        end if;
    end if;
    if enabled is null then
        delete from notify.preferences as p
        where p.brand_id = set_preference.brand_id and p.user_id = uid
            and p.category = set_preference.category and p.channel = set_preference.channel
            and p.digest is null;
        update notify.preferences as p set enabled = null, updated_at = brandbase.now()
        where p.brand_id = set_preference.brand_id and p.user_id = uid
            and p.category = set_preference.category and p.channel = set_preference.channel;
        return;
    end if;
    insert into notify.preferences as p (brand_id, user_id, category, channel, enabled)
    values (set_preference.brand_id, uid, set_preference.category, set_preference.channel, set_preference.enabled)
    on conflict on constraint preferences_pkey do update
    set enabled = excluded.enabled, updated_at = brandbase.now();
end
$$;

comment on function notify.set_preference(uuid, text, text, boolean) is
'The caller''s override in a brand: category (or ''*'' for all) on a channel on or off; null '
'removes the override. Critical categories cannot be switched off (23514).';

create or replace function notify.set_digest(brand_id uuid, channel text, frequency text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
begin
    perform brand.require_permission(brand_id, 'notifications.read');
    if not (notify._check_channel(channel)).digestible then
        raise exception 'channel % has no digests', channel
            using errcode = '22023', hint = 'Digest frequencies apply to email.';
    end if;
    if frequency is not null and frequency not in ('off', 'hourly', 'daily', 'weekly') then
        raise exception 'invalid digest frequency: %', pg_catalog.left(frequency, 20)
            using errcode = '22023', hint = 'One of off, hourly, daily, weekly (null: the brand''s default).';
    end if;
    insert into notify.preferences as p (brand_id, user_id, category, channel, digest)
    values (set_digest.brand_id, uid, '*', set_digest.channel, frequency)
    on conflict on constraint preferences_pkey do update
    set digest = excluded.digest, updated_at = brandbase.now();
end
$$;

comment on function notify.set_digest(uuid, text, text) is
'The caller''s digest frequency for a channel in a brand: off (each notification on its own), '
'hourly, daily, weekly; null falls back to the brand''s default.';

create or replace function notify.my_preferences(brand_id uuid)
returns table (
    category text,
    description text,
    critical boolean,
    channel text,
    enabled boolean,
    digest text,
    source text
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
begin
    perform brand.require_permission(brand_id, 'notifications.read');
    return query
        select e.category, c.description, e.critical, e.channel, e.enabled, e.digest, e.source
        from notify.effective(my_preferences.brand_id, array[uid]) as e
        inner join notify.brand_categories(my_preferences.brand_id) as c on e.category = c.key
        order by e.category, e.channel;
end
$$;

comment on function notify.my_preferences(uuid) is
'The caller''s effective preferences in a brand, per category and channel, with the layer that '
'decided: what a settings page renders.';

-- ---------------------------------------------------------------------------------------
-- The brand's categories and channel defaults (notifications.manage).

create or replace function notify._check_defaults(defaults jsonb)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    bad text;
begin
    if defaults is null or pg_catalog.jsonb_typeof(defaults) <> 'object' then
        raise exception 'channel defaults must be a JSON object'
            using errcode = '22023', hint = 'Like {"in_app": true, "email": false}.';
    end if;
    if pg_catalog.octet_length(defaults::text) > 4096 then
        raise exception 'channel defaults are too large'
            using errcode = '22001', hint = 'At most 4096 bytes.';
    end if;
    select d.key into bad
    from pg_catalog.jsonb_each(defaults) as d
    where pg_catalog.jsonb_typeof(d.value) <> 'boolean'
        or not exists (select from notify.channels as c where c.name = d.key)
    limit 1;
    if bad is not null then
        raise exception 'invalid channel default: %', pg_catalog.left(bad, 100)
            using errcode = '22023', hint = 'Keys are channel names (api.notification_channels), values booleans.';
    end if;
    return defaults;
end
$$;

comment on function notify._check_defaults(jsonb) is
'Raises unless the value maps channel names to booleans.';

create or replace function notify.set_category(
    brand_id uuid,
    key text,
    description text default '',
    critical boolean default false,
    defaults jsonb default '{"in_app": true}'
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'notifications.manage');
    perform notify._check_key(key, 'category');
    perform notify._check_text(description, 500, 'description');
    perform notify._check_defaults(defaults);
    insert into notify.categories as c (brand_id, key, description, critical, defaults)
    values (set_category.brand_id, set_category.key, coalesce(description, ''), coalesce(critical, false), defaults)
    on conflict on constraint categories_pkey do update
    set description = excluded.description, critical = excluded.critical, defaults = excluded.defaults;
end
$$;

comment on function notify.set_category(uuid, text, text, boolean, jsonb) is
'Creates or changes one of the brand''s categories (notifications.manage): description, '
'critical, per-channel defaults.';

create or replace function notify.set_brand_channel(
    brand_id uuid, channel text, enabled boolean default null, digest text default null
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'notifications.manage');
    perform notify._check_channel(channel);
    if digest is not null and digest not in ('off', 'hourly', 'daily', 'weekly') then
        raise exception 'invalid digest frequency: %', pg_catalog.left(digest, 20)
            using errcode = '22023', hint = 'One of off, hourly, daily, weekly.';
    end if;
    insert into notify.brand_channels as b (brand_id, channel, enabled, digest)
    values (set_brand_channel.brand_id, set_brand_channel.channel, set_brand_channel.enabled, set_brand_channel.digest)
    on conflict on constraint brand_channels_pkey do update
    set enabled = excluded.enabled, digest = excluded.digest;
end
$$;

comment on function notify.set_brand_channel(uuid, text, boolean, text) is
'The brand''s default for a channel (notifications.manage): on/off and digest frequency; null: '
'no brand default.';

-- ---------------------------------------------------------------------------------------
-- The platform's categories and channels (owner / service_role).

create or replace function notify.register_category(
    key text,
    description text default '',
    critical boolean default false,
    defaults jsonb default '{"in_app": true}'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform notify._check_key(key, 'category');
    perform notify._check_defaults(defaults);
    insert into notify.pack_categories as c (key, description, critical, defaults)
    values (key, coalesce(description, ''), coalesce(critical, false), defaults)
    on conflict on constraint pack_categories_pkey do update
    set description = excluded.description, critical = excluded.critical, defaults = excluded.defaults;
end
$$;

comment on function notify.register_category(text, text, boolean, jsonb) is
'Registers (or changes) a category every brand has.';

create or replace function notify.register_channel(
    name text, description text default '', default_enabled boolean default false
)
returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    queue_name text := 'notify_' || name;
begin
    if name is null or name !~ '^[a-z][a-z0-9_]{0,39}$' or name in ('in_app', 'email') then
        raise exception 'invalid channel name: %', coalesce(pg_catalog.left(name, 100), 'null')
            using errcode = '22023',
                  hint = 'Lower-case letters, digits and _, at most 40 characters; in_app and email are built in.';
    end if;
    if not exists (select from jobs.queues as q where q.name = queue_name) then
        perform jobs.create_queue(queue_name);
    end if;
    insert into notify.channels as c (name, description, default_enabled, queue)
    values (name, coalesce(description, ''), coalesce(default_enabled, false), queue_name)
    on conflict on constraint channels_pkey do update
    set description = excluded.description, default_enabled = excluded.default_enabled;
    return queue_name;
end
$$;

comment on function notify.register_channel(text, text, boolean) is
'Registers an app channel (push, sms, …): each delivery to it becomes a job in queue '
'notify_<name>, for the app''s handler. Returns the queue''s name.';

revoke all on function
notify._check_text(text, integer, text),
notify._check_key(text, text),
notify.brand_categories(uuid),
notify._category(uuid, text),
notify._decide(boolean, boolean, boolean, boolean, boolean, boolean, boolean),
notify.effective(uuid, uuid[], text),
notify.quiet_until(uuid, timestamptz),
notify._check_time_zone(text),
notify.set_settings(boolean, text, time, time, text),
notify.clear_quiet_hours(),
notify.my_settings(),
notify._check_channel(text),
notify.set_preference(uuid, text, text, boolean),
notify.set_digest(uuid, text, text),
notify.my_preferences(uuid),
notify._check_defaults(jsonb),
notify.set_category(uuid, text, text, boolean, jsonb),
notify.set_brand_channel(uuid, text, boolean, text),
notify.register_category(text, text, boolean, jsonb),
notify.register_channel(text, text, boolean)
from public;

grant execute on function
notify.set_settings(boolean, text, time, time, text),
notify.clear_quiet_hours(),
notify.my_settings(),
notify.set_preference(uuid, text, text, boolean),
notify.set_digest(uuid, text, text),
notify.my_preferences(uuid),
notify.set_category(uuid, text, text, boolean, jsonb),
notify.set_brand_channel(uuid, text, boolean, text)
to authenticated, service_role;

grant execute on function
notify.effective(uuid, uuid[], text),
notify.brand_categories(uuid),
notify.register_category(text, text, boolean, jsonb),
notify.register_channel(text, text, boolean)
to service_role;
