-- Hot queries of module health: the whole check, as uptime monitors call it.

-- query: health.check
-- as: owner
select health.check();
