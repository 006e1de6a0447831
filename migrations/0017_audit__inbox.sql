-- brandbase 0017 (audit): an inbox for the write path (issue 3's numbers). Capture
-- triggers append to audit.logs_inbox, a plain partition with only its primary key;
-- audit.seal() moves entries into the monthly, four-index log (now audit.logs_sealed)
-- when it chains them. audit.logs is the parent of both, so every reader still sees
-- every entry, sealed or not.

-- Both depend on the old row type of audit.logs (when installed); sql/audit re-creates them.
drop function if exists api.audit_activity(uuid, uuid, text, jsonb, timestamptz, bigint, integer);
drop function if exists audit.entry_hash(audit.logs);

alter table audit.logs rename to logs_sealed;
alter table audit.logs_sealed drop constraint logs_pkey;
-- Ids now come from a sequence of the parent (identity does not pass to partitions
-- the same way on PostgreSQL 15 and 17); entries keep their id when they are sealed.
alter table audit.logs_sealed alter column id drop identity;
create sequence audit.logs_id_seq as bigint;
select setval('audit.logs_id_seq', (select coalesce(max(id), 0) + 1 from audit.logs_sealed), false);
alter table audit.logs_sealed add column sealed boolean not null default true;

create table audit.logs (
    brand_id uuid not null,
    occurred_at timestamptz not null,
    id bigint not null default nextval('audit.logs_id_seq'),
    table_name text not null,
    record_key jsonb not null,
    operation text not null constraint logs_operation_check check (
        operation in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    ),
    old_data jsonb,
    new_data jsonb,
    actor_id uuid,
    actor_role text,
    txid bigint not null default pg_current_xact_id()::text::bigint,
    request_id text,
    client_ip inet,
    sealed boolean not null default false,
    primary key (brand_id, occurred_at, id, sealed)
) partition by list (sealed);
alter sequence audit.logs_id_seq owned by audit.logs.id;

alter table audit.logs attach partition audit.logs_sealed for values in (true);  -- noqa: PRS
create table audit.logs_inbox partition of audit.logs for values in (false)
with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
alter table audit.logs enable row level security;
alter table audit.logs_inbox enable row level security;

comment on table audit.logs is
'One entry per captured change: the inbox (not yet sealed) and the sealed log. Append-only: '
'updates and deletes are refused; retention drops whole monthly partitions (audit.drop_before).';
comment on table audit.logs_inbox is
'Entries not yet sealed: what the capture triggers write (one index, no monthly routing). '
'audit.seal() chains them and moves them to audit.logs_sealed; nothing else may remove them.';
comment on table audit.logs_sealed is 'Sealed entries, partitioned by month.';
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
comment on column audit.logs.txid is 'Transaction id (64-bit, as bigint); orders sealing.';
comment on column audit.logs.request_id is 'X-Request-Id from PostgREST''s request.headers.';
comment on column audit.logs.client_ip is 'First X-Forwarded-For hop, as evidence (not trusted).';
comment on column audit.logs.sealed is 'Whether audit.seal() has chained the entry yet.';
