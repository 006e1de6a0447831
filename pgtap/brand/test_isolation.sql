-- Brand isolation, both ways: as the owner of one brand, the other brand's rows cannot be
-- read, counted, written or acted on through any table, view or function of `brand`.
begin;
select plan(41);
select tests.seed_two_brands();

-- One pending invitation per brand, made by its owner.
select tests.authenticate_as(tests.uid('owner@acme'));
select ok(brand.invite(tests.brand('acme'), 'new@acme.test') is not null, 'acme invites');
select tests.authenticate_as(tests.uid('owner@bolt'));
select ok(brand.invite(tests.brand('bolt'), 'new@bolt.test') is not null, 'bolt invites');
select tests.clear_authentication();

create function tests.isolation_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    me uuid := tests.brand(mine);
    other uuid := tests.brand(theirs);
    msg text := format(' (%s -> %s)', mine, theirs);
begin
    perform tests.authenticate_as(tests.uid('owner@' || mine));
    return next is((select count(*)::int from brand.brands where id = other), 0, 'brands: other brand invisible' || msg);
    return next is((select count(*)::int from brand.brands), 1, 'brands: only my brand counted' || msg);
    return next is((select count(*)::int from brand.members where brand_id = other), 0, 'members: other brand invisible' || msg);
    return next is((select count(*)::int from brand.members), 5, 'members: only my brand counted' || msg);
    return next is((select count(*)::int from brand.invitations where brand_id = other), 0, 'invitations: other brand invisible' || msg);
    return next set_eq('select id from api.my_brands', array[me], 'api.my_brands: only mine' || msg);
    return next is((select count(*)::int from api.brand_members where brand_id = other), 0, 'api.brand_members: other invisible' || msg);
    return next is((select count(*)::int from api.my_permissions where brand_id = other), 0, 'api.my_permissions: none in other' || msg);
    return next is((select count(*)::int from api.brand_invitations where brand_id = other), 0, 'api.brand_invitations: other invisible' || msg);
    return next ok(other not in (select brand.brands_with('brand.read')), 'brands_with: other not listed' || msg);
    return next ok(not brand.has_permission(other, 'members.read'), 'has_permission: false in other' || msg);
    return next throws_ok(format('insert into brand.members values (%L, %L, ''owner'')', other, tests.uid('owner@' || mine)),
        '42501', null, 'members: cannot insert into other brand' || msg);
    return next throws_ok(format('update brand.brands set name = ''x'' where id = %L', other),
        '42501', null, 'brands: cannot update directly' || msg);
    return next throws_ok(format('select api.update_brand(%L, ''x'')', other), '42501', null, 'api.update_brand: refused' || msg);
    return next throws_ok(format('select api.invite_member(%L, ''a@b.c'')', other), '42501', null, 'api.invite_member: refused' || msg);
    return next throws_ok(format('select api.set_member_tier(%L, %L, ''viewer'')', other, tests.uid('admin@' || theirs)),
        '42501', null, 'api.set_member_tier: refused' || msg);
    return next throws_ok(format('select api.remove_member(%L, %L)', other, tests.uid('viewer@' || theirs)),
        '42501', null, 'api.remove_member: refused' || msg);
    return next throws_ok(format('select api.delete_brand(%L)', other), '42501', null, 'api.delete_brand: refused' || msg);
    perform tests.clear_authentication();
    return next is((select count(*)::int from brand.members where brand_id = other), 5, 'other brand untouched' || msg);
end
$$;

select * from tests.isolation_checks('acme', 'bolt');
select * from tests.isolation_checks('bolt', 'acme');

select tests.authenticate_as_role('anon');
select throws_ok('select count(*) from api.my_brands', '42501', null, 'anon cannot read brands at all');

select * from finish();
rollback;
