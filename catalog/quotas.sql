-- Hot queries of module quotas, as the app runs them: a member's usage against its limits
-- (api.quota_usage starts from the caller's brands, so the plan follows them, not the size
-- of brand.brands; issue 15.5).

-- query: quotas.my_usage
-- as: authenticated
select
    metric,
    soft_limit,
    hard_limit,
    period_start,
    used
from api.quota_usage
where brand_id = :brand_id;
