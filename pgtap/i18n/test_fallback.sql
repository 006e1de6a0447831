-- i18n: chains (explicit steps, RFC 4647 truncation, default last), the brand's wording
-- first at each step, bundles in i18next's shape, negotiation and the request's locale.
begin;
select plan(16);
select tests.seed_two_brands();
select
    i18n.set_locale('de') as de,
    i18n.set_locale('de-DE') as de_de,
    i18n.set_locale('zh-Hant') as zh_hant,
    i18n.set_locale('pt') as pt;
select i18n.set_locale('de-AT', fallback => 'de-DE');
select i18n.set_locale('pt-BR', fallback => 'pt');
select
    is((
        select chain from api.locales
        where tag = 'de-AT'
    ), '{de-AT,de-DE,de,en}', 'explicit step, then truncation, then the default');
select
    is(
        i18n.chain_of('zh-hant-tw'),
        '{zh-Hant,en}',
        'an unknown tag truncates (RFC 4647 lookup) to known locales'
    );
select is(i18n.canonical_tag('EN_us'), 'en-US', 'tags are canonicalised');
select is(i18n.canonical_tag('de-'), null, 'a malformed tag reads as null');
do $$ begin
    perform i18n.set_message(null, 'common', 'hi', 'en', 'Hello', 'published');
end $$;
do $$ begin
    perform i18n.set_message(null, 'common', 'hi', 'de', 'Hallo', 'published');
end $$;
do $$ begin
    perform i18n.set_message(null, 'common', 'bye', 'de-DE', 'Tschüss', 'published');
end $$;
do $$ begin
    perform i18n.set_message(tests.brand('acme'), 'common', 'hi', 'de', 'Servus von Acme', 'published');
end $$;
select
    i18n.set_message(null, 'common', 'n', 'en', '{count, plural, one {# file} other {# files}}', 'published')
    ->> 'status';
select is(i18n.t('hi', 'de-AT'), 'Hallo', 'de-AT falls back to de');
select is(i18n.t('bye', 'de-AT'), 'Tschüss', 'through the explicit de-DE step');
select is(i18n.t('hi', 'fr-CA'), 'Hello', 'an unknown locale gets the default');
select
    is(
        i18n.t('hi', 'de-AT', '{}', 'common', tests.brand('acme')),
        'Servus von Acme',
        'the brand''s wording at the de step'
    );
select is(i18n.t('hi', 'xx-!!'), 'Hello', 'an invalid tag reads as the default locale');
select is(i18n.t('hi', 'fr;q=0.9, de-CH;q=0.8, *;q=0.1'), 'Hallo', 'an Accept-Language header is negotiated');
select is(i18n.bundle('en') -> 'n_one', '"{{count}} file"', 'plurals on count become i18next v4 suffixes');
select is(i18n.bundle('de-AT') ->> 'hi', 'Hallo', 'bundles resolve the chain');
select
    is(
        i18n.negotiate('da, en-gb;q=0.8, en;q=0.7', array['en', 'en-GB']),
        'en-GB',
        'q-values order the ranges (RFC 9110)'
    );
select
    is(
        i18n.negotiate('en;q=2, ;;, de;q=0.5', array['en', 'de']),
        'de',
        'malformed ranges and weights are skipped'
    );
select is(i18n.negotiate('*, en;q=0', array['en', 'fr']), 'fr', 'a wildcard takes any locale not refused');
select set_config('request.headers', '{"accept-language": "de-AT,de;q=0.9"}', true);
select is(i18n.request_locale(), 'de-AT', 'the request''s locale comes from PostgREST''s request.headers');
select * from finish();
rollback;
