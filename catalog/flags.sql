-- Hot queries of module flags: one flag evaluated for a signed-in member (the RLS and RPC
-- path), every flag for the app's boot, and the brand's overrides as the management UI lists them.

-- query: flags.evaluate
-- as: authenticated
select * from api.evaluate_flag(
    'checkout.new-flow',
    jsonb_build_object('userId', '42', 'properties', jsonb_build_object('plan', 'pro')),
    'false'
);

-- query: flags.evaluate_all
-- as: authenticated
select * from api.evaluate_flags(jsonb_build_object('userId', '42'));

-- query: flags.brand_overrides
-- as: authenticated
select * from api.flag_overrides
where brand_id = :brand_id
order by flag_key
limit 50;
