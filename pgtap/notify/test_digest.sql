-- notify: gathering emails: single ones at once, digests once their oldest item waited a
-- period, never a notification twice, quiet hours in the user's time zone respected.
begin;
select plan(9);
select tests.seed_two_brands();
select tests.freeze_time('2026-03-02 10:00:00+00');
select tests.authenticate_as(tests.uid('admin@acme'));
select
    '# '
    || coalesce(
        (
            api.set_notification_category(
                tests.brand('acme'), 'comments', '', false, '{"in_app": true, "email": true}'
            )
        )::text,
        ''
    );
select tests.authenticate_as(tests.uid('member@acme'));
select '# ' || coalesce((api.set_notification_digest(tests.brand('acme'), 'email', 'daily'))::text, '');
select tests.authenticate_as(tests.uid('editor@acme'));
select '# ' || coalesce((api.send_notification(
    tests.brand('acme'), jsonb_build_array(tests.uid('member@acme'), tests.uid('viewer@acme')),
    'comments', 'c' || i
))::text, '') from generate_series(1, 3) as i;
select tests.clear_authentication();

select is(notify.gather_due('2026-03-02 10:00:01+00'), 3, 'the viewer''s three single emails go at once');
select is(notify.gather_due('2026-03-02 10:00:02+00'), 0, 'and only once');
select is(notify.gather_due('2026-03-02 20:00:00+00'), 0, 'the member''s daily digest waits a day');
select is(notify.gather_due('2026-03-03 10:00:00+00'), 1, 'then one digest');
select is((
    select cardinality(notification_ids) from notify.emails
    where kind = 'digest'
), 3, 'of all three');
select is(
    (
        select count(*)::integer from jobs.job_queue
        where queue = 'notify_email'
    ), 2, 'one job per batch of emails (a gather''s emails of a brand go in batches of up to 50)'
);
select is(
    (
        select array_agg(e.id::bigint order by e.id::bigint) from jobs.job_queue as j
        cross join lateral json_array_elements_text(j.payload -> 'email_ids') as e (id)
        where j.queue = 'notify_email'
    ), (select array_agg(e.id order by e.id) from notify.emails as e), 'every email in exactly one job'
);

-- quiet hours 22:00-07:00 in Tokyo (UTC+9): at 14:00 UTC it is 23:00 there
select tests.authenticate_as(tests.uid('viewer@acme'));
select
    '# '
    || coalesce(
        (
            api.set_notification_settings(
                time_zone => 'Asia/Tokyo', quiet_start => '22:00', quiet_end => '07:00'
            )
        )::text,
        ''
    );
select tests.authenticate_as(tests.uid('editor@acme'));
select
    '# '
    || coalesce(
        (
            api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'comments', 'late')
        )::text,
        ''
    );
select tests.clear_authentication();
select is(notify.gather_due('2026-03-03 14:00:00+00'), 0, 'inside the user''s quiet hours nothing is sent');
select is(notify.gather_due('2026-03-03 22:00:00+00'), 1, 'after them (07:00 in Tokyo) it is');
select * from finish();
rollback;
