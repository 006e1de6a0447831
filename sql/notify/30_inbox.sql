-- notify: the inbox. Reads go through RLS (a user sees only their own notifications of
-- brands where they hold notifications.read); changes go through notify.mark and
-- notify.remove, which touch only the caller's own rows and keep the inbox counters in
-- the same statement: the counters are never recounted.

create or replace function notify._check_ids(ids bigint[])
returns bigint[]
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if ids is not null and pg_catalog.cardinality(ids) > 10000 then
        raise exception 'too many notification ids (% > 10000)', pg_catalog.cardinality(ids)
            using errcode = '22001', hint = 'Pass at most 10000 ids, or null for all.';
    end if;
    return ids;
end
$$;

comment on function notify._check_ids(bigint[]) is 'Raises 22001 for more than 10000 ids.';

create or replace function notify.mark(brand_id uuid, ids bigint[], state text)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
    at_time timestamptz := brandbase.now();
    changed integer;
    missing bigint;
begin
    perform brand.require_permission(brand_id, 'notifications.read');
    perform notify._check_ids(ids);
    perform notify._check_text(state, 20, 'state');
    if state is null or state not in ('read', 'unread', 'seen', 'archived', 'unarchived') then
        raise exception 'invalid notification state: %', coalesce(state, 'null')
            using errcode = '22023', hint = 'One of read, unread, seen, archived, unarchived.';
    end if;
    if ids is not null then
        select u.id into missing
        from pg_catalog.unnest(ids) as u (id)
        where not exists (
            select from notify.notifications as n
            where n.brand_id = mark.brand_id and n.id = u.id and n.user_id = uid and n.in_app
        )
        limit 1;
        if found then
            raise exception 'notification % not found', missing
                using errcode = 'PT404', hint = 'Only your own notifications (api.notifications) can be marked.';
        end if;
    end if;
    -- The inbox row's lock first: every change of the counters (marks, removals, sends)
    -- takes it, so two marks of one inbox run one after the other and the second reads
    -- what the first committed (a fresh snapshot per statement): nothing counts twice. The
    -- UPDATE's own row locks then suffice: no locking pass over the notifications.
    perform from notify.inboxes as i where i.brand_id = mark.brand_id and i.user_id = uid for update;
    with target as materialized (
        select
            n.ctid as row_id,
            n.brand_id,
            n.id,
            n.category,
            (n.in_app and n.read_at is null and n.archived_at is null)::integer as was_unread,
            (n.in_app and n.seen_at is null and n.archived_at is null)::integer as was_unseen
        from notify.notifications as n
        where n.user_id = uid and n.brand_id = mark.brand_id and (ids is null or n.id = any(ids))
            and case state
                when 'read' then n.read_at is null
                when 'unread' then n.read_at is not null
                when 'seen' then n.seen_at is null
                when 'archived' then n.archived_at is null
                else n.archived_at is not null
            end
    ),
    changed_rows as (
        update notify.notifications as n
        set read_at = case state when 'read' then at_time when 'unread' then null else n.read_at end,
            seen_at = case when state in ('read', 'seen') then coalesce(n.seen_at, at_time) else n.seen_at end,
            archived_at = case state when 'archived' then at_time when 'unarchived' then null else n.archived_at end
        from target as t
        where n.ctid = t.row_id
        returning
            t.category,
            (n.in_app and n.read_at is null and n.archived_at is null)::integer - t.was_unread as d_unread,
            (n.in_app and n.seen_at is null and n.archived_at is null)::integer - t.was_unseen as d_unseen
    ),
    deltas as (
        select c.category, sum(c.d_unread)::integer as d_unread, sum(c.d_unseen)::integer as d_unseen, count(*) as n
        from changed_rows as c
        group by c.category
    ),
    counters as (
        update notify.inboxes as i
        set unread = i.unread + (select sum(d.d_unread) from deltas as d),
            unseen = i.unseen + (select sum(d.d_unseen) from deltas as d),
            by_category = notify._merge_counts(i.by_category, (
                select pg_catalog.jsonb_object_agg(d.category, pg_catalog.jsonb_build_array(d.d_unread, d.d_unseen))
                from deltas as d
            )),
            updated_at = at_time
        where i.brand_id = mark.brand_id and i.user_id = uid and exists (select from deltas)
        returning 1
    )
    select coalesce(sum(d.n), 0)::integer into changed
    from deltas as d
    left join (select count(*) as k from counters) as c on true;
    if changed > 0 then
        perform pg_catalog.pg_notify(notify.channel_of(uid), 'counts');
    end if;
    return changed;
end
$$;

comment on function notify.mark(uuid, bigint[], text) is
'Marks the caller''s notifications in a brand read, unread, seen, archived or unarchived: the '
'ids given (one or many) or, with null, all of them. Returns how many changed; keeps the '
'counters in the same statement. An id that is not one of the caller''s: PT404, nothing changed.';

create or replace function notify.remove(brand_id uuid, ids bigint[])
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    uid uuid := brand.require_caller();
    changed integer;
    missing bigint;
begin
    perform brand.require_permission(brand_id, 'notifications.read');
    if ids is null then
        raise exception 'name the notifications to delete'
            using errcode = '22023', hint = 'Pass their ids; archive (api.mark_notifications) to clear the inbox.';
    end if;
    perform notify._check_ids(ids);
    select u.id into missing
    from pg_catalog.unnest(ids) as u (id)
    where not exists (
        select from notify.notifications as n
        where n.brand_id = remove.brand_id and n.id = u.id and n.user_id = uid
    )
    limit 1;
    if found then
        raise exception 'notification % not found', missing
            using errcode = 'PT404', hint = 'Only your own notifications (api.notifications) can be deleted.';
    end if;
    perform from notify.inboxes as i where i.brand_id = remove.brand_id and i.user_id = uid for update;
    with gone as (
        delete from notify.notifications as n
        where n.user_id = uid and n.brand_id = remove.brand_id and n.id = any(ids)
        returning
            n.category,
            (n.in_app and n.read_at is null and n.archived_at is null)::integer as was_unread,
            (n.in_app and n.seen_at is null and n.archived_at is null)::integer as was_unseen
    ),
    deltas as (
        select g.category, -sum(g.was_unread)::integer as d_unread, -sum(g.was_unseen)::integer as d_unseen,
            count(*) as n
        from gone as g
        group by g.category
    ),
    counters as (
        update notify.inboxes as i
        set unread = i.unread + (select sum(d.d_unread) from deltas as d),
            unseen = i.unseen + (select sum(d.d_unseen) from deltas as d),
            by_category = notify._merge_counts(i.by_category, (
                select pg_catalog.jsonb_object_agg(d.category, pg_catalog.jsonb_build_array(d.d_unread, d.d_unseen))
                from deltas as d
            )),
            updated_at = brandbase.now()
        where i.brand_id = remove.brand_id and i.user_id = uid and exists (select from deltas)
        returning 1
    )
    select coalesce(sum(d.n), 0)::integer into changed
    from deltas as d
    left join (select count(*) as k from counters) as c on true;
    if changed > 0 then
        perform pg_catalog.pg_notify(notify.channel_of(uid), 'counts');
    end if;
    return changed;
end
$$;

comment on function notify.remove(uuid, bigint[]) is
'Deletes the caller''s notifications of these ids in the brand; returns how many. Counters follow.';

-- Retention: read and archived notifications older than the brand's policy (default 90 /
-- 30 days). Read and archived ones count in no counter, so none changes.
create or replace function notify.prune(batch integer default 10000)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    deleted integer;
begin
    with doomed as (
        select n.brand_id, n.id
        from notify.notifications as n
        left join notify.brand_settings as s on n.brand_id = s.brand_id
        where n.created_at < brandbase.now() - (
            select least(interval '30 days', min(b.keep_read), min(b.keep_archived)) from notify.brand_settings as b
        )
            and (
                (n.archived_at is not null
                    and n.archived_at < brandbase.now() - coalesce(s.keep_archived, interval '30 days'))
                or (n.read_at is not null
                    and n.read_at < brandbase.now() - coalesce(s.keep_read, interval '90 days'))
            )
        limit batch
    )
    delete from notify.notifications as n
    using doomed as d
    where n.brand_id = d.brand_id and n.id = d.id
        and (n.read_at is not null or n.archived_at is not null)
        and (n.email is null or n.email_id is not null);
    get diagnostics deleted = row_count;
    return deleted;
end
$$;

comment on function notify.prune(integer) is
'Deletes up to batch read or archived notifications past their brand''s retention (read: '
'keep_read, archived: keep_archived). Hourly via brand.schedule.';

create or replace function notify.set_retention(brand_id uuid, keep_read interval, keep_archived interval)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'notifications.manage');
    if keep_read is null or keep_archived is null or keep_read <= interval '0' or keep_archived <= interval '0'
        or keep_read > interval '10 years' or keep_archived > interval '10 years' then
        raise exception 'retention must be between a second and ten years'
            using errcode = '22023', hint = 'For example keep_read => ''90 days'', keep_archived => ''30 days''.';
    end if;
    insert into notify.brand_settings as s (brand_id, keep_read, keep_archived)
    values (set_retention.brand_id, set_retention.keep_read, set_retention.keep_archived)
    on conflict on constraint brand_settings_pkey do update
    set keep_read = excluded.keep_read, keep_archived = excluded.keep_archived;
end
$$;

comment on function notify.set_retention(uuid, interval, interval) is
'How long the brand keeps read and archived notifications (notifications.manage).';

revoke all on function
notify._check_ids(bigint[]),
notify.mark(uuid, bigint[], text),
notify.remove(uuid, bigint[]),
notify.prune(integer),
notify.set_retention(uuid, interval, interval)
from public;
grant execute on function
notify.mark(uuid, bigint[], text),
notify.remove(uuid, bigint[]),
notify.set_retention(uuid, interval, interval)
to authenticated, service_role;
grant execute on function notify.prune(integer) to service_role;
