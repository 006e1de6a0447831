-- Hot queries of module webhooks: the delivery worker's claim (without its row locks, which
-- a read-only EXPLAIN cannot take), a brand's delivery log and one delivery's attempts as
-- the app reads them.

-- query: webhooks.claim_due
-- as: owner
select
    d.brand_id,
    d.id
from webhooks.deliveries as d
inner join webhooks.endpoints as p on d.brand_id = p.brand_id and d.endpoint_id = p.id
where d.status = 'pending' and d.locked_until is null and d.next_attempt_at <= now() and p.enabled
order by d.next_attempt_at
limit 50;

-- query: webhooks.brand_deliveries
-- as: authenticated
select * from api.webhook_deliveries
where brand_id = :brand_id
order by created_at desc
limit 50;

-- query: webhooks.delivery_attempts
-- as: authenticated
select * from api.webhook_attempts
where
    brand_id = :brand_id and delivery_id = (
        select min(d.id) from webhooks.deliveries as d
        where d.brand_id = :brand_id
    )
order by attempted_at;
