-- versions: capture. A statement-level trigger (the core's capture helpers) stores each
-- statement raw in versions.captures: its transition rows as json (json_agg, no parse into
-- jsonb and no per-row lookup on the write path) and the statement's constants. Numbering
-- is versions.seal()'s work: a record's changes are captured in the order they happen
-- (its row lock orders them, and a capture's id is taken at the end of the statement), so
-- a record's next version is its latest plus its rank among the captures not numbered
-- yet, in capture order. Readers number the pending captures the same way
-- (versions.content_versions), so a version has its final number as soon as it commits.
drop function if exists versions._version(text, text, text, text[], text, jsonb, uuid);
drop function if exists versions._versions(versions.captures);

-- Plain SQL without a SET clause, every name qualified, so that it inlines (as audit._entries).
create or replace function versions._versions(
    cap_id bigint, cap_at timestamptz, cap_table text, cap_operation text, cap_brand_column text,
    cap_key_columns text[], cap_state_column text, cap_old_rows json, cap_new_rows json, cap_author_id uuid
)
returns table (
    brand_id uuid, table_name text, record_key jsonb, operation text, data jsonb, state text,
    author_id uuid, created_at timestamptz, capture_id bigint, pos bigint
)
language sql
stable
parallel safe
as $$
    select (r.data ->> _versions.cap_brand_column)::uuid, _versions.cap_table,
           brand.row_key(r.data, _versions.cap_key_columns), _versions.cap_operation, r.data,
           r.data ->> _versions.cap_state_column, _versions.cap_author_id, _versions.cap_at, _versions.cap_id, r.pos
    from (
        -- Each row is parsed into jsonb once (offset 0 keeps the planner from copying the
        -- cast into every use of the column).
        select x.pos, x.data
        from (
            select e.ord as pos, e.value::jsonb as data
            from json_array_elements(_versions.cap_new_rows) with ordinality as e (value, ord)
            offset 0
        ) as x
        where _versions.cap_operation = 'INSERT'
        union all
        -- The tombstone holds the row as it was.
        select x.pos, x.data
        from (
            select e.ord as pos, e.value::jsonb as data
            from json_array_elements(_versions.cap_old_rows) with ordinality as e (value, ord)
            offset 0
        ) as x
        where _versions.cap_operation = 'DELETE'
        union all
        -- Old and new rows pair by position; a row the statement did not change gets no version.
        select u.pos, u.new_row
        from (
            select p.ord as pos, p.old_json::jsonb as old_row, p.new_json::jsonb as new_row
            from rows from (
                json_array_elements(_versions.cap_old_rows), json_array_elements(_versions.cap_new_rows)
            ) with ordinality as p (old_json, new_json, ord)
            offset 0
        ) as u
        where _versions.cap_operation = 'UPDATE' and u.old_row is distinct from u.new_row
    ) as r
$$;

comment on function versions._versions(
    bigint, timestamptz, text, text, text, text[], text, json, json, uuid
) is
'The versions one capture holds, unnumbered, in statement order (capture_id, pos).';

create or replace function versions._number(only_table text)
returns table (
    brand_id uuid, table_name text, record_key jsonb, version integer, operation text, data jsonb,
    state text, author_id uuid, created_at timestamptz, capture_id bigint
)
language sql
stable
set search_path = pg_catalog, pg_temp
set enable_seqscan = off
as $$
    -- Every pending version (of one table, or of all), numbered after its record's latest
    -- sealed version in capture order: what versions.seal() will store.
    with fresh as materialized (
        select v.*
        from versions.captures as c
        cross join lateral versions._versions(
            c.id, c.occurred_at, c.table_name, c.operation, c.brand_column, c.key_columns, c.state_column,
            c.old_rows, c.new_rows, c.author_id
        ) as v
        where only_table is null or c.table_name = only_table
    )
    select f.brand_id, f.table_name, f.record_key,
           (coalesce((
               select max(s.version) from versions.sealed_versions as s
               where s.brand_id = f.brand_id and s.table_name = f.table_name and s.record_key = f.record_key
           ), 0) + row_number() over (
               partition by f.brand_id, f.table_name, f.record_key order by f.capture_id, f.pos
           ))::integer,
           f.operation, f.data, f.state, f.author_id, f.created_at, f.capture_id
    from fresh as f
$$;

comment on function versions._number(text) is
'The pending versions (of one table, or all), with the numbers versions.seal() will give them.';

create or replace function versions.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
-- tg_argv: brand column, key columns, state column ('' = none). As in audit.tg_capture(),
-- each operation is one statement that reads the trigger's arguments itself (PL/pgSQL
-- sets up every variable again in each transaction). A statement that changed no row
-- stores nothing.
begin
    if tg_op = 'UPDATE' then
        insert into versions.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                       state_column, old_rows, new_rows, author_id)
        select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
               tg_argv[0], tg_argv[1]::text[], nullif(tg_argv[2], ''), o.agg, n.agg, ctx.actor_id
        from (select json_agg(t.*) as agg from old_rows as t) as o,
            (select json_agg(t.*) as agg from new_rows as t) as n,
            brand.request_context() as ctx
        where o.agg is not null;
    elsif tg_op = 'INSERT' then
        insert into versions.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                       state_column, new_rows, author_id)
        select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
               tg_argv[0], tg_argv[1]::text[], nullif(tg_argv[2], ''), n.agg, ctx.actor_id
        from (select json_agg(t.*) as agg from new_rows as t) as n,
            brand.request_context() as ctx
        where n.agg is not null;
    else
        insert into versions.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                       state_column, old_rows, author_id)
        select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
               tg_argv[0], tg_argv[1]::text[], nullif(tg_argv[2], ''), o.agg, ctx.actor_id
        from (select json_agg(t.*) as agg from old_rows as t) as o,
            brand.request_context() as ctx
        where o.agg is not null;
    end if;
    return null;
end
$$;

comment on function versions.tg_capture() is
'Statement-level trigger that stores each statement''s transition rows raw (json) in versions.captures.';

create or replace function versions.track(
    target regclass,
    keep_last integer default null,
    keep_for interval default null,
    state_column name default null,
    brand_column name default 'brand_id'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    keys text[] := brand.key_columns(target);
    -- The draft/published state: the named column, else a column called status or state.
    state_col text := coalesce(state_column, (
        select a.attname from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname in ('status', 'state') and not a.attisdropped
        order by a.attname = 'status' desc limit 1
    ));
begin
    perform brand.assert_columns(target, array_remove(array[brand_column::text, state_column::text], null));
    if not brand_column::text = any(keys) then
        raise exception 'the primary key of % does not contain %', target, brand_column
            using errcode = '42P16',
                  hint = 'Brand-scoped tables lead their primary key with brand_id (see docs/scaling.md).';
    end if;
    if keep_last <= 0 or keep_for <= interval '0' then
        raise exception 'retention must be positive (keep_last %, keep_for %)', keep_last, keep_for
            using errcode = '22023', hint = 'Leave both null to keep every version.';
    end if;
    perform brand.install_capture_triggers(
        target, 'versions_capture', 'versions.tg_capture'::regproc,
        array[brand_column::text, keys::text, coalesce(state_col, '')]
    );
    insert into versions.tracked (table_name, key_columns, brand_column, state_column, keep_last, keep_for)
    values (target::text, keys, brand_column, state_col, keep_last, keep_for)
    on conflict (table_name) do update
    set key_columns = excluded.key_columns, brand_column = excluded.brand_column,
        state_column = excluded.state_column, keep_last = excluded.keep_last,
        keep_for = excluded.keep_for;
end
$$;

comment on function versions.track(regclass, integer, interval, name, name) is
'Starts (or re-configures) versioning a brand-scoped table: every insert/update stores a '
'numbered version; retention keeps the last keep_last versions or those newer than keep_for; '
'the state column defaults to one named status or state.';

create or replace function versions.untrack(target regclass)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.drop_capture_triggers(target, 'versions_capture');
    delete from versions.tracked where table_name = target::text;
end
$$;

comment on function versions.untrack(regclass) is 'Stops versioning a table; its versions stay. Idempotent.';

revoke all on function
versions._versions(bigint, timestamptz, text, text, text, text[], text, json, json, uuid),
versions._number(text),
versions.tg_capture(),
versions.track(regclass, integer, interval, name, name),
versions.untrack(regclass)
from public;

-- What readers see: versions.content_versions, the stored versions and the pending ones,
-- numbered. Captures hold statements, not brands: the pending part is read through a
-- definer function that applies what the policies of versions.sealed_versions apply.
create or replace function versions.pending_versions()
returns table (
    brand_id uuid, table_name text, record_key jsonb, version integer, operation text, data jsonb,
    state text, author_id uuid, created_at timestamptz
)
language sql
stable
security definer
rows 100
set search_path = pg_catalog, pg_temp
as $$
    select p.brand_id, p.table_name, p.record_key, p.version, p.operation, p.data, p.state, p.author_id,
           p.created_at
    from versions._number(null) as p
    where (
        select brand.caller_is_service()
            or pg_catalog.pg_has_role(brand.invoking_role(), r.relowner, 'USAGE')
            or coalesce((select a.rolbypassrls from pg_catalog.pg_roles as a
                         where a.rolname = brand.invoking_role()), false)
        from pg_catalog.pg_class as r where r.oid = 'versions.sealed_versions'::regclass
    ) or p.brand_id in (select brand.brands_with('content.read'))
$$;

comment on function versions.pending_versions() is
'The versions not sealed yet, numbered, as versions.content_versions shows them: only those of '
'brands where the caller holds content.read (all of them for service_role and the owner).';

create or replace view versions.content_versions
with (security_invoker = true) as
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
from versions.sealed_versions as s
union all
select
    p.brand_id,
    p.table_name,
    p.record_key,
    p.version,
    p.operation,
    p.data,
    p.state,
    p.author_id,
    p.created_at
from versions.pending_versions() as p;

comment on view versions.content_versions is
'One row per version of a tracked row, sealed or pending (numbered as the sealer will): the '
'whole row as it was after the change (for DELETE, as it was before).';

create or replace function versions._record_versions(brand_id uuid, table_name text, record_key jsonb)
returns setof versions.content_versions
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select s.*
    from versions.sealed_versions as s
    where s.brand_id = _record_versions.brand_id and s.table_name = _record_versions.table_name
        and s.record_key = _record_versions.record_key
    union all
    select p.brand_id, p.table_name, p.record_key, p.version, p.operation, p.data, p.state, p.author_id,
           p.created_at
    from versions._number(_record_versions.table_name) as p
    where p.brand_id = _record_versions.brand_id and p.record_key = _record_versions.record_key
$$;

comment on function versions._record_versions(uuid, text, jsonb) is
'Every version of one record, sealed or pending (internal: no permission check).';

-- enable_seqscan off: each version's base is an index probe of its record's latest stored
-- version; planned on a table without statistics yet (a fresh install), that probe
-- became a scan of versions.sealed_versions per version, quadratic in the round's size.
create or replace function versions.seal()
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
set jit = off
set enable_seqscan = off
as $$
declare
    lower_id bigint;
    upto_id bigint;
    taken bigint;
    next_xid bigint;
    numbered integer;
begin
    perform pg_advisory_xact_lock(pg_catalog.hashtext('versions.seal'));
    lower_id := coalesce((select max(r.upto_capture) from versions.seal_rounds as r), 0);
    -- A mark: every capture id taken so far belongs to a transaction below next_xid. A
    -- writer has its transaction id before its capture takes an id (it changed the
    -- table first), and this transaction's id, assigned after the sequence is read, is
    -- above every id assigned before. (A snapshot's xmax is no such bound: it is the
    -- latest completed id + 1, and running transactions above it are not listed.) A
    -- transaction that already has an id, having written before it seals, takes no mark.
    if pg_current_xact_id_if_assigned() is null then
        taken := (select case when q.is_called then q.last_value else q.last_value - 1 end
                  from versions.captures_id_seq as q);
        next_xid := pg_current_xact_id()::text::bigint;
        insert into versions.seal_marks (upto_capture, below_xid) values (taken, next_xid)
        on conflict (upto_capture) do nothing;
    end if;
    -- Captures up to a mark whose transactions below below_xid have all finished are
    -- final: none below it can still appear, so numbering them in id order is the order
    -- of change. (xmin counts this transaction: below_xid = our own id passes.)
    upto_id := greatest(lower_id, coalesce((
        select max(m.upto_capture) from versions.seal_marks as m
        where m.below_xid <= pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ), 0));
    if upto_id = lower_id then
        return 0;
    end if;
    with fresh as materialized (
        select v.*
        from versions.captures as c
        cross join lateral versions._versions(
            c.id, c.occurred_at, c.table_name, c.operation, c.brand_column, c.key_columns, c.state_column,
            c.old_rows, c.new_rows, c.author_id
        ) as v
        where c.id > lower_id and c.id <= upto_id
    ),
    stored as (
        insert into versions.sealed_versions (brand_id, table_name, record_key, version, operation, data, state,
                                              author_id, created_at)
        select f.brand_id, f.table_name, f.record_key,
               coalesce((
                   select max(s.version) from versions.sealed_versions as s
                   where s.brand_id = f.brand_id and s.table_name = f.table_name and s.record_key = f.record_key
               ), 0) + row_number() over (
                   partition by f.brand_id, f.table_name, f.record_key order by f.capture_id, f.pos
               ),
               f.operation, f.data, f.state, f.author_id, f.created_at
        from fresh as f
        returning 1
    )
    insert into versions.seal_rounds (upto_capture, versions)
    select upto_id, count(*) from stored
    returning versions into numbered;
    delete from versions.captures as c where c.id > lower_id and c.id <= upto_id;
    delete from versions.seal_marks as m where m.upto_capture <= upto_id;
    return numbered;
end
$$;

comment on function versions.seal() is
'Numbers and stores the pending versions whose captures are final (every earlier capture is '
'visible), and removes those captures; returns how many versions. One transaction: a sealer '
'killed mid-round leaves everything as it was.';

revoke all on function
versions.pending_versions(),
versions._record_versions(uuid, text, jsonb),
versions.seal()
from public;
