-- Hot queries of module jobs: the worker's claim (the ready index, in order; without its
-- FOR UPDATE SKIP LOCKED, which a read-only EXPLAIN cannot take), a brand's jobs as the app
-- lists them, and the probes' look at the queue head.

-- query: jobs.claim_next_batch
-- as: owner
select j.id from jobs.job_queue as j
where j.locked_until is null and j.queue = any(array['seed-mail']) and j.run_at <= now()
order by j.priority, j.fair_at
limit 50;

-- query: jobs.brand_jobs
-- as: authenticated
select * from api.jobs
where brand_id = :brand_id
order by created_at desc
limit 50;

-- query: jobs.queue_lag
-- as: owner
select * from jobs.probe_lag();
