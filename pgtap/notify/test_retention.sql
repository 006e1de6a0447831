-- notify: retention deletes read and archived notifications past the brand's policy and
-- keeps unread ones and ones an email still has to carry.
begin;
select plan(4);
select tests.seed_two_brands();
select tests.authenticate_as(tests.uid('owner@acme'));
select '# ' || coalesce((api.set_notification_retention(tests.brand('acme'), '7 days', '1 day'))::text, '');
select
    '# '
    || coalesce(
        (
            api.send_notification(tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')), 'system', 'n' || i)
        )::text,
        ''
    )
from generate_series(1, 4) as i;
select tests.clear_authentication();
update notify.notifications set created_at = now() - interval '10 days';
update notify.notifications set read_at = now() - interval '8 days'
where title = 'n1';
update notify.notifications set read_at = now() - interval '2 days'
where title = 'n2';
update notify.notifications set archived_at = now() - interval '2 days'
where title = 'n3';
select is(notify.prune(), 2, 'read past 7 days and archived past 1 day are deleted');
select is(
    (select array_agg(title order by title) from notify.notifications), array['n2', 'n4'],
    'recently read and unread ones stay'
);
select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('select api.set_notification_retention(%L, ''0 days'', ''1 day'')', tests.brand('acme')),
    '22023',
    null,
    'a retention of nothing is refused'
);
select throws_ok(
    format('select api.set_notification_retention(%L, ''1 day'', ''1 day'')', tests.brand('bolt')),
    '42501',
    null,
    'and another brand''s is not ours to set'
);
select * from finish();
rollback;
