-- brandbase 0012 (jobs): a job queue in the database. Live jobs (waiting, scheduled,
-- running) sit in the small hot table jobs.job_queue; finished, dead and cancelled jobs
-- move to jobs.job_history, partitioned by day and dropped by retention.

create schema jobs;
comment on schema jobs is
'Background jobs: queues, enqueue, batch claim with leases, retries, schedules.';
grant usage on schema jobs to authenticated, service_role;

create table jobs.queues (
    name text primary key check (name ~ '^[a-z][a-z0-9_.-]*$'),
    handler regprocedure,
    max_attempts integer not null default 10 check (max_attempts between 1 and 1000),
    backoff_base interval not null default '2 seconds' check (backoff_base > interval '0'),
    backoff_max interval not null default '1 hour',
    lease interval not null default '5 minutes' check (lease >= interval '1 second'),
    brand_concurrency integer check (brand_concurrency > 0),
    on_success text not null default 'archive' check (on_success in ('archive', 'delete')),
    keep_for interval not null default '14 days' check (keep_for > interval '0'),
    app_enqueue boolean not null default false,
    paused boolean not null default false,
    created_at timestamptz not null default now(),
    check (backoff_max >= backoff_base)
);

comment on table jobs.queues is
'Queues and their policy. handler: a SQL function run in the database; null: the queue is '
'served by brandbase worker (a Python callable registered under the queue''s name).';
comment on column jobs.queues.brand_concurrency is
'At most this many running jobs per brand (null: no cap). Claims on capped queues serialise.';
comment on column jobs.queues.on_success is
'archive: finished jobs are kept in job_history for keep_for; delete: they are dropped.';
comment on column jobs.queues.app_enqueue is
'Brand admins may enqueue into this queue through api.enqueue_job (jobs.manage).';

create table jobs.job_queue (
    id bigint generated always as identity primary key,
    queue text not null,
    brand_id uuid,
    payload jsonb not null default '{}',
    priority smallint not null default 0,
    run_at timestamptz not null default now(),
    fair_at bigint not null,
    attempts integer not null default 0,
    max_attempts integer not null,
    dedupe_key text,
    locked_by text,
    locked_until timestamptz,
    progress jsonb,
    cancel_requested boolean not null default false,
    last_error text,
    errors jsonb not null default '[]',
    created_at timestamptz not null default now(),
    check ((locked_by is null) = (locked_until is null))
) with (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01
);

comment on table jobs.job_queue is
'Live jobs only: waiting (locked_until null), running (leased until locked_until). It stays '
'small however many jobs have run: finished jobs leave it.';
comment on column jobs.job_queue.brand_id is 'The brand the job works for; null for system jobs.';
comment on column jobs.job_queue.priority is 'Lower runs first.';
comment on column jobs.job_queue.fair_at is
'Position on the queue''s fair-share clock (microseconds): each brand''s jobs are spaced '
'apart, so one brand''s backlog cannot starve another brand''s newer jobs.';
comment on column jobs.job_queue.errors is 'One entry per failed attempt: attempt, at, worker, error.';

-- The claim's index: waiting jobs in claim order. Running jobs are not in it.
create index job_queue_ready_idx on jobs.job_queue (priority, fair_at) where locked_until is null;
create index job_queue_leases_idx on jobs.job_queue (locked_until) where locked_until is not null;
create index job_queue_brand_idx on jobs.job_queue (brand_id, queue) where brand_id is not null;
create unique index job_queue_dedupe_idx on jobs.job_queue (queue, brand_id, dedupe_key)
nulls not distinct where dedupe_key is not null;

create table jobs.job_history (
    finished_at timestamptz not null,
    id bigint not null,
    queue text not null,
    brand_id uuid,
    state text not null check (state in ('succeeded', 'dead', 'cancelled')),
    payload jsonb not null,
    result jsonb,
    attempts integer not null,
    errors jsonb not null,
    created_at timestamptz not null,
    primary key (finished_at, id)
) partition by range (finished_at);

comment on table jobs.job_history is
'Jobs that left the hot table: succeeded (archive queues), dead (out of attempts, kept for '
'jobs.retry) and cancelled. Daily partitions, dropped after the queue''s keep_for.';

create table jobs.job_history_default partition of jobs.job_history default;
create index job_history_id_idx on jobs.job_history (id);
create index job_history_brand_idx on jobs.job_history (brand_id, finished_at)
where brand_id is not null;
create index job_history_dead_idx on jobs.job_history (queue) where state = 'dead';

-- One row per (queue, brand): where that brand's next job goes on the fair-share clock.
-- Unlogged: after a crash every brand simply starts again at "now".
create unlogged table jobs.fair_clock (
    queue text not null,
    brand_key uuid not null,
    next_at bigint not null,
    primary key (queue, brand_key)
);

comment on table jobs.fair_clock is
'Fair-share clock position per queue and brand (brand_key: the brand''s id, nil for system jobs).';

alter table jobs.job_queue enable row level security;
alter table jobs.job_history enable row level security;
alter table jobs.fair_clock enable row level security;
