-- i18n: a brand's wording, drafts, locales, content translations and report stay in the
-- brand both ways (views, t(), bundle(), management functions).
begin;
select plan(16);
select tests.seed_two_brands();
select i18n.set_locale('de');
do $$ begin
    perform i18n.set_message(null, 'common', 'cart.title', 'en', 'Cart', 'published');
end $$;
do $$ begin
    perform i18n.set_message(tests.brand('bolt'), 'common', 'cart.title', 'en', 'Bolt bag', 'published');
end $$;
do $$ begin
    perform i18n.set_message(tests.brand('bolt'), 'common', 'cart.secret', 'en', 'bolt draft', 'draft');
end $$;
select
    i18n.set_message(tests.brand('acme'), 'common', 'cart.title', 'en', 'Acme basket', 'published')
    ->> 'status';

select tests.authenticate_as(tests.uid('admin@acme'));
select is(
    (
        select count(*) from api.translations
        where brand_id = tests.brand('bolt')
    )::integer, 0,
    'acme sees none of bolt''s translations'
);
select is((select count(*) from i18n.brand_messages)::integer, 1, 'the table shows acme''s rows only');
select is(
    api.t('cart.title', 'en', '{}', 'common', tests.brand('bolt')), 'Cart',
    'naming bolt in t() gives the global wording, not bolt''s'
);
select is(
    api.translation_bundle('en', 'common', tests.brand('bolt')) ->> 'cart.title', 'Cart',
    'nor does the bundle'
);
select is(
    api.t('cart.title', 'en', '{}', 'common', tests.brand('acme')), 'Acme basket',
    'acme''s own wording applies to acme''s members'
);
select throws_ok(
    format('select api.set_translation(%L, ''common'', ''x'', ''en'', ''y'')', tests.brand('bolt')),
    '42501', null, 'acme''s admin cannot write bolt''s translations'
);
select throws_ok(
    format('select api.delete_translation(%L, ''common'', ''cart.title'', ''en'')', tests.brand('bolt')),
    '42501', null, 'nor delete them'
);
select throws_ok(
    format('select * from api.translation_report(%L)', tests.brand('bolt')),
    '42501', null, 'nor read bolt''s report'
);
select throws_ok(
    'select api.set_translation(null, ''common'', ''x'', ''en'', ''y'')',
    '42501', null, 'a brand admin cannot change the global wording'
);
select throws_ok(format(
    'select api.set_translation_status(%L, ''common'', ''nope'', ''en'', ''published'')',
    tests.brand('acme')
), 'PT404', null, 'a missing translation of the own brand is PT404');
select tests.clear_authentication();

select tests.authenticate_as(tests.uid('viewer@bolt'));
select is((select count(*) from api.translations)::integer, 2, 'bolt''s viewer sees its rows, drafts too');
select is(api.t('cart.title', 'en', '{}', 'common', tests.brand('bolt')), 'Bolt bag', 'and bolt''s wording');
select is(
    api.t('cart.secret', 'en', '{}', 'common', tests.brand('bolt')), 'cart.secret',
    'a draft is never served'
);
select throws_ok(
    format('select api.set_translation(%L, ''common'', ''x'', ''en'', ''y'')', tests.brand('bolt')),
    '42501', null, 'a viewer lacks i18n.manage'
);
select tests.clear_authentication();

select tests.authenticate_as_role('anon');
select is(
    api.t('cart.title', 'en', '{}', 'common', tests.brand('bolt')), 'Cart',
    'anon gets the global wording while bolt''s is not public'
);
select tests.clear_authentication();
select i18n.set_brand_settings(tests.brand('bolt'), true);
select tests.authenticate_as_role('anon');
select is(
    api.t('cart.title', 'en', '{}', 'common', tests.brand('bolt')), 'Bolt bag',
    'and bolt''s published wording once bolt makes it public'
);
select tests.clear_authentication();

select * from finish();
rollback;
