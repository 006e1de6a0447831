-- notify: sending. notify.send checks the caller and the input, resolves the recipients
-- (one user, a list, or the members holding a permission) and hands them to _fan_out,
-- which writes every recipient's notification and inbox counter in ONE statement, then
-- announces each new notification: pg_notify on the recipient's channel (the id only),
-- realtime.send() on the recipient's private topic when Supabase Realtime is there,
-- app channels as jobs, and one webhook event for the send.

-- The pg_notify channel of a user: brandbase_notify_ and the uuid's 32 hex digits.
create or replace function notify.channel_of(user_id uuid)
returns text
language sql
immutable
as $$
    select 'brandbase_notify_' || pg_catalog.replace(user_id::text, '-', '')
$$;

comment on function notify.channel_of(uuid) is
'The pg_notify channel that carries a user''s new notification ids (LISTEN to it).';

-- Adds per-category deltas {"cat": [unread, unseen]} to counters of the same shape.
create or replace function notify._merge_counts(counts jsonb, deltas jsonb)
returns jsonb
language sql
immutable
as $$
    select coalesce(pg_catalog.jsonb_object_agg(k.key, pg_catalog.jsonb_build_array(k.unread, k.unseen))
        filter (where k.unread > 0 or k.unseen > 0), '{}'::jsonb)
    from (
        select
            keys.key,
            coalesce((counts -> keys.key ->> 0)::integer, 0) + coalesce((deltas -> keys.key ->> 0)::integer, 0)
                as unread,
            coalesce((counts -> keys.key ->> 1)::integer, 0) + coalesce((deltas -> keys.key ->> 1)::integer, 0)
                as unseen
        from (
            select pg_catalog.jsonb_object_keys(counts) as key
            union
            select pg_catalog.jsonb_object_keys(deltas)
        ) as keys
    ) as k
$$;

comment on function notify._merge_counts(jsonb, jsonb) is
'Per-category counters plus deltas, both {"category": [unread, unseen]}; zero entries dropped.';

create or replace function notify._fan_out(
    target_brand uuid,
    user_ids uuid[],
    cat notify.pack_categories,
    title text,
    body text,
    data jsonb,
    action_url text,
    actor_id uuid
)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    new_ids bigint[];
    new_users uuid[];
    sent integer;
    app_channel record;
    overridden uuid[];
    default_in_app boolean;
    default_email text;
begin
    -- The decision for a recipient who overrides nothing, made once (notify.effective for a
    -- user without preferences: auth.users ids are random v4 uuids, never the nil uuid).
    select
        coalesce(bool_or(e.enabled) filter (where e.channel = 'in_app'), false),
        max(e.digest) filter (where e.channel = 'email' and e.enabled)
    into default_in_app, default_email
    from notify.effective(target_brand, array['00000000-0000-0000-0000-000000000000'::uuid], cat.key) as e
    where e.channel in ('in_app', 'email');

    -- The recipients who override it: preferences of this brand for the category or for all
    -- ('*') on in_app or email, and the muted (a partial index: one probe when nobody is).
    -- Usually none, and the statement below then joins nothing.
    select pg_catalog.array_agg(o.user_id) into overridden
    from (
        select p.user_id
        from notify.preferences as p
        where p.brand_id = target_brand and p.category in (cat.key, '*') and p.channel in ('in_app', 'email')
        union
        select us.user_id
        from notify.user_settings as us
        where us.muted and us.user_id = any(user_ids)
    ) as o;

    -- One statement: every recipient's inbox row (the counters, the next seq; the row's
    -- foreign key to brand.members proves the membership, and its lock orders the seqs),
    -- then their notifications.
    with targets as (
        select
            u.user_id,
            coalesce(o.in_app, default_in_app) as in_app,
            case when o.user_id is null then default_email else o.email end as email
        from pg_catalog.unnest(user_ids) as u (user_id)
        left join (
            select
                e.user_id,
                coalesce(bool_or(e.enabled) filter (where e.channel = 'in_app'), false) as in_app,
                max(e.digest) filter (where e.channel = 'email' and e.enabled) as email
            from notify.effective(target_brand, overridden, cat.key) as e
            where e.channel in ('in_app', 'email') and overridden is not null
            group by e.user_id
        ) as o on u.user_id = o.user_id
    ),
    -- The counters, once per recipient: a plain UPDATE of the inbox rows that exist (HOT:
    -- no indexed column changes), and an upsert only for the recipients who have none yet.
    bumped as (
        update notify.inboxes as i
        set seq = i.seq + 1,
            unread = i.unread + t.in_app::integer,
            unseen = i.unseen + t.in_app::integer,
            by_category = case
                when not t.in_app then i.by_category
                else i.by_category || pg_catalog.jsonb_build_object(cat.key, pg_catalog.jsonb_build_array(
                    coalesce((i.by_category -> cat.key ->> 0)::integer, 0) + 1,
                    coalesce((i.by_category -> cat.key ->> 1)::integer, 0) + 1
                ))
            end,
            updated_at = brandbase.now()
        from targets as t
        where i.brand_id = target_brand and i.user_id = t.user_id and (t.in_app or t.email is not null)
        returning i.user_id, i.seq
    ),
    created as (
        insert into notify.inboxes as i (brand_id, user_id, seq, unread, unseen, by_category)
        select
            target_brand,
            t.user_id,
            1,
            t.in_app::integer,
            t.in_app::integer,
            case when t.in_app then pg_catalog.jsonb_build_object(cat.key, '[1, 1]'::jsonb) else '{}'::jsonb end
        from targets as t
        where (t.in_app or t.email is not null) and not exists (select from bumped as b where b.user_id = t.user_id)
        -- created by a concurrent send since this statement's snapshot: count on it
        on conflict on constraint inboxes_pkey do update
        set seq = i.seq + 1,
            unread = i.unread + excluded.unread,
            unseen = i.unseen + excluded.unseen,
            by_category = case
                when excluded.unread = 0 then i.by_category
                else i.by_category || pg_catalog.jsonb_build_object(cat.key, pg_catalog.jsonb_build_array(
                    coalesce((i.by_category -> cat.key ->> 0)::integer, 0) + 1,
                    coalesce((i.by_category -> cat.key ->> 1)::integer, 0) + 1
                ))
            end,
            updated_at = brandbase.now()
        returning i.user_id, i.seq
    ),
    counted as (
        select b.user_id, b.seq from bumped as b
        union all
        select c.user_id, c.seq from created as c
    ),
    written as (
        insert into notify.notifications (
            brand_id, user_id, seq, category, title, body, data, action_url, actor_id, in_app, email, created_at
        )
        select
            target_brand, c.user_id, c.seq, cat.key, title, body, data, action_url, actor_id,
            case when overridden is null then default_in_app else t.in_app end,
            case when overridden is null then default_email else t.email end,
            brandbase.now()
        from counted as c
        left join targets as t on overridden is not null and c.user_id = t.user_id
        returning id, user_id, in_app
    ),
    -- Listeners (brandbase realtime, an app's LISTEN) learn the id on the user's channel,
    -- nothing else (in the statement: no second pass over the rows).
    announced as (
        select
            w.id,
            w.user_id,
            case when w.in_app then pg_catalog.pg_notify(notify.channel_of(w.user_id), w.id::text) end as n
        from written as w
    )
    select pg_catalog.array_agg(a.id), pg_catalog.array_agg(a.user_id), pg_catalog.count(a.n)
    into new_ids, new_users, sent
    from announced as a;

    sent := coalesce(pg_catalog.cardinality(new_ids), 0);
    if sent = 0 then
        return 0;
    end if;

    -- Supabase Realtime: a broadcast on the recipient's private topic.
    if exists (
        select
        from pg_catalog.pg_proc as p
        inner join pg_catalog.pg_namespace as ns on p.pronamespace = ns.oid
        where ns.nspname = 'realtime' and p.proname = 'send'
            and pg_catalog.has_schema_privilege(ns.oid, 'usage')
            and pg_catalog.has_function_privilege(p.oid, 'execute')
    ) then
        execute $sql$
            select realtime.send(
                pg_catalog.jsonb_build_object(
                    'id', n.id, 'brand_id', n.brand_id, 'category', n.category, 'title', n.title,
                    'body', n.body, 'data', n.data, 'action_url', n.action_url, 'created_at', n.created_at
                ),
                'notification',
                'notify:' || n.user_id::text,
                true
            )
            from notify.notifications as n
            where n.brand_id = $1 and n.id = any($2) and n.in_app
        $sql$ using target_brand, new_ids;
    end if;

    -- App channels: one job per recipient for whom the channel is on.
    for app_channel in
        select c.name, c.queue from notify.channels as c where c.queue is not null
    loop
        perform jobs.enqueue_many(app_channel.queue, j.payloads, target_brand)
        from (
            select pg_catalog.json_agg(pg_catalog.json_build_object(
                'notification_id', n.id, 'user_id', n.user_id, 'category', cat.key,
                'title', title, 'body', body, 'data', data, 'action_url', action_url
            )) as payloads
            from unnest(new_ids, new_users) as n (id, user_id)
            inner join notify.effective(target_brand, new_users, cat.key) as e
                on n.user_id = e.user_id and e.channel = app_channel.name and e.enabled
        ) as j
        where j.payloads is not null;
    end loop;

    perform webhooks.emit(target_brand, 'notify.sent', pg_catalog.jsonb_build_object(
        'category', cat.key, 'recipients', sent, 'first_id', new_ids[1]
    ));
    return sent;
end
$$;

comment on function notify._fan_out(uuid, uuid[], notify.pack_categories, text, text, jsonb, text, uuid) is
'Writes one notification per recipient whose preferences let it through, and their inbox '
'counters, in one statement; then pg_notify, realtime.send, app-channel jobs, the webhook. '
'No checks: notify.send and the trigger helper make them.';

create or replace function notify._check_content(title text, body text, data jsonb, action_url text)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    caps notify.settings;
begin
    select s.* into caps from notify.settings as s;
    if title is null or pg_catalog.btrim(title) = '' then
        raise exception 'a notification needs a title'
            using errcode = '22023', hint = 'Give a short, non-empty title.';
    end if;
    perform notify._check_text(title, caps.title_max, 'title');
    perform notify._check_text(body, caps.body_max, 'body');
    if data is null or pg_catalog.jsonb_typeof(data) <> 'object' then
        raise exception 'notification data must be a JSON object'
            using errcode = '22023', hint = 'Send an object, ''{}'' when there is nothing.';
    end if;
    if pg_catalog.octet_length(data::text) > caps.data_max_bytes then
        raise exception 'notification data is too large (% bytes; at most %)',
            pg_catalog.octet_length(data::text), caps.data_max_bytes
            using errcode = '22001', hint = 'Send ids and let the app load the rest.';
    end if;
    perform notify._check_text(action_url, 2000, 'action_url');
    if action_url is not null and action_url !~ '^(https?://[^[:space:]]+|/[^[:space:]]*)$' then
        raise exception 'invalid action_url'
            using errcode = '22023', hint = 'An http(s) URL or a path starting with /.';
    end if;
end
$$;

comment on function notify._check_content(text, text, jsonb, text) is
'Raises 22023/22001 for a missing or oversized title, body, data or action URL.';

-- Recipients: "uuid", ["uuid", …] or {"permission": "content.write"}; all must be members.
create or replace function notify._recipients(target_brand uuid, recipients jsonb)
returns uuid[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    list_max integer := (select s.list_max from notify.settings as s);
    ids uuid[];
    outsider uuid;
    perm text;
begin
    if recipients is null then
        raise exception 'no recipients'
            using errcode = '22023',
                  hint = 'Recipients: a user id, an array of user ids, or {"permission": "<permission>"}.';
    end if;
    if pg_catalog.octet_length(recipients::text) > list_max * 40 + 100 then
        raise exception 'too many recipients (at most %)', list_max
            using errcode = '22001', hint = 'Send to {"permission": …} for large audiences, or in batches.';
    end if;
    if pg_catalog.jsonb_typeof(recipients) = 'object' and recipients ? 'permission' then
        perm := recipients ->> 'permission';
        perform notify._check_text(perm, 100, 'permission');
        perform brand.assert_permission(perm);
        select array_agg(m.user_id) into ids
        from brand.members as m
        inner join brand.tier_permissions as tp on m.tier = tp.tier and tp.permission = perm
        where m.brand_id = target_brand;
        return coalesce(ids, '{}');
    end if;
    if pg_catalog.jsonb_typeof(recipients) = 'string' then
        recipients := pg_catalog.jsonb_build_array(recipients);
    end if;
    if pg_catalog.jsonb_typeof(recipients) <> 'array' or exists (
        select from pg_catalog.jsonb_array_elements(recipients) as r (v)
        where pg_catalog.jsonb_typeof(r.v) <> 'string'
            or (r.v #>> '{}') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
    ) then
        raise exception 'invalid recipients'
            using errcode = '22023',
                  hint = 'Recipients: a user id, an array of user ids, or {"permission": "<permission>"}.';
    end if;
    if pg_catalog.jsonb_array_length(recipients) > list_max then
        raise exception 'too many recipients (% > %)', pg_catalog.jsonb_array_length(recipients), list_max
            using errcode = '22001', hint = 'Send to {"permission": …} for large audiences, or in batches.';
    end if;
    select array_agg(distinct (r.v #>> '{}')::uuid) into ids
    from pg_catalog.jsonb_array_elements(recipients) as r (v);
    select u.id into outsider
    from pg_catalog.unnest(ids) as u (id)
    where not exists (select from brand.members as m where m.brand_id = target_brand and m.user_id = u.id)
    limit 1;
    if outsider is not null then
        raise exception 'recipient % not found among the members of brand %', outsider, target_brand
            using errcode = 'PT404', hint = 'Notifications go to members of the brand only.';
    end if;
    return coalesce(ids, '{}');
end
$$;

comment on function notify._recipients(uuid, jsonb) is
'The recipients'' user ids: one, a list (all members of the brand, else PT404), or every member '
'whose tier holds a permission.';

create or replace function notify.send(
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
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cat notify.pack_categories;
    ids uuid[];
    sent integer;
begin
    perform brand.require_permission(brand_id, 'notifications.send');
    perform notify._check_content(title, body, data, action_url);
    perform notify._check_text(idempotency_key, 200, 'idempotency_key');
    cat := notify._category(brand_id, category);
    ids := notify._recipients(brand_id, recipients);
    if idempotency_key is not null then
        insert into notify.sends as s (brand_id, idempotency_key, recipients)
        values (send.brand_id, send.idempotency_key, pg_catalog.cardinality(ids))
        on conflict on constraint sends_pkey do nothing;
        if not found then
            return 0;  -- sent before: a retried transaction notifies nobody twice
        end if;
    end if;
    sent := notify._fan_out(brand_id, ids, cat, title, body, data, action_url, brand.caller_id());
    return sent;
end
$$;

comment on function notify.send(uuid, jsonb, text, text, text, jsonb, text, text) is
'Sends a notification of a category to recipients ("user id", [ids], or {"permission": p}) '
'in the brand (notifications.send), in the caller''s transaction. Returns how many were '
'written (0 when the idempotency key was used before). Preferences decide each recipient''s '
'channels.';

-- ---------------------------------------------------------------------------------------
-- Trigger helper: a notification per inserted row, declared once per table.

create or replace function notify._render(template text, row_data jsonb)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    field text;
    rendered text := template;
begin
    if template is null then
        return null;
    end if;
    for field in
        select distinct m.match[1] from pg_catalog.regexp_matches(template, '\{([a-z_][a-z0-9_]*)\}', 'g') as m (match)
    loop
        rendered := pg_catalog.replace(rendered, '{' || field || '}', coalesce(row_data ->> field, ''));
    end loop;
    return rendered;
end
$$;

comment on function notify._render(text, jsonb) is
'Replaces each {column} in the template with the row''s value (plain text, no expressions).';

create or replace function notify.tg_on_insert()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    category_key text := tg_argv[0];
    recipient_column text := nullif(tg_argv[1], '');
    perm text := nullif(tg_argv[2], '');
    title_template text := tg_argv[3];
    body_template text := nullif(tg_argv[4], '');
    url_template text := nullif(tg_argv[5], '');
    title_max integer := (select s.title_max from notify.settings as s);
    inserted record;
    cat notify.pack_categories;
    ids uuid[];
begin
    for inserted in execute 'select n.brand_id, to_jsonb(n) as row_data from notify_new as n' loop
        cat := notify._category(inserted.brand_id, category_key);
        if recipient_column is not null then
            select array_agg(m.user_id) into ids
            from brand.members as m
            where m.brand_id = inserted.brand_id
                and m.user_id::text = inserted.row_data ->> recipient_column
                and m.user_id is distinct from brand.caller_id();
        else
            select array_agg(m.user_id) into ids
            from brand.members as m
            inner join brand.tier_permissions as tp on m.tier = tp.tier and tp.permission = perm
            where m.brand_id = inserted.brand_id and m.user_id is distinct from brand.caller_id();
        end if;
        if ids is not null then
            perform notify._fan_out(
                inserted.brand_id, ids, cat,
                pg_catalog.left(notify._render(title_template, inserted.row_data), title_max),
                notify._render(body_template, inserted.row_data),
                '{}'::jsonb || pg_catalog.jsonb_build_object('table', tg_table_schema || '.' || tg_table_name),
                notify._render(url_template, inserted.row_data),
                brand.caller_id()
            );
        end if;
    end loop;
    return null;
end
$$;

comment on function notify.tg_on_insert() is
'Statement trigger behind notify.on_insert: one send per inserted row (the author is not '
'notified of their own row; recipients who are not members are skipped).';

create or replace function notify.on_insert(
    target regclass,
    category text,
    title text,
    recipient_column name default null,
    permission text default null,
    body text default null,
    action_url text default null
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    trigger_name text := 'notify_on_insert_' || pg_catalog.left(pg_catalog.md5(category), 8);
begin
    perform notify._check_key(category, 'category');
    if (recipient_column is null) = (permission is null) then
        raise exception 'name either a recipient column or a permission'
            using errcode = '22023',
                  hint = 'recipient_column => ''assignee_id'' (a user id column) or permission => ''content.write''.';
    end if;
    if permission is not null then
        perform brand.assert_permission(permission);
    end if;
    if not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = 'brand_id' and not a.attisdropped
    ) or (recipient_column is not null and not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = recipient_column and not a.attisdropped
    )) then
        raise exception 'table % lacks brand_id or %', target, coalesce(recipient_column, 'brand_id')
            using errcode = '42703', hint = 'The table needs a brand_id column and the recipient column.';
    end if;
    execute pg_catalog.format('drop trigger if exists %I on %s', trigger_name, target);
    execute pg_catalog.format(
        'create trigger %I after insert on %s referencing new table as notify_new '
        'for each statement execute function notify.tg_on_insert(%L, %L, %L, %L, %L, %L)',
        trigger_name, target, category, coalesce(recipient_column, ''), coalesce(permission, ''),
        title, coalesce(body, ''), coalesce(action_url, '')
    );
end
$$;

comment on function notify.on_insert(regclass, text, text, name, text, text, text) is
'Declares that every row inserted into the table notifies: the user in recipient_column, or '
'the members holding permission. title, body and action_url may name the row''s columns as '
'{column}. Idempotent per table and category.';

-- A member's notifications go with the member: brand.members -> notify.inboxes cascades,
-- and the inbox row takes its notifications along (notifications check no foreign key per
-- row: the fan-out writes the inbox row, whose foreign key proves the membership).
create or replace function notify.tg_inboxes__delete_notifications()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from notify.notifications as n
    using notify_gone as g
    where n.user_id = g.user_id and n.brand_id = g.brand_id;
    return null;
end
$$;

comment on function notify.tg_inboxes__delete_notifications() is
'Statement trigger: deleting inbox rows (a member leaving, a user or brand deleted) deletes '
'their notifications.';

drop trigger if exists inboxes_delete_notifications on notify.inboxes;
create trigger inboxes_delete_notifications
after delete on notify.inboxes
referencing old table as notify_gone
for each statement execute function notify.tg_inboxes__delete_notifications();

revoke all on function
notify.channel_of(uuid),
notify.tg_inboxes__delete_notifications(),
notify._merge_counts(jsonb, jsonb),
notify._fan_out(uuid, uuid[], notify.pack_categories, text, text, jsonb, text, uuid),
notify._check_content(text, text, jsonb, text),
notify._recipients(uuid, jsonb),
notify.send(uuid, jsonb, text, text, text, jsonb, text, text),
notify._render(text, jsonb),
notify.tg_on_insert(),
notify.on_insert(regclass, text, text, name, text, text, text)
from public;

grant execute on function notify.send(uuid, jsonb, text, text, text, jsonb, text, text)
to authenticated, service_role;
grant execute on function notify.channel_of(uuid) to authenticated, service_role;
grant execute on function notify.on_insert(regclass, text, text, name, text, text, text) to service_role;
