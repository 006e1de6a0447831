-- notify: send fans out to one user, a list, or the members holding a permission; the
-- effective preference decides who gets what; critical wins; an idempotency key makes a
-- retried send a no-op; the counters equal what is there.
begin;
select plan(18);
select tests.seed_two_brands();

select tests.authenticate_as(tests.uid('editor@acme'));
select is(
    api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'system', 'One'), 1,
    'one user'
);
select is(
    api.send_notification(
        tests.brand(
            'acme'), jsonb_build_array(
            tests.uid('viewer@acme'), tests.uid('member@acme'),
            tests.uid('viewer@acme')
        ),
        'system', 'Two'
    ), 2, 'a list (duplicates counted once)'
);
select is(
    api.send_notification(tests.brand('acme'), '{"permission": "notifications.manage"}', 'system', 'Admins'),
    2,
    'every member holding a permission (admin and owner)'
);
select is(
    api.send_notification(
        tests.brand('acme'), '{"permission": "notifications.read"}', 'system', 'Everyone',
        idempotency_key => 'k1'
    ), 5,
    'with an idempotency key: sent once'
);
select is(
    api.send_notification(
        tests.brand('acme'), '{"permission": "notifications.read"}', 'system', 'Everyone',
        idempotency_key => 'k1'
    ), 0,
    'the same key again: nothing'
);
select tests.clear_authentication();
select is(
    (
        select count(*)::integer from notify.notifications
        where title = 'Everyone'
    ), 5,
    'so each member has it once'
);

-- preferences: the viewer switches system off in the app, on by email; then mutes everything
select tests.authenticate_as(tests.uid('viewer@acme'));
select
    '# '
    || coalesce((api.set_notification_preference(tests.brand('acme'), 'system', 'in_app', false))::text, '');
select
    '# '
    || coalesce((api.set_notification_preference(tests.brand('acme'), 'system', 'email', true))::text, '');
select is(
    (
        select source from api.notification_preferences(tests.brand('acme'))
        where category = 'system' and channel = 'in_app'
    ),
    'user category', 'the settings page shows which layer decided'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select
    '# '
    || coalesce(
        (
            api.send_notification(
                tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'system', 'Mail only'
            )
        )::text,
        ''
    );
select tests.clear_authentication();
select is(
    (
        select (in_app, email) from notify.notifications
        where title = 'Mail only'
    ), (false, 'off'::text
    ),
    'in_app off, email on: a row for the outbox, not in the inbox'
);
select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (
        select count(*)::integer from api.notifications
        where title = 'Mail only'
    ),
    0,
    'the inbox does not show it'
);
select '# ' || coalesce((api.set_notification_settings(muted => true))::text, '');
select tests.authenticate_as(tests.uid('editor@acme'));
select is(
    api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'system', 'Muted'), 0,
    'a muted user gets nothing'
);
select is(
    api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'security', 'Alert'), 1,
    'but a critical category still arrives'
);
select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (select e.code from tests.error_of(format(
        'select api.set_notification_preference(%L, ''security'', ''email'', false)', tests.brand('acme')
    )) as e),
    '23514', 'and cannot be switched off'
);
select is(
    (
        select (enabled, source) from api.notification_preferences(tests.brand('acme'))
        where category = 'security' and channel = 'email'
    ),
    (true, 'critical'::text), 'critical wins over the mute on the settings page'
);

-- brand category with its own defaults; brand channel default; digest
select tests.authenticate_as(tests.uid('admin@acme'));
select '# ' || coalesce((api.set_notification_category(
    tests.brand('acme'), 'comments', 'New comments', false,
    '{"in_app": true, "email": true}'
))::text, '');
select
    '# '
    || coalesce(
        (api.set_notification_channel_default(tests.brand('acme'), 'email', null, 'daily'))::text, ''
    );
select tests.authenticate_as(tests.uid('member@acme'));
select is(
    (
        select (enabled, digest, source) from api.notification_preferences(tests.brand('acme'))
        where category = 'comments' and channel = 'email'
    ),
    (true, 'daily'::text, 'category'::text), 'category default on, the brand''s digest frequency'
);
select '# ' || coalesce((api.set_notification_digest(tests.brand('acme'), 'email', 'weekly'))::text, '');
select is(
    (
        select digest from api.notification_preferences(tests.brand('acme'))
        where category = 'comments' and channel = 'email'
    ),
    'weekly', 'the user''s frequency wins over the brand''s'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select
    '# '
    || coalesce(
        (
            api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('member@acme')), 'comments', 'C1')
        )::text,
        ''
    );
select tests.clear_authentication();
select is(
    (
        select email from notify.notifications
        where title = 'C1'
    ),
    'weekly',
    'the notification waits for the weekly digest'
);

-- the counters equal the rows they count
select is(
    (
        select sum(unread)::integer from notify.inboxes
        where brand_id = tests.brand('acme')
    ),
    (
        select count(*)::integer from notify.notifications
        where brand_id = tests.brand('acme') and in_app and read_at is null and archived_at is null
    ),
    'unread counters equal the unread rows'
);
select is(
    (
        select jsonb_object_agg(user_id, by_category -> 'system' ->> 0) from notify.inboxes
        where brand_id = tests.brand('acme') and by_category ? 'system'
    ),
    (select jsonb_object_agg(user_id, c::text) from (
        select
            user_id,
            count(*) as c
        from notify.notifications
        where brand_id = tests.brand('acme') and in_app and category = 'system' and read_at is null
        group by user_id
    ) as x),
    'per-category counters equal the rows per user'
);

select * from finish();
rollback;
