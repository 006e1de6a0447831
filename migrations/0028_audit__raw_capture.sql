-- brandbase 0028 (audit, versions): raw capture per statement (issue 16). The capture
-- triggers of both modules now store each statement raw: its transition rows as json
-- (json_agg, no parse into jsonb on the write path) plus the statement's constants.
-- Turning a capture into entries (changed columns, keys, brands) and versions (numbers)
-- is the sealers' work (audit.seal(), versions.seal()); readers expand what is not
-- sealed yet, so audit.logs and versions.content_versions become views over the sealed
-- rows and the pending captures (sql/audit/40_api.sql, sql/versions/40_api.sql).
--
-- Upgrade: existing entries stay where they are (audit.logs_sealed, keeping their ids;
-- inbox entries are sealed by the next audit.seal() round, as before); existing versions
-- stay in versions.sealed_versions with their numbers. New audit entry ids are above
-- every existing one.

-- Depend on the row type of audit.logs / versions.content_versions, which become views;
-- sql/audit and sql/versions re-create them.
drop function if exists api.audit_activity(uuid, uuid, text, jsonb, timestamptz, bigint, integer);
drop function if exists audit.entry_hash(audit.logs);
drop function if exists versions.history(regclass, jsonb, text);

-- audit: the partitioned table of entries keeps its partitions (logs_inbox, logs_sealed
-- and its months), its indexes, policies and ids; only the parent's name changes, so
-- that audit.logs can show pending captures too.
alter table audit.logs rename to entries;
comment on table audit.entries is
'Entries as stored: sealed (audit.logs_sealed, by month) and, from before 0028, unsealed '
'(audit.logs_inbox, drained by audit.seal()). Read audit.logs, which adds the pending captures.';

-- Until sql/audit re-creates it over the pending captures too, the old name is a plain view
-- of the stored entries, so readers keep working between this migration and the repeatables.
create view audit.logs with (security_invoker = true) as
select
    e.brand_id,
    e.occurred_at,
    e.id,
    e.table_name,
    e.record_key,
    e.operation,
    e.old_data,
    e.new_data,
    e.actor_id,
    e.actor_role,
    e.txid,
    e.request_id,
    e.client_ip,
    e.sealed
from audit.entries as e;

create sequence audit.captures_id_seq as bigint;
-- An entry's id is its capture's id * 2^20 + its position in the statement, so it is known
-- before sealing and never changes; capture ids start above every existing entry id.
select setval(
    'audit.captures_id_seq',
    greatest(
        (select coalesce(max(e.id), 0) from audit.entries as e), (select last_value from audit.logs_id_seq)
    ) / 1048576 + 1,
    false
);

create table audit.captures (
    id bigint not null default nextval('audit.captures_id_seq') primary key,
    txid bigint not null,
    occurred_at timestamptz not null,
    table_name text not null,
    operation text not null constraint captures_operation_check check (
        operation in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    ),
    brand_column text not null,
    key_columns text[] not null,
    skip_noop_updates boolean not null,
    old_rows json,
    new_rows json,
    actor_id uuid,
    actor_role text,
    request_id text,
    client_ip inet
) with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
alter sequence audit.captures_id_seq owned by audit.captures.id;
alter table audit.captures enable row level security;

comment on table audit.captures is
'What the capture triggers write, one row per statement (one index, on the id: the write path pays '
'for little more than the row). audit.seal() turns the captures of finished transactions into sealed '
'entries and removes them; audit.logs shows the rest as entries already.';
comment on column audit.captures.id is
'Statement id: its entries are id * 2^20 + position (a statement of more rows takes several captures).';
comment on column audit.captures.txid is 'Transaction id (64-bit); orders sealing.';
comment on column audit.captures.brand_column is 'The tracked table''s brand column ('''' = none).';
comment on column audit.captures.key_columns is 'The tracked table''s primary key columns at capture time.';
comment on column audit.captures.skip_noop_updates is
'Whether an UPDATE row that changed nothing makes no entry.';
comment on column audit.captures.old_rows is
'UPDATE, DELETE: the transition table of old rows, as json (excluded columns removed).';
comment on column audit.captures.new_rows is
'INSERT, UPDATE: the transition table of new rows, as json (excluded columns removed).';

-- versions: the stored versions keep their table and numbers under a new name.
alter table versions.content_versions rename to sealed_versions;
comment on table versions.sealed_versions is
'Numbered versions as stored by versions.seal(). Read versions.content_versions, which adds '
'the versions still pending in versions.captures.';

-- Likewise a plain (so updatable) view under the old name until sql/versions re-creates it:
-- the previous release's capture trigger inserts into it while the upgrade runs.
create view versions.content_versions with (security_invoker = true) as
select
    s.brand_id,
    s.table_name,
    s.record_key,
    s.version,
    s.operation,
    s.data,
    s.state,
    s.author_id,
    s.created_at
from versions.sealed_versions as s;

create sequence versions.captures_id_seq as bigint;
create table versions.captures (
    id bigint not null default nextval('versions.captures_id_seq') primary key,
    txid bigint not null,
    occurred_at timestamptz not null,
    table_name text not null,
    operation text not null constraint captures_operation_check check (
        operation in ('INSERT', 'UPDATE', 'DELETE')
    ),
    brand_column text not null,
    key_columns text[] not null,
    state_column text,
    old_rows json,
    new_rows json,
    author_id uuid
) with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
alter sequence versions.captures_id_seq owned by versions.captures.id;
alter table versions.captures enable row level security;

comment on table versions.captures is
'What the versions trigger writes, one row per statement. versions.seal() numbers the versions '
'of captures every earlier capture of which is visible (see versions.seal_marks) and removes them.';
comment on column versions.captures.id is
'Statement order: a record''s changes are captured in the order they happen (its row lock orders them).';
comment on column versions.captures.old_rows is 'UPDATE, DELETE: the old rows, as json.';
comment on column versions.captures.new_rows is 'INSERT, UPDATE: the new rows, as json.';

create table versions.seal_marks (
    upto_capture bigint primary key,
    below_xid bigint not null,
    marked_at timestamptz not null default now()
);
alter table versions.seal_marks enable row level security;
comment on table versions.seal_marks is
'Sealing horizons: every capture id up to upto_capture was taken by a transaction with an id '
'below below_xid; once all of those have finished, those captures are final and can be numbered.';

create table versions.seal_rounds (
    id bigint generated always as identity primary key,
    upto_capture bigint not null,
    versions integer not null,
    sealed_at timestamptz not null default now()
);
alter table versions.seal_rounds enable row level security;
comment on table versions.seal_rounds is
'Each versions.seal() run: it numbered every capture up to upto_capture.';
