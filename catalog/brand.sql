-- Hot queries of module brand, as the app runs them. `-- query: <name>` starts an entry;
-- `-- as: authenticated` runs it as a member of the largest brand (claims set like
-- PostgREST), `-- as: owner` as the connecting role. :brand_id, :user_id and :record_key
-- are filled from the data (the largest brand, its owner, one of its versioned records).

-- query: brand.my_brands
-- as: authenticated
select * from api.my_brands;

-- query: brand.members_of_a_brand
-- as: authenticated
select * from api.brand_members
where brand_id = :brand_id
order by created_at limit 50;

-- query: brand.my_permissions
-- as: authenticated
select permission from api.my_permissions
where brand_id = :brand_id;

-- query: brand.brands_a_user_belongs_to
-- as: owner
select
    m.brand_id,
    m.tier
from brand.members as m
where m.user_id = :user_id;
