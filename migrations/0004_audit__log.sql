-- brandbase 0004 (audit): the append-only audit log, partitioned by month, and the hash
-- chain that seals it in the background.

create schema audit;
comment on schema audit is
'Audit trail: who changed what and when, append-only and tamper-evident.';
grant usage on schema audit to authenticated, service_role;

create table audit.logs (
    brand_id uuid not null,
    occurred_at timestamptz not null,
    id bigint generated always as identity,
    table_name text not null,
    record_key jsonb not null,
    operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    old_data jsonb,
    new_data jsonb,
    actor_id uuid,
    actor_role text,
    txid bigint not null default pg_current_xact_id()::text::bigint,
    request_id text,
    client_ip inet,
    primary key (brand_id, occurred_at, id)
) partition by range (occurred_at);

comment on table audit.logs is
'One entry per captured change. Append-only: updates and deletes are refused; retention '
'drops whole monthly partitions (audit.drop_before).';
comment on column audit.logs.brand_id is
'The changed row''s brand; the nil uuid for tables without a brand column and TRUNCATE.';
comment on column audit.logs.table_name is 'Schema-qualified table name (by name, not OID).';
comment on column audit.logs.record_key is 'Primary key of the changed row as {"col": value}.';
comment on column audit.logs.old_data is
'UPDATE: old values of the changed columns; DELETE: the whole old row.';
comment on column audit.logs.new_data is
'INSERT: the whole new row; UPDATE: new values of the changed columns.';
comment on column audit.logs.actor_id is 'auth.uid() of the caller, when signed in.';
comment on column audit.logs.actor_role is 'The JWT role, else the database role.';
comment on column audit.logs.txid is
'Transaction id (64-bit, as bigint so a BRIN index can serve sealing); also orders sealing.';
comment on column audit.logs.request_id is 'X-Request-Id from PostgREST''s request.headers.';
comment on column audit.logs.client_ip is 'First X-Forwarded-For hop, as evidence (not trusted).';

create index logs_actor_idx on audit.logs (brand_id, actor_id, occurred_at);
create index logs_record_idx on audit.logs (brand_id, table_name, record_key, occurred_at);
create index logs_txid_brin on audit.logs using brin (txid);

create table audit.logs_default partition of audit.logs default;
comment on table audit.logs_default is
'Safety net for entries outside the monthly partitions; audit.ensure_partitions() keeps it empty.';

alter table audit.logs enable row level security;

create table audit.tracked (
    table_name text primary key,
    key_columns text[] not null check (cardinality(key_columns) > 0),
    excluded_columns text[] not null default '{}',
    brand_column text,
    skip_noop_updates boolean not null default true,
    tracked_at timestamptz not null default now()
);
comment on table audit.tracked is 'Tables under audit.track() and their options.';

-- The hash chain: per brand, chain_hash(n) = sha256(chain_hash(n-1) || entry_hash(n)).
create table audit.chain (
    brand_id uuid not null,
    seq bigint not null,
    entry_id bigint not null,
    entry_occurred_at timestamptz not null,
    entry_hash bytea not null check (length(entry_hash) = 32),
    chain_hash bytea not null check (length(chain_hash) = 32),
    sealed_at timestamptz not null default now(),
    primary key (brand_id, seq),
    unique (brand_id, entry_id)
);
comment on table audit.chain is
'Seals over audit.logs, written by audit.seal() off the write path. Publish audit.head() '
'somewhere else to anchor it.';
alter table audit.chain enable row level security;

create table audit.seal_rounds (
    id bigint generated always as identity primary key,
    below_txid bigint not null,
    entries integer not null,
    sealed_at timestamptz not null default now()
);
comment on table audit.seal_rounds is
'Each audit.seal() run: it sealed every entry of transactions below below_txid.';
