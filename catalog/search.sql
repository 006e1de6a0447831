-- Hot queries of module search that exist on every install: the analytics views a
-- brand's editors read, the click's query lookup, and the lexicon lookup of the typo
-- fallback (search.words, one list per table). The search itself runs dynamic SQL per
-- enabled table (bench/search.py measures it on a corpus; docs/search.md shows its plans).

-- query: search.top_queries
-- as: authenticated
select
    query,
    searches,
    zero_result_searches,
    p50_latency_ms
from api.search_top_queries
where brand_id = :brand_id
order by searches desc
limit 20;

-- query: search.zero_result_queries
-- as: authenticated
select
    query,
    searches
from api.search_zero_result_queries
where brand_id = :brand_id
order by searches desc
limit 20;

-- query: search.click_lookup
-- as: owner
select brand_id
from search.queries
where id = 1;

-- query: search.lexicon_correction
-- as: owner
select word
from search.words
where table_name = 'seed.pages' and keys && array['ship']::text[]
order by docs desc, word asc
limit 8;
