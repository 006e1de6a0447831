-- Deleting a user from auth.users, as Supabase's dashboard and GoTrue do: their
-- memberships go, records of invitations they accepted stay (without them), their pending
-- invitations are revoked; a sole owner's deletion names the brands and what to do.
begin;
select plan(11);
select tests.seed_two_brands();

create temp table token (value text);
grant all on token to authenticated;

-- bob accepts an invitation to acme, then leaves.
select '# created ' || tests.create_user('bob@x.test');
select tests.authenticate_as(tests.uid('admin@acme'));
insert into token select api.invite_member(tests.brand('acme'), 'bob@x.test', 'editor');
select tests.authenticate_as(tests.uid('bob@x'));
select '# joined as ' || (api.accept_invitation((select value from token))).tier;
select '# left' from api.remove_member(tests.brand('acme'), tests.uid('bob@x'));
select tests.clear_authentication();

select lives_ok(
    format('delete from auth.users where id = %L', tests.uid('bob@x')),
    'a user who accepted an invitation, then left, can be deleted'
);
select ok(
    (
        select accepted_at is not null and accepted_by is null from brand.invitations
        where email = 'bob@x.test'
    ),
    'the invitation record stays, accepted, without the user'
);

-- A member (not an owner) with a pending invitation they sent.
select tests.authenticate_as(tests.uid('admin@bolt'));
select '# invited' from api.invite_member(tests.brand('bolt'), 'later@x.test', 'member');
select tests.clear_authentication();
select lives_ok(
    format('delete from auth.users where id = %L', tests.uid('admin@bolt')), 'a member can be deleted'
);
select is(
    (
        select count(*)::int from brand.members
        where user_id = tests.uid('admin@bolt')
    ), 0,
    'their memberships are gone'
);
select ok(
    (
        select revoked_at is not null and invited_by is null from brand.invitations
        where email = 'later@x.test'
    ),
    'the invitations they sent and nobody accepted are revoked'
);

-- A sole owner of two brands.
select '# created brand ' || tests.create_brand(tests.uid('owner@acme'), 'acme-two');
select throws_ok(
    format('delete from auth.users where id = %L', tests.uid('owner@acme')), '23514',
    format(
        'user %s cannot be deleted: sole owner of brand(s) acme (%s), acme-two (%s)',
        tests.uid('owner@acme'), tests.brand('acme'), tests.brand('acme-two')
    ),
    'a sole owner cannot be deleted; the error names every brand'
);
select matches(
    (
        select hint
        from tests.error_of(format('delete from auth.users where id = %L', tests.uid('owner@acme')))
    ),
    'api.set_member_tier.*api.delete_brand', 'the hint says what to do'
);
select is((
    select count(*)::int from auth.users
    where email = 'owner@acme.test'
), 1, 'nothing was deleted');

-- With a co-owner in each brand, or the brand gone, the deletion goes through.
update brand.members set tier = 'owner'
where brand_id = tests.brand('acme') and user_id = tests.uid('admin@acme');
delete from brand.brands
where slug = 'acme-two';
select lives_ok(
    format('delete from auth.users where id = %L', tests.uid('owner@acme')), 'a co-owner can be deleted'
);
select is(
    (
        select count(*)::int from brand.members
        where brand_id = tests.brand('acme') and tier = 'owner'
    ), 1,
    'the brand keeps its other owner'
);
select is(
    (
        select created_by from brand.brands
        where slug = 'acme'
    ), null::uuid, 'the brand forgets its creator'
);

select * from finish();
rollback;
