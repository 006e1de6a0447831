-- Hot queries of module versions: a record's sealed history, newest first, and its latest
-- version, as versions.list() and versions.get() run them (security definer: RLS is
-- replaced by an explicit permission check, so the primary key serves the lookup; jsonb
-- equality is not leakproof, so under RLS it could only filter after the policy).

-- query: versions.record_history
-- as: owner
select
    version,
    operation,
    state,
    author_id,
    created_at
from versions.sealed_versions
where brand_id = :brand_id and table_name = 'seed.pages' and record_key = :record_key
order by version desc;

-- query: versions.latest_version
-- as: owner
select data
from versions.sealed_versions
where brand_id = :brand_id and table_name = 'seed.pages' and record_key = :record_key
order by version desc
limit 1;
