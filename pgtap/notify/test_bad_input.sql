-- notify: bad input gets a stable SQLSTATE with a hint, and nothing is half-written.
begin;
select plan(13);
select tests.seed_two_brands();
create function pg_temp.fails(statement text, expected text, description text) returns text
language plpgsql as $$
declare
    e record;
begin
    select * into e from tests.error_of(statement);
    return is(e.code || ' ' || (e.hint is not null)::text, expected || ' true', description);
end $$;
select tests.authenticate_as(tests.uid('editor@acme'));

select pg_temp.fails(format(
    'select api.send_notification(%L, to_jsonb(%L::uuid), ''nope'', ''x'')',
    tests.brand('acme'), tests.uid('viewer@acme')
), '22023', 'unknown category');
select pg_temp.fails(format(
    'select api.send_notification(%L, jsonb_build_array(%L, %L), ''system'', ''x'')',
    tests.brand('acme'), tests.uid('viewer@acme'), tests.uid('viewer@bolt')
), 'PT404',
'a recipient outside the brand (answered as a missing one)');
select pg_temp.fails(format(
    'select api.send_notification(%L, ''["not-a-uuid"]'', ''system'', ''x'')',
    tests.brand('acme')
), '22023', 'a malformed recipient');
select pg_temp.fails(format(
    'select api.send_notification(%L, to_jsonb(%L::uuid), ''system'', repeat(''x'', 201))',
    tests.brand('acme'), tests.uid('viewer@acme')
), '22001', 'a title over the limit');
select pg_temp.fails(format(
    'select api.send_notification(%L, to_jsonb(%L::uuid), ''system'', ''x'', data => ''[1]'')',
    tests.brand('acme'), tests.uid('viewer@acme')
), '22023', 'data that is not an object');
select pg_temp.fails(format(
    'select api.send_notification(%L, to_jsonb(%L::uuid), ''system'', ''x'', '
    'action_url => ''javascript:alert(1)'')',
    tests.brand('acme'), tests.uid('viewer@acme')
), '22023', 'an action URL that is no link');
select pg_temp.fails(format(
    'select api.set_notification_preference(%L, ''system'', ''pigeon'', true)',
    tests.brand('acme')
), '22023', 'an unknown channel');
select pg_temp.fails(format(
    'select api.set_notification_digest(%L, ''email'', ''fortnightly'')',
    tests.brand('acme')
), '22023', 'an invalid digest frequency');
select pg_temp.fails(format(
    'select api.set_notification_digest(%L, ''in_app'', ''daily'')',
    tests.brand('acme')
), '22023', 'a digest on a channel without digests');
select pg_temp.fails(
    'select api.set_notification_settings(time_zone => ''Mars/Olympus'', quiet_start => ''22:00'', '
    'quiet_end => ''07:00'')',
    '22023', 'quiet hours with a bad time zone'
);
select pg_temp.fails(
    'select api.set_notification_settings(quiet_start => ''22:00'')', '22023',
    'quiet hours without an end'
);
select pg_temp.fails('select api.unsubscribe(''forged.token'')', '22023', 'a forged unsubscribe token');

select tests.clear_authentication();
select is(
    (select count(*)::integer from notify.notifications) + (select count(*)::integer from notify.inboxes)
    + (select count(*)::integer from notify.user_settings)
    + (select count(*)::integer from notify.preferences),
    0, 'nothing was half-written'
);

select * from finish();
rollback;
