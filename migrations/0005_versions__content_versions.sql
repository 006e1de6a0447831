-- brandbase 0005 (versions): numbered versions of tracked rows, and which one is live.

create schema versions;
comment on schema versions is
'Content versioning: numbered snapshots of tracked rows, diff, restore, publish.';
grant usage on schema versions to authenticated, service_role;

create table versions.tracked (
    table_name text primary key,
    key_columns text[] not null check (cardinality(key_columns) > 0),
    brand_column text not null,
    state_column text,
    keep_last integer check (keep_last > 0),
    keep_for interval check (keep_for > interval '0'),
    tracked_at timestamptz not null default now()
);
comment on table versions.tracked is
'Tables under versions.track(): key, brand and draft/published state columns, retention.';
comment on column versions.tracked.keep_last is 'Retention: keep at least the last N versions per record.';
comment on column versions.tracked.keep_for is 'Retention: keep every version newer than this.';

create table versions.content_versions (
    brand_id uuid not null,
    table_name text not null,
    record_key jsonb not null,
    version integer not null check (version > 0),
    operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
    data jsonb not null,
    state text,
    author_id uuid,
    created_at timestamptz not null,
    primary key (brand_id, table_name, record_key, version)
);
comment on table versions.content_versions is
'One row per version of a tracked row: the whole row as it was after the change '
'(for DELETE, as it was before).';
comment on column versions.content_versions.record_key is 'Primary key of the row as {"col": value}.';
comment on column versions.content_versions.state is
'The row''s draft/published state column at that version, when the table has one.';
comment on column versions.content_versions.author_id is 'auth.uid() of whoever made the change.';

create table versions.published (
    brand_id uuid not null,
    table_name text not null,
    record_key jsonb not null,
    version integer not null,
    published_at timestamptz not null,
    published_by uuid,
    primary key (brand_id, table_name, record_key)
);
comment on table versions.published is 'Which version of each record is live (versions.publish).';

alter table versions.content_versions enable row level security;
alter table versions.published enable row level security;
