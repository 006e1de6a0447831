-- Hot queries of module i18n: one message for a signed-in member (the resolved probe and,
-- with the brand named, the brand's wording first), the app's boot bundle, and the
-- brand's translations as the management UI lists them.

-- query: i18n.t
-- as: authenticated
select api.t('common.hello', 'en', jsonb_build_object('name', 'Ann'));

-- query: i18n.t_brand
-- as: authenticated
select api.t('common.hello', 'en', jsonb_build_object('name', 'Ann'), 'common', :brand_id);

-- query: i18n.bundle
-- as: authenticated
select api.translation_bundle('en', 'common');

-- query: i18n.brand_translations
-- as: authenticated
select
    namespace,
    key,
    locale,
    status,
    updated_at
from api.translations
where brand_id = :brand_id
order by namespace, key, locale
limit 50;
