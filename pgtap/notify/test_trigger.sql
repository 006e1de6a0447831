-- notify: notify.on_insert declares a notification per inserted row.
begin;
select plan(4);
select tests.seed_two_brands();
select
    '# '
    || coalesce(
        (notify.register_category('assigned', 'Tasks assigned to you', false, '{"in_app": true}'))::text, ''
    );
create table public.tasks (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    assignee_id uuid,
    primary key (brand_id, id)
);
select '# ' || coalesce((notify.on_insert(
    'public.tasks', 'assigned', 'Assigned: {title}', recipient_column => 'assignee_id',
    action_url => '/tasks/{id}'
))::text, '');
select '# ' || coalesce((notify.on_insert(
    'public.tasks', 'assigned', 'Again: {title}', recipient_column => 'assignee_id',
    action_url => '/tasks/{id}'
))::text, '');
insert into public.tasks values
(tests.brand('acme'), 1, 'Write docs', tests.uid('member@acme')),
(tests.brand('acme'), 2, 'Fix bug', tests.uid('viewer@acme')),
(tests.brand('acme'), 3, 'Outsider', tests.uid('viewer@bolt'));
select is((select count(*)::integer from notify.notifications), 2, 'one per row; a non-member is skipped');
select is(
    (
        select title from notify.notifications
        where user_id = tests.uid('member@acme')
    ), 'Again: Write docs',
    'the title names the row''s columns; declaring again replaces the trigger'
);
select is(
    (
        select action_url from notify.notifications
        where user_id = tests.uid('viewer@acme')
    ), '/tasks/2',
    'so does the action URL'
);
select throws_ok(
    $$select notify.on_insert('public.tasks', 'assigned', 'x')$$, '22023', null,
    'a recipient column or a permission is required'
);
select * from finish();
rollback;
