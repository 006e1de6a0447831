-- notify: a user sees only their own notifications of brands they belong to, both ways,
-- through the views, the functions and the counts; marks of other users' ids change nothing.
begin;
select plan(15);
select tests.seed_two_brands();

select tests.authenticate_as(tests.uid('owner@acme'));
select
    '# '
    || coalesce(
        (
            api.send_notification(
                tests.brand('acme'), '{"permission": "notifications.read"}', 'system', 'acme news'
            )
        )::text,
        ''
    );
select tests.authenticate_as(tests.uid('owner@bolt'));
select
    '# '
    || coalesce(
        (
            api.send_notification(
                tests.brand('bolt'), '{"permission": "notifications.read"}', 'system', 'bolt news'
            )
        )::text,
        ''
    );
select tests.clear_authentication();

select tests.authenticate_as(tests.uid('viewer@acme'));
select is((select count(*)::integer from api.notifications), 1, 'acme''s viewer sees one notification');
select is((select title from api.notifications), 'acme news', 'their own, of acme');
select is((select count(*)::integer from notify.notifications), 1, 'the table answers the same under RLS');
select is((select count(*)::integer from api.notification_counts), 1, 'one counter row: acme''s');
select is(api.unread_counts(tests.brand('bolt')) ->> 'unread', '0', 'bolt''s counts read as zero');
select
    is(
        (select count(*)::integer from api.list_notifications(tests.brand('bolt'))),
        0,
        'bolt''s list is empty'
    );
select throws_ok(
    format('select api.mark_notifications(%L, null, ''read'')', tests.brand('bolt')), '42501', null,
    'marking in bolt is refused'
);
select throws_ok(
    format(
        'select api.send_notification(%L, to_jsonb(%L::uuid), ''system'', ''x'')', tests.brand('bolt'),
        tests.uid('viewer@bolt')
    ), '42501', null, 'sending in bolt is refused'
);
select throws_ok(
    format(
        'select api.send_notification(%L, to_jsonb(%L::uuid), ''system'', ''x'')', tests.brand('acme'),
        tests.uid('viewer@bolt')
    ), '42501', null, 'a viewer may not send at all'
);

-- another member's notification ids in the same brand change nothing
select '# ' || set_config('tests.all_ids', (select array_agg(id)::text from notify.notifications), true);
select tests.authenticate_as(tests.uid('member@acme'));
select throws_ok(
    format(
        'select api.mark_notifications(%L, %L, ''read'')', tests.brand('acme'),
        current_setting('tests.all_ids')
    ),
    'PT404', null, 'another member''s ids are not found'
);
select is(
    api.mark_notifications(tests.brand('acme'), null, 'read'), 1, 'mark-all touches only their own row'
);
select tests.clear_authentication();
select is(
    (
        select count(*)::integer from notify.notifications
        where read_at is not null
    ), 1,
    'nobody else''s notification was marked'
);

select tests.authenticate_as(tests.uid('viewer@bolt'));
select is((select count(*)::integer from api.notifications), 1, 'bolt''s viewer sees one');
select is((select title from api.notifications), 'bolt news', 'bolt''s, not acme''s');
select is(api.unread_counts(tests.brand('acme')) ->> 'unread', '0', 'and counts nothing of acme''s');

select * from finish();
rollback;
