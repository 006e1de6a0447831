-- i18n: readers never raise; writers refuse with stable SQLSTATEs and change nothing.
begin;
select plan(14);
do $$ begin
    perform i18n.set_message(null, 'common', 'ok', 'en', 'Hi {name}', 'published');
end $$;
select is(i18n.t('ok', 'en', '{}'), 'Hi {name}', 'a missing parameter shows as {name}');
select
    is(
        i18n.format('{n, plural, one {x} other {y}', 'en'),
        '{n, plural, one {x} other {y}',
        'a malformed message reads as its text'
    );
select
    is(
        i18n.format('{n, plural, one {# x} other {# y}}', 'en', '{"n": "abc"}'),
        '{n} y',
        'a non-number takes other'
    );
select is(i18n.negotiate(repeat('x', 100000), array['en']), null, 'a huge header is no error');
select is(i18n.plural_category('en', 'abc'), null, 'not a number: null');
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''en'', ''{oops'')', '22023', null, 'syntax error'
    );
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''en'', ''{n, plural, one {a}}'')',
        '22023',
        null,
        'plural without other'
    );
select throws_ok(
    'select i18n.set_message(null, ''common'', ''k'', ''en'', ''{n, plural, few {a} other {b}}'')',
    '22023',
    null,
    'a plural case the locale lacks'
);
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''xx-!!'', ''a'')',
        '22023',
        null,
        'invalid locale tag'
    );
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''fr'', ''a'')',
        '22023',
        null,
        'a locale the platform lacks'
    );
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''en'', repeat(''a'', 20001))',
        '22001',
        null,
        'too long'
    );
select
    throws_ok(
        'select i18n.set_message(null, ''common'', ''k'', ''en'', ''a'', ''final'')',
        '22023',
        null,
        'unknown status'
    );
select throws_ok(
    $$select i18n.import_messages('[{"namespace":"common","key":"d","locale":"en","source":"a"},
    {"namespace":"common","key":"x","locale":"en","source":"b"}, {"namespace":"common","key":"d","locale":"en","source":"c"}]')$$,
    '23505', null, 'conflicting duplicates in an import'
);
select is((
    select count(*) from i18n.messages
    where key in ('d', 'x')
)::integer, 0, 'nothing was imported');
select * from finish();
rollback;
