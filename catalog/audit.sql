-- Hot queries of module audit: the viewer's three reads and the sealer's scan.

-- query: audit.brand_activity
-- as: authenticated
select * from audit.logs
where brand_id = :brand_id
order by occurred_at desc, id desc
limit 50;

-- query: audit.user_activity
-- as: authenticated
select * from audit.logs
where brand_id = :brand_id and actor_id = :user_id
order by occurred_at desc, id desc
limit 50;

-- query: audit.record_history
-- as: authenticated
select * from audit.logs
where
    brand_id = :brand_id and table_name = 'brand.brands' and record_key = jsonb_build_object('id', :brand_id)
order by occurred_at desc, id desc
limit 50;
