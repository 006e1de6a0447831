-- brandbase 0019 (jobs): a batch enqueue does less per job.
--
-- Payloads are json, not jsonb: the queue never looks inside a payload, so it stores the
-- text a producer sent and hands it back as is. Parsing a 20,000-job batch into jsonb took
-- about 15% of the call, and every claim paid again to print it back. This rewrites both
-- tables; job_history's partitions are rewritten one by one under the table's lock, so on
-- a large history apply it in a quiet window. api.jobs reads the column: it is dropped
-- here and created again by sql/jobs/60_api.sql in the same migrate run (the view is
-- absent between the two commits). Workers connected through the upgrade keep working.
--
-- Job ids come from a sequence cache of 100 per session: without it every row takes the
-- sequence's lock and buffer in nextval() (about 6% of a batch). Ids stay unique and
-- increase within a session, not across sessions; ids a session cached but did not use
-- are skipped. Nothing orders jobs by id.

drop view if exists api.jobs;

alter table jobs.job_queue
alter column payload drop default,
alter column payload type json using payload::json,
alter column payload set default '{}';

alter table jobs.job_history alter column payload type json using payload::json;

comment on column jobs.job_queue.payload is
'The job''s input as its producer sent it: json, stored and returned as is.';

alter table jobs.job_queue alter column id set cache 100;
