-- Invitations: owners and admins revoke pending ones; an invitation holds only while its
-- inviter could still issue it; used, revoked and expired ones say so (PT409), unknown
-- tokens and other brands' invitations are not found (PT404).
begin;
select plan(20);
select tests.seed_two_brands();

create temp table token (name text primary key, value text);
grant all on token to authenticated, service_role;
create function tests.token(token_name text) returns text language sql as $$
    select t.value from token as t where t.name = token_name
$$;
create function tests.invitation(token_name text) returns uuid language sql security definer
set search_path = pg_catalog, pg_temp as $$
    select i.id from brand.invitations as i
    where i.token_sha256 = sha256(convert_to(tests.token(token_name), 'UTF8'))
$$;
grant execute on function tests.token(text), tests.invitation(text) to authenticated;

select '# created ' || tests.create_user('alt@evil.test');
select '# created ' || tests.create_user('new@acme.test');

-- Revoking.
select tests.authenticate_as(tests.uid('admin@acme'));
insert into token values ('revoked', api.invite_member(tests.brand('acme'), 'new@acme.test', 'editor'));
select lives_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), tests.invitation('revoked')),
    'an admin revokes a pending invitation'
);
select ok(
    (
        select revoked_at is not null and revoked_by = tests.uid('admin@acme') from api.brand_invitations
        where id = tests.invitation('revoked')
    ),
    'the view shows when and by whom'
);
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), tests.invitation('revoked')),
    'PT409', null, 'revoking twice is a conflict'
);
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), gen_random_uuid()),
    'PT404', null, 'an unknown invitation is not found'
);
select tests.clear_authentication();
select ok(
    exists (
        select from
            audit.logs
        where
            table_name = 'brand.invitations' and operation = 'UPDATE'
            and new_data ? 'revoked_at'
    ),
    'the revocation is audited'
);

select tests.authenticate_as(tests.uid('new@acme'));
select throws_ok(
    format('select api.accept_invitation(%L)', tests.token('revoked')), 'PT409', 'invitation was revoked',
    'a revoked invitation cannot be accepted'
);

-- Another brand's invitation looks missing; editors may not revoke.
select tests.authenticate_as(tests.uid('owner@bolt'));
insert into token values ('bolt', api.invite_member(tests.brand('bolt'), 'x@bolt.test'));
select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), tests.invitation('bolt')),
    'PT404', format('invitation %s not found in brand %s', tests.invitation('bolt'), tests.brand('acme')),
    'another brand''s invitation is not found, the same way'
);
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('bolt'), tests.invitation('bolt')),
    '42501', null, 'and its brand refuses a non-member'
);
select tests.authenticate_as(tests.uid('editor@acme'));
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), tests.invitation('bolt')),
    '42501', null, 'editors cannot revoke'
);

-- Stale: the inviter was removed or demoted before the invitee accepted.
select tests.authenticate_as(tests.uid('admin@acme'));
insert into token values ('from-removed', api.invite_member(tests.brand('acme'), 'alt@evil.test', 'admin'));
insert into token values ('from-demoted', api.invite_member(tests.brand('acme'), 'new@acme.test', 'editor'));
select tests.authenticate_as(tests.uid('owner@acme'));
select '# demoted to ' || (api.set_member_tier(tests.brand('acme'), tests.uid('admin@acme'), 'editor')).tier;
select tests.authenticate_as(tests.uid('new@acme'));
select throws_ok(
    format('select api.accept_invitation(%L)', tests.token('from-demoted')), 'PT409', null,
    'a demoted inviter''s invitation is void (the inviter can no longer invite)'
);
select tests.authenticate_as(tests.uid('owner@acme'));
select '# removed' from api.remove_member(tests.brand('acme'), tests.uid('admin@acme'));
select tests.authenticate_as(tests.uid('alt@evil'));
select throws_ok(
    format('select api.accept_invitation(%L)', tests.token('from-removed')), 'PT409',
    'invitation is void: the member who sent it can no longer invite at tier admin',
    'a removed admin''s invitation makes nobody admin'
);
select isnt(
    (
        select hint
        from tests.error_of(format('select api.accept_invitation(%L)', tests.token('from-removed')))
    ),
    null, 'with a hint'
);
select is(
    (
        select count(*)::int from brand.members
        where user_id = tests.uid('alt@evil')
    ), 0, 'nobody joined'
);

-- From a member still able to issue it (an owner, at admin): valid.
select tests.authenticate_as(tests.uid('owner@acme'));
insert into token values ('owner-admin', api.invite_member(tests.brand('acme'), 'alt@evil.test', 'admin'));
select tests.authenticate_as(tests.uid('alt@evil'));
select is(
    (api.accept_invitation(tests.token('owner-admin'))).tier, 'admin'::brand.tier,
    'an invitation from a member still able to issue it works'
);

-- service_role's invitations have no inviter and stay valid.
select tests.authenticate_as_role('service_role');
insert into token values ('service', brand.invite(tests.brand('bolt'), 'new@acme.test', 'viewer'));
select tests.authenticate_as(tests.uid('new@acme'));
select is(
    (api.accept_invitation(tests.token('service'))).tier, 'viewer'::brand.tier,
    'service_role''s invitation works'
);
select throws_ok(
    format('select api.accept_invitation(%L)', tests.token('service')), 'PT409', 'invitation already used',
    'once'
);
select throws_ok(
    $$select api.accept_invitation('no-such-token')$$,
    'PT404',
    'invitation not found',
    'unknown tokens: PT404'
);
select throws_ok(
    format('select api.accept_invitation(%L)', repeat('x', 10000)), '22001', null, 'tokens are bounded'
);

-- Expired, even with the clock set back by an API role's session (only the owner's
-- freezes it; pgTAP is the owner, so here the expiry is simply real).
select tests.authenticate_as(tests.uid('owner@bolt'));
insert into token values ('late', api.invite_member(tests.brand('bolt'), 'alt@evil.test'));
select tests.freeze_time(now() + interval '8 days');
select tests.authenticate_as(tests.uid('alt@evil'));
select throws_ok(
    format('select api.accept_invitation(%L)', tests.token('late')), 'PT409', 'invitation has expired',
    'expired invitations are refused'
);
select tests.clear_authentication();
select set_config('brandbase.frozen_now', '', true);

-- Revoking an accepted invitation: a conflict (remove the member instead).
select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('select api.revoke_invitation(%L, %L)', tests.brand('acme'), tests.invitation('owner-admin')),
    'PT409', null, 'an accepted invitation cannot be revoked'
);

select * from finish();
rollback;
