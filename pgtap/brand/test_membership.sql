-- Creating brands, inviting, accepting, changing tiers, removing: the tier rules and the
-- one-owner invariant.
begin;
select plan(20);
select tests.seed_two_brands();

create temp table token (value text);
grant all on token to authenticated;

select tests.authenticate_as(tests.uid('outsider@nowhere'));
select is((api.create_brand('newco', 'New Co')).slug, 'newco', 'anyone signed in can create a brand');
select is((
    select tier from api.my_brands
    where slug = 'newco'
), 'owner'::brand.tier, 'and owns it');
select
    throws_ok(
        $$select api.create_brand('acme', 'Again')$$,
        '23505',
        'brand slug "acme" is taken',
        'slugs are unique'
    );
select throws_ok($$select api.create_brand('Bad Slug!', 'x')$$, '22023', null, 'invalid slug: 22023');

select tests.authenticate_as(tests.uid('admin@acme'));
insert into token select api.invite_member(tests.brand('acme'), 'Outsider@Nowhere.test', 'editor');
select ok((select length(value) from token) >= 64, 'invitation token is long and random');
select is(
    (
        select count(*)::int from brand.invitations
        where token_sha256 = sha256(convert_to((select t.value from token as t), 'UTF8'))
    ),
    1, 'only the token''s sha256 is stored'
);
select throws_ok(
    $$select api.invite_member(tests.brand('acme'), 'x@y.test', 'owner')$$, '22023', null,
    'nobody is invited as owner'
);

select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    $$select api.invite_member(tests.brand('acme'), 'x@y.test')$$, '42501', null,
    'editors cannot invite'
);

select tests.authenticate_as(tests.uid('viewer@bolt'));
select throws_ok(
    format('select api.accept_invitation(%L)', (select value from token)), '42501',
    'this invitation is for another email address', 'the token only works for the invited email'
);

select tests.authenticate_as(tests.uid('outsider@nowhere'));
select
    is(
        (api.accept_invitation((select value from token))).tier,
        'editor'::brand.tier,
        'the invitee joins at the invited tier'
    );
select throws_ok(
    format('select api.accept_invitation(%L)', (select value from token)), 'PT409',
    'invitation already used', 'a token works once'
);

select tests.clear_authentication();
create temp table late_token (value text);
grant all on late_token to authenticated;
select '# created ' || tests.create_user('late@nowhere.test');
select tests.authenticate_as(tests.uid('admin@acme'));
insert into late_token select api.invite_member(tests.brand('acme'), 'late@nowhere.test');
select tests.freeze_time(now() + interval '8 days');
select tests.authenticate_as(tests.uid('late@nowhere'));
select throws_ok(
    format('select api.accept_invitation(%L)', (select value from late_token)),
    'PT409', 'invitation has expired', 'expired invitations are refused'
);

select tests.authenticate_as(tests.uid('admin@acme'));
select is(
    (api.set_member_tier(tests.brand('acme'), tests.uid('viewer@acme'), 'editor')).tier, 'editor'::brand.tier,
    'admins promote members up to their own tier'
);
select throws_ok(
    format('select api.set_member_tier(%L, %L, ''owner'')', tests.brand('acme'), tests.uid('editor@acme')),
    '42501', null, 'admins cannot make owners'
);
select throws_ok(
    format('select api.set_member_tier(%L, %L, ''viewer'')', tests.brand('acme'), tests.uid('owner@acme')),
    '42501', null, 'admins cannot demote owners'
);
select throws_ok(
    format('select api.remove_member(%L, %L)', tests.brand('acme'), tests.uid('owner@acme')),
    '42501', null, 'admins cannot remove owners'
);

select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('select api.set_member_tier(%L, %L, ''admin'')', tests.brand('acme'), tests.uid('owner@acme')),
    '23514', null, 'the last owner cannot step down'
);
select throws_ok(
    format('select api.remove_member(%L, %L)', tests.brand('acme'), tests.uid('owner@acme')),
    '23514', null, 'the last owner cannot leave'
);
select lives_ok(
    format('select api.set_member_tier(%L, %L, ''owner'')', tests.brand('acme'), tests.uid('admin@acme')),
    'owners make owners'
);
select lives_ok(
    format('select api.remove_member(%L, %L)', tests.brand('acme'), tests.uid('owner@acme')),
    'with another owner in place, an owner may leave'
);

select * from finish();
rollback;
