-- notify: the inbox: newest first, keyset pages, filters, marks one/many/all, delete, and
-- counters that follow every change.
begin;
select plan(16);
select tests.seed_two_brands();
select tests.authenticate_as(tests.uid('admin@acme'));
select '# ' || coalesce((api.set_notification_category(tests.brand('acme'), 'comments'))::text, '');
select
    '# ' || coalesce((api.send_notification(
        tests.brand('acme'), to_jsonb(tests.uid('viewer@acme')),
        case when i % 3 = 0 then 'comments' else 'system' end, 'n' || i
    ))::text, '')
from generate_series(1, 25) as i;

select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (select array_agg(title) from api.list_notifications(tests.brand('acme'), page_size => 3)),
    array['n25', 'n24', 'n23'], 'newest first'
);
select is(
    (select array_agg(
        title) from api.list_notifications(
        tests.brand('acme'),
        before_id => (select min(id) from api.list_notifications(tests.brand('acme'), page_size => 3)),
        page_size => 3
    )),
    array['n22', 'n21', 'n20'], 'the next page by keyset'
);
select is(
    (select count(*)::integer from api.list_notifications(tests.brand('acme'), page_size => null)), 20,
    'a null page size is the default (20), not everything'
);
select is(
    (select count(*)::integer from api.list_notifications(tests.brand('acme'), page_size => 100000)), 25,
    'page sizes are clamped (at most 100)'
);
select is(
    (select count(*)::integer from api.list_notifications(tests.brand('acme'), category => 'comments')), 8,
    'filter by category'
);
select is(
    api.unread_counts(tests.brand('acme')),
    jsonb_build_object('unread', 25, 'unseen', 25, 'categories', jsonb_build_object(
        'system', jsonb_build_object('unread', 17, 'unseen', 17),
        'comments', jsonb_build_object('unread', 8, 'unseen', 8)
    )),
    'counts for all categories in one call'
);

select is(api.mark_notifications(
    tests.brand('acme'),
    array[(select max(id) from api.notifications)], 'read'
), 1, 'mark one read');
select is(api.mark_notifications(
    tests.brand('acme'),
    array[(select max(id) from api.notifications)], 'read'
), 0, 'marking it again changes nothing');
select is(api.mark_notifications(tests.brand('acme'), null, 'seen'), 24, 'mark all seen');
select is(api.unread_counts(tests.brand('acme')) -> 'unseen', '0', 'nothing unseen');
select is(api.unread_counts(tests.brand('acme')) -> 'unread', '24', 'but 24 unread');
select is(api.mark_notifications(
    tests.brand('acme'),
    (select array_agg(id) from api.list_notifications(tests.brand('acme'), category => 'comments')),
    'archived'
),
8, 'archive many');
select is(
    (select count(*)::integer from api.list_notifications(tests.brand('acme'), status => 'archived')), 8,
    'the archived filter shows them'
);
select is(
    api.unread_counts(tests.brand('acme')) -> 'categories' -> 'comments', null,
    'archived ones leave the category''s counts'
);
select is(api.delete_notifications(
    tests.brand('acme'),
    (
        select array_agg(id)
        from api.list_notifications(tests.brand('acme'), status => 'unread', page_size => 5)
    )
), 5,
'delete five unread ones');
select is(api.unread_counts(tests.brand('acme')) -> 'unread', '11', 'the unread count follows');

select * from finish();
rollback;
