-- Five tiers, each holding everything of the tier below plus its own; 40+ permissions,
-- each described; has_permission() agrees with the catalogue for every tier.
begin;
select plan(12);
select tests.seed_two_brands();

select cmp_ok((select count(*)::int from brand.permissions), '>=', 40, 'at least 40 permissions');
select is_empty(
    'select permission from brand.permissions where length(description) < 10',
    'every permission has a description'
);
select is_empty(
    $$select p.permission from brand.permissions as p
      where not exists (select from brand.tier_permissions as tp
                        where tp.permission = p.permission and tp.tier = 'owner')$$,
    'owners hold every permission'
);
select is_empty(
    $$select lower_tp.tier, lower_tp.permission
      from brand.tier_permissions as lower_tp
      cross join unnest(enum_range(null::brand.tier)) as higher (tier)
      where higher.tier > lower_tp.tier
        and not exists (select from brand.tier_permissions as tp
                        where tp.tier = higher.tier and tp.permission = lower_tp.permission)$$,
    'each tier holds every permission of the tiers below it'
);

select set_eq(
    $$select permission from brand.tier_permissions where tier = 'viewer'$$,
    array[
        'brand.read', 'members.read', 'content.read', 'notifications.read', 'flags.read',
        'i18n.read', 'search.read', 'storage.read', 'quotas.read'
    ],
    'viewers can only read'
);
select ok(
    not exists (
        select from brand.tier_permissions
        where tier = 'admin' and permission in ('brand.delete', 'billing.manage')
    ),
    'admins cannot delete the brand or change billing'
);
select ok(
    exists (
        select from brand.tier_permissions
        where tier = 'editor' and permission = 'content.publish'
    )
    and not exists (
        select from brand.tier_permissions
        where tier = 'member' and permission = 'content.publish'
    ),
    'editors publish, members do not'
);

-- has_permission() as each tier's user agrees with the catalogue for every permission.
create temp table answers (tier brand.tier, permission text, allowed boolean);
grant all on answers to authenticated;
do $$
declare
    t brand.tier;
begin
    foreach t in array enum_range(null::brand.tier) loop
        perform tests.authenticate_as(tests.uid(t || '@acme'));
        insert into answers
        select t, p.permission, brand.has_permission(tests.brand('acme'), p.permission)
        from brand.permissions as p;
        perform tests.clear_authentication();
    end loop;
end
$$;
select is_empty(
    $$select a.tier, a.permission from answers as a
      where a.allowed <> exists (select from brand.tier_permissions as tp
                                 where tp.tier = a.tier and tp.permission = a.permission)$$,
    'has_permission() matches the catalogue for every tier and permission'
);
select is(
    (
        select count(*)::int from answers
        where allowed
    ), (select count(*)::int from brand.tier_permissions
    ),
    'and grants exactly the catalogue''s number of (tier, permission) pairs'
);

select tests.authenticate_as(tests.uid('owner@acme'));
select ok(
    not brand.has_permission(tests.brand('bolt'), 'brand.read'),
    'an owner of acme holds nothing in bolt'
);
select set_eq(
    $$select permission from api.my_permissions where brand_id = tests.brand('acme')$$,
    $$select permission from brand.permissions$$,
    'api.my_permissions lists the owner''s permissions'
);
select tests.authenticate_as_role('service_role');
select ok(
    brand.has_permission(tests.brand('bolt'), 'brand.delete'),
    'service_role holds every permission in every brand'
);

select * from finish();
rollback;
