-- notify: email. notify.gather_due() turns pending notifications into outbox rows (one
-- email per notification whose digest is off, one digest per user, brand and frequency
-- once the oldest pending item has waited a full period) and enqueues one job per email
-- in queue notify_email; brandbase's Python handler (brandbase.notify_email) renders it
-- and hands it to the provider. A notification is claimed by exactly one email
-- (email_id is set under its row lock), so no digest holds it twice. Users inside their
-- quiet hours are skipped until the hours end (critical notifications are not).

create or replace function notify.period_of(frequency text)
returns interval
language sql
immutable
as $$
    select case frequency
        when 'hourly' then interval '1 hour'
        when 'daily' then interval '1 day'
        when 'weekly' then interval '7 days'
        else interval '0'
    end
$$;

comment on function notify.period_of(text) is 'How long a digest of this frequency gathers.';

create or replace function notify.gather_due(at_time timestamptz default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    gathered integer;
    now_at timestamptz := coalesce(at_time, brandbase.now());
begin
    -- One gather at a time (a transaction lock; a concurrent call returns 0: the running one
    -- takes everything due). The next one reads what this one claimed (a fresh snapshot per
    -- statement), so no notification is claimed twice, without locking every pending row
    -- (locks are written to every row's page and to the WAL: 200,000 of them for a digest of
    -- 10,000 users) before the claiming UPDATE writes them again.
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('brandbase notify.gather_due')) then
        return 0;
    end if;
    with pending as (
        -- critical as notify.brand_categories() says (the brand's own category wins), as joins
        select n.brand_id, n.id, n.user_id, n.email, n.created_at,
            coalesce(bc.critical, pc.critical, false) as critical
        from notify.notifications as n
        left join notify.categories as bc on n.brand_id = bc.brand_id and n.category = bc.key
        left join notify.pack_categories as pc on n.category = pc.key
        where n.email is not null and n.email_id is null and n.created_at <= now_at
    ),
    groups as (
        -- digests: every pending item of (brand, user, frequency) once the oldest waited a period
        select p.brand_id, p.user_id, p.email as frequency, array_agg(p.id order by p.id) as ids,
            bool_or(p.critical) as critical
        from pending as p
        where p.email <> 'off'
        group by p.brand_id, p.user_id, p.email
        having min(p.created_at) <= now_at - notify.period_of(p.email)
        union all
        -- single emails: at once
        select p.brand_id, p.user_id, 'off', array[p.id], coalesce(p.critical, false)
        from pending as p
        where p.email = 'off'
    ),
    due as (
        select g.brand_id, g.user_id, g.frequency, g.ids, u.email as to_address
        from groups as g
        inner join auth.users as u on g.user_id = u.id
        where u.email is not null
            and (g.critical or notify.quiet_until(g.user_id, now_at) is null)
    ),
    written as (
        insert into notify.emails (
            brand_id, user_id, kind, frequency, to_address, notification_ids, idempotency_key, created_at
        )
        select
            d.brand_id, d.user_id, case when d.frequency = 'off' then 'single' else 'digest' end, d.frequency,
            d.to_address, d.ids, pg_catalog.gen_random_uuid()::text, now_at
        from due as d
        returning brand_id, id, notification_ids
    ),
    claimed as (
        update notify.notifications as n
        set email_id = c.email_id
        from (
            select w.brand_id, w.id as email_id, pg_catalog.unnest(w.notification_ids) as notification_id
            from written as w
        ) as c
        where n.brand_id = c.brand_id and n.id = c.notification_id
        returning n.id
    ),
    -- one job per batch of up to 50 emails of a brand: a worker claims, records and settles
    -- a batch in a few round trips, and sends its emails over several SMTP connections
    batches as (
        select b.brand_id, pg_catalog.array_agg(b.id order by b.id) as email_ids
        from (
            select w.brand_id, w.id, (pg_catalog.row_number() over (partition by w.brand_id order by w.id) - 1) / 50
                as batch
            from written as w
        ) as b
        group by b.brand_id, b.batch
    ),
    per_brand as (
        select
            b.brand_id,
            pg_catalog.json_agg(pg_catalog.json_build_object('email_ids', b.email_ids) order by b.email_ids[1])
                as payloads,
            sum(pg_catalog.cardinality(b.email_ids)) as n
        from batches as b
        group by b.brand_id
    )
    select coalesce(sum(pb.n), 0)::integer into gathered
    from per_brand as pb
    cross join lateral (
        select count(*) as k from jobs.enqueue_many('notify_email', pb.payloads, pb.brand_id)
    ) as j;
    return gathered;
end
$$;

comment on function notify.gather_due(timestamptz) is
'Creates the emails that are due (single ones at once, digests once their oldest item waited a '
'period; quiet hours respected) and enqueues them in notify_email jobs of up to 50 emails '
'({"email_ids": [...]}; a job of one {"email_id": id} is handled too). Returns the number of '
'emails. Scheduled every minute; safe to run concurrently (one at a time: a concurrent call '
'returns 0).';

-- The unsubscribe token: brand, user, category (or *), signed with the pack's secret.
create or replace function notify.unsubscribe_token(brand_id uuid, user_id uuid, category text)
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select p.payload || '.' || pg_catalog.encode(
        extensions.hmac(p.payload, s.unsubscribe_secret::text, 'sha256'), 'hex'
    )
    from notify.settings as s
    cross join lateral (
        select pg_catalog.translate(pg_catalog.encode(pg_catalog.convert_to(
            brand_id::text || ' ' || user_id::text || ' ' || category, 'UTF8'
        ), 'base64'), E'+/=\n', '-_') as payload
    ) as p
$$;

comment on function notify.unsubscribe_token(uuid, uuid, text) is
'A signed token for an unsubscribe link: following it switches email off for the category '
'(or ''*'': all) of this user in this brand.';

create or replace function notify.unsubscribe(token text)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    parts text[];
    fields text[];
    padded text;
    target_brand uuid;
    target_user uuid;
    target_category text;
begin
    perform brand.claims();  -- malformed claims are refused as everywhere (28000)
    perform notify._check_text(token, 1000, 'token');
    parts := pg_catalog.string_to_array(coalesce(token, ''), '.');
    if pg_catalog.cardinality(parts) = 2 and parts[1] ~ '^[A-Za-z0-9_-]+$' then
        padded := pg_catalog.translate(parts[1], '-_', '+/');
        padded := padded || pg_catalog.repeat('=', (4 - pg_catalog.length(padded) % 4) % 4);
        begin
            fields := pg_catalog.string_to_array(
                pg_catalog.convert_from(pg_catalog.decode(padded, 'base64'), 'UTF8'), ' '
            );
        exception when data_exception or character_not_in_repertoire then
            fields := null;  -- not base64 of UTF-8 text: a forged or cut token
        end;
    end if;
    if fields is null or pg_catalog.cardinality(fields) <> 3
        or fields[1] !~ '^[0-9a-f-]{36}$' or fields[2] !~ '^[0-9a-f-]{36}$'
        or notify.unsubscribe_token(fields[1]::uuid, fields[2]::uuid, fields[3]) is distinct from token
    then
        raise exception 'invalid unsubscribe token'
            using errcode = '22023', hint = 'Use the link of a recent email; it may have been cut.';
    end if;
    target_brand := fields[1]::uuid;
    target_user := fields[2]::uuid;
    target_category := fields[3];
    if not exists (select from brand.members as m where m.brand_id = target_brand and m.user_id = target_user) then
        return false;  -- no longer a member: nothing to switch off
    end if;
    if target_category <> '*' and (notify._category(target_brand, target_category)).critical then
        return false;
    end if;
    insert into notify.preferences as p (brand_id, user_id, category, channel, enabled)
    values (target_brand, target_user, target_category, 'email', false)
    on conflict on constraint preferences_pkey do update set enabled = false, updated_at = brandbase.now();
    return true;
end
$$;

comment on function notify.unsubscribe(text) is
'Follows an unsubscribe link: switches email off for the token''s category (or all) of its user '
'in its brand. The token is the authority (HMAC-signed); 22023 for a bad one.';

-- What the worker needs to render one email: the outbox row, the recipient's locale, the
-- notifications it carries, the brand's templates and the unsubscribe tokens.
create or replace function notify.email_for_send(brand_id uuid, email_id bigint)
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.jsonb_build_object(
        'id', e.id,
        'brand_id', e.brand_id,
        'brand_name', b.name,
        'user_id', e.user_id,
        'kind', e.kind,
        'frequency', e.frequency,
        'to', e.to_address,
        'status', e.status,
        'idempotency_key', e.idempotency_key,
        'locale', coalesce(us.locale, 'en'),
        'unsubscribe_url', s.unsubscribe_url,
        'unsubscribe_all', notify.unsubscribe_token(e.brand_id, e.user_id, '*'),
        'items', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'id', n.id, 'category', n.category, 'title', n.title, 'body', n.body,
                'action_url', n.action_url, 'created_at', n.created_at, 'data', n.data,
                -- per-category links for single emails; a digest links to "all"
                'unsubscribe', case when e.kind = 'single' then
                    notify.unsubscribe_token(e.brand_id, e.user_id, n.category)
                end
            ) order by n.id)
            from notify.notifications as n
            where n.brand_id = e.brand_id and n.id = any(e.notification_ids)
        ), '[]'::jsonb),
        'templates', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'category', t.category, 'locale', t.locale, 'subject', t.subject,
                'text', t.text_body, 'html', t.html_body
            ))
            from notify.templates as t
            where t.brand_id = e.brand_id
        ), '[]'::jsonb)
    )
    from notify.emails as e
    inner join brand.brands as b on e.brand_id = b.id
    cross join notify.settings as s
    left join notify.user_settings as us on e.user_id = us.user_id
    where e.brand_id = email_for_send.brand_id and e.id = email_for_send.email_id
$$;

comment on function notify.email_for_send(uuid, bigint) is
'Everything the worker renders an email from (the row, items, templates, tokens), as JSON.';

create or replace function notify.email_sending(brand_id uuid, email_id bigint)
returns text
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    update notify.emails as e
    set status = case when e.status = 'sent' then 'sent' else 'sending' end,
        attempts = e.attempts + (e.status <> 'sent')::integer
    where e.brand_id = email_sending.brand_id and e.id = email_sending.email_id
    returning (select o.status from notify.emails as o where o.brand_id = e.brand_id and o.id = e.id)
$$;

comment on function notify.email_sending(uuid, bigint) is
'Records an attempt before it is made (none for an email already sent); returns the status '
'before it (sent: do not send again).';

create or replace function notify.email_accepted(brand_id uuid, email_id bigint, provider_message_id text)
returns boolean
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    update notify.emails as e
    set status = 'sent', accepted_at = brandbase.now(), provider_message_id = email_accepted.provider_message_id,
        last_error = null
    where e.brand_id = email_accepted.brand_id and e.id = email_accepted.email_id and e.status <> 'sent'
    returning true
$$;

comment on function notify.email_accepted(uuid, bigint, text) is
'Records that the provider accepted the email (committed at once, before anything else).';

create or replace function notify.email_failed(brand_id uuid, email_id bigint, error text)
returns void
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    update notify.emails as e
    set status = 'failed', last_error = pg_catalog.left(error, 2000)
    where e.brand_id = email_failed.brand_id and e.id = email_failed.email_id and e.status <> 'sent'
$$;

comment on function notify.email_failed(uuid, bigint, text) is
'Records a failed attempt (the job is retried with backoff by jobs).';

create or replace function notify.email_begin(brand_id uuid, email_id bigint)
returns jsonb
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select notify.email_for_send(brand_id, email_id)
        || pg_catalog.jsonb_build_object('status_before', notify.email_sending(brand_id, email_id))
$$;

create or replace function notify.email_begin_many(brand_id uuid, email_ids bigint[])
returns jsonb
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.jsonb_agg(notify.email_begin(email_begin_many.brand_id, u.id) order by u.id), '[]'::jsonb)
    from pg_catalog.unnest(email_ids) as u (id)
$$;

comment on function notify.email_begin_many(uuid, bigint[]) is
'email_begin for a batch of emails of a brand, in one round trip: their render contexts with '
'status_before (sent: send nothing; null: no such email).';

comment on function notify.email_begin(uuid, bigint) is
'One round trip before an attempt: records it (email_sending) and returns what to render '
'(email_for_send) with status_before; sent means: send nothing.';

create or replace function notify.set_template(
    brand_id uuid, category text, locale text, subject text, text_body text, html_body text
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'notifications.manage');
    if category is distinct from '*' then
        perform notify._category(brand_id, category);
    end if;
    perform notify._check_text(locale, 12, 'locale');
    if locale is null or locale !~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$' then
        raise exception 'invalid locale: %', coalesce(locale, 'null')
            using errcode = '22023', hint = 'A language tag such as en, de or pt-BR.';
    end if;
    perform notify._check_text(subject, 1000, 'subject');
    perform notify._check_text(text_body, 100000, 'text_body');
    perform notify._check_text(html_body, 200000, 'html_body');
    if subject is null or text_body is null or html_body is null then
        raise exception 'a template needs a subject, a text body and an HTML body'
            using errcode = '22023', hint = 'Jinja2 sources; the HTML is autoescaped.';
    end if;
    insert into notify.templates as t (brand_id, category, locale, subject, text_body, html_body)
    values (set_template.brand_id, set_template.category, set_template.locale, set_template.subject,
        set_template.text_body, set_template.html_body)
    on conflict on constraint templates_pkey do update
    set subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body;
end
$$;

comment on function notify.set_template(uuid, text, text, text, text, text) is
'Sets the brand''s email template for a category (or ''*'') and locale (notifications.manage): '
'Jinja2 sources, rendered in a sandbox with autoescape for HTML.';

revoke all on function
notify.period_of(text),
notify.gather_due(timestamptz),
notify.unsubscribe_token(uuid, uuid, text),
notify.unsubscribe(text),
notify.email_for_send(uuid, bigint),
notify.email_sending(uuid, bigint),
notify.email_begin(uuid, bigint),
notify.email_begin_many(uuid, bigint[]),
notify.email_accepted(uuid, bigint, text),
notify.email_failed(uuid, bigint, text),
notify.set_template(uuid, text, text, text, text, text)
from public;
grant execute on function notify.unsubscribe(text) to anon, authenticated, service_role;
grant execute on function notify.set_template(uuid, text, text, text, text, text) to authenticated,
service_role;
grant execute on function
notify.gather_due(timestamptz),
notify.unsubscribe_token(uuid, uuid, text),
notify.email_for_send(uuid, bigint),
notify.email_sending(uuid, bigint),
notify.email_begin(uuid, bigint),
notify.email_begin_many(uuid, bigint[]),
notify.email_accepted(uuid, bigint, text),
notify.email_failed(uuid, bigint, text)
to service_role;
