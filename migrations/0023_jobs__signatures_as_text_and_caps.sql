-- brandbase 0023 (jobs, health): no reg* column in any table, and bounded job input.
--
-- pg_upgrade refuses a cluster with reg* types in user tables (their oids are not kept),
-- and Supabase upgrades projects with pg_upgrade. jobs.queues.handler and
-- health.probes.probe held a regprocedure; they now hold its signature as text (e.g.
-- 'jobs.probe_lag()'), checked with to_regprocedure() when written and resolved again
-- when used (a function dropped since gives a clear error there). The signatures are
-- printed with search_path = pg_catalog, so every name in them is schema-qualified.
--
-- Also: a per-queue cap on the size of a job's payload (256 kB by default, the same as
-- webhooks' payloads), and the cache behind the anonymous api.health() answer.

do $$
declare
    saved text := pg_catalog.current_setting('search_path');
begin
    perform pg_catalog.set_config('search_path', 'pg_catalog', true);
    alter table jobs.queues alter column handler type text using handler::text;
    alter table health.probes alter column probe type text using probe::text;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

comment on column jobs.queues.handler is
'Signature of the SQL function that runs the queue''s jobs, e.g. ''public.send_mail(jobs.job_queue)'' '
'(text, resolved with to_regprocedure() when used); null: served by brandbase worker.';
comment on column health.probes.probe is
'Signature of the probe function, e.g. ''jobs.probe_lag()'' (text, resolved with '
'to_regprocedure() when the check runs).';

alter table jobs.queues
add column max_payload_bytes integer not null default 262144
constraint queues_max_payload_bytes_check check (max_payload_bytes between 1 and 104857600);

comment on column jobs.queues.max_payload_bytes is
'Largest payload (bytes of its JSON text) an enqueue into this queue accepts; 256 kB by default.';

-- One row: the last overall verdict, for anonymous api.health() calls. Unlogged: after a
-- crash it is simply computed again.
create unlogged table health.summary_cache (
    only_row boolean primary key default true check (only_row),
    status text not null check (status in ('ok', 'degraded', 'down')),
    checked_at timestamptz not null
);

comment on table health.summary_cache is
'The last overall health verdict (health.summary()): anonymous /rpc/health answers from it '
'while it is fresh, so they cost one index lookup instead of every probe.';

alter table health.summary_cache enable row level security;
revoke all on health.summary_cache from public, anon, authenticated;
