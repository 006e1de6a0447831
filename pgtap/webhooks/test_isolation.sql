-- webhooks, both ways: another brand's endpoints, deliveries, attempts and events are
-- invisible through the tables and the api views, and no api function acts on them;
-- secrets are never readable back; managing needs webhooks.manage, replaying
-- webhooks.replay.
begin;
select plan(35);
select tests.seed_two_brands();
insert into webhooks.event_types (event_type, description) values ('order.paid', 'an order was paid');
update webhooks.settings set development_mode = true, allowed_networks = '{127.0.0.0/8}';
create temp table ep as
select
    b.slug,
    e.*
from brand.brands as b,
    lateral webhooks.create_endpoint(b.id, 'http://127.0.0.1:9/' || b.slug, array['*']) as e;
grant select on ep to public;
do $$
begin
    perform webhooks.emit(b.id, 'order.paid', jsonb_build_object('brand', b.slug)) from brand.brands as b;
    perform webhooks.record('w', jsonb_agg(jsonb_build_object('brand_id', d.brand_id, 'delivery_id', d.delivery_id,
        'status_code', 500)))
    from webhooks.claim('w', 10) as d (brand_id, delivery_id);
end
$$;
create temp table dl as select
    brand_id,
    id
from webhooks.deliveries;
grant select on dl to public;

create function tests.webhook_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
    their_ep uuid := (select id from ep where slug = theirs);
    their_delivery bigint := (select id from dl where brand_id = tests.brand(theirs));
begin
    perform tests.authenticate_as(tests.uid('admin@' || mine));
    return next is((select count(*)::int from api.webhook_endpoints), 1, 'only own endpoint listed' || msg);
    return next ok((select key_hint like 'whsec_%…' and length(key_hint) = 11 from api.webhook_endpoints),
        'its secret only as a hint' || msg);
    return next is((select count(*)::int from api.webhook_deliveries where brand_id = tests.brand(theirs)), 0,
        'their deliveries invisible' || msg);
    return next is((select count(*)::int from api.webhook_attempts where brand_id = tests.brand(theirs)), 0,
        'their attempts invisible' || msg);
    return next is((select count(*)::int from webhooks.events where brand_id = tests.brand(theirs)), 0,
        'their events invisible' || msg);
    return next is((select count(*)::int from api.webhook_deliveries), 1, 'own delivery visible' || msg);
    return next throws_ok('select count(*) from webhooks.secrets', '42501', null, 'secrets unreadable' || msg);
    return next throws_ok(format('select api.update_webhook_endpoint(%L, description => ''x'')', their_ep),
        'PT404', null, 'updating theirs refused' || msg);
    return next throws_ok(format('select api.rotate_webhook_secret(%L)', their_ep), 'PT404', null,
        'rotating theirs refused' || msg);
    return next throws_ok(format('select api.delete_webhook_endpoint(%L)', their_ep), 'PT404', null,
        'deleting theirs refused' || msg);
    return next throws_ok(format('select api.recover_webhooks(%L, now() - interval ''1 day'')', their_ep),
        'PT404', null, 'recovering theirs refused' || msg);
    return next throws_ok(format('select api.redeliver_webhook(%L, %s)', tests.brand(theirs), their_delivery),
        '42501', null, 'redelivering theirs refused' || msg);
    return next throws_ok(format('select api.emit_webhook(%L, ''order.paid'', ''{}'')', tests.brand(theirs)),
        '42501', null, 'emitting for them refused' || msg);
    return next throws_ok(
        format('select api.create_webhook_endpoint(%L, ''http://127.0.0.1:9/x'', array[''*''])', tests.brand(theirs)),
        '42501', null, 'creating one for them refused' || msg);
    return next ok((select secret like 'whsec_%' from api.create_webhook_endpoint(tests.brand(mine),
        'http://127.0.0.1:9/new', array['order.*'])), 'creating my own works, secret shown once' || msg);
    return next ok(api.rotate_webhook_secret((select id from ep where slug = mine)) like 'whsec_%',
        'rotating my own works' || msg);
    perform tests.clear_authentication();
end
$$;

select tests.webhook_checks('acme', 'bolt');
select tests.webhook_checks('bolt', 'acme');

select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (select count(*)::int from api.webhook_endpoints), 0, 'a viewer (no webhooks.read) sees no endpoints'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    format('select api.rotate_webhook_secret(%L)', (
        select id from ep
        where slug = 'acme'
    )), '42501', null,
    'an editor (webhooks.read only) cannot rotate'
);
select tests.authenticate_as_role('anon');
select throws_ok('select count(*) from api.webhook_endpoints', '42501', null, 'anon reads nothing');
select tests.clear_authentication();

select * from finish();
rollback;
