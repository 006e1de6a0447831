-- audit: tamper evidence. audit.seal() runs in the background (pg_cron every minute, or
-- the worker): it expands the captures of the transactions that finished since the last
-- round into entries, hashes and chains them per brand and stores them in the sealed
-- monthly log. Writers
-- never wait for it, and it never misses an entry: a round seals exactly the
-- transactions below its snapshot's xmin that the previous round could not yet see as
-- finished.

-- The hash of an entry's fields, one argument each, so that it inlines into the sealer's
-- statement: the whole-row form below is not inlined (its argument is used thirteen
-- times), and a SQL function call per entry cost more than the hash itself.
create or replace function audit._hash_entry(
    brand_id uuid, id bigint, occurred_at timestamptz, table_name text, record_key jsonb, operation text,
    old_data jsonb, new_data jsonb, actor_id uuid, actor_role text, txid bigint, request_id text,
    client_ip inet
)
returns bytea
language sql
stable  -- as jsonb_build_array and convert_to: an immutable label would block inlining
parallel safe
as $$
    select pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        _hash_entry.brand_id, _hash_entry.id, extract(epoch from _hash_entry.occurred_at),
        _hash_entry.table_name, _hash_entry.record_key, _hash_entry.operation, _hash_entry.old_data,
        _hash_entry.new_data, _hash_entry.actor_id, _hash_entry.actor_role, _hash_entry.txid,
        _hash_entry.request_id, pg_catalog.host(_hash_entry.client_ip)
    )::pg_catalog.text, 'UTF8'))
$$;

comment on function audit._hash_entry(
    uuid, bigint, timestamptz, text, jsonb, text, jsonb, jsonb, uuid, text, bigint, text, inet
) is
'audit.entry_hash() of an entry given field by field (inlines into the sealer).';

create or replace function audit.entry_hash(e audit.logs)
returns bytea
language sql
stable  -- as audit._hash_entry(): inlines into audit.verify
parallel safe
as $$
    select audit._hash_entry(
        e.brand_id, e.id, e.occurred_at, e.table_name, e.record_key, e.operation, e.old_data, e.new_data,
        e.actor_id, e.actor_role, e.txid, e.request_id, e.client_ip
    )
$$;

comment on function audit.entry_hash(audit.logs) is
'sha256 over every field of an entry, independent of session settings such as TimeZone.';

create or replace function audit.chain_step(state bytea, entry bytea)
returns bytea
language sql
immutable
parallel safe
as $$
    select case when state is null then entry else sha256(state || entry) end
$$;

comment on function audit.chain_step(bytea, bytea) is
'One link of the chain: sha256(previous chain hash || entry hash); the first link is the entry hash.';

drop aggregate if exists audit.hash_chain(bytea);
create aggregate audit.hash_chain (bytea)(sfunc = audit.chain_step, stype = bytea);
comment on aggregate audit.hash_chain (bytea) is
'Running hash chain, as a window aggregate ordered by sealing order.';

create or replace function audit.seal()
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
    lower_txid bigint;
    upper_txid bigint;
    sealed integer;
begin
    -- One sealer at a time; writers never take this lock. The bounds are read after it,
    -- so a sealer that waited sees the previous round.
    perform pg_advisory_xact_lock(pg_catalog.hashtext('audit.seal'));
    upper_txid := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    lower_txid := coalesce((select max(r.below_txid) from audit.seal_rounds as r), 0);
    with fresh_rows as materialized (
        -- The entries of the captures of finished transactions (expanded once) and, from
        -- before 0028, entries still in the inbox.
        select e.*
        from audit.captures as c
        cross join lateral audit._entries(
        c.id, c.txid, c.occurred_at, c.table_name, c.operation, c.brand_column, c.key_columns,
        c.skip_noop_updates, c.old_rows, c.new_rows, c.actor_id, c.actor_role, c.request_id, c.client_ip
    ) as e
        where c.txid >= lower_txid and c.txid < upper_txid
        union all
        select l.brand_id, l.occurred_at, l.id, l.table_name, l.record_key, l.operation, l.old_data,
               l.new_data, l.actor_id, l.actor_role, l.txid, l.request_id, l.client_ip
        from audit.logs_inbox as l
        where l.txid >= lower_txid and l.txid < upper_txid
    ),
    fresh as (
        select f.*,
               audit._hash_entry(
                   f.brand_id, f.id, f.occurred_at, f.table_name, f.record_key, f.operation, f.old_data,
                   f.new_data, f.actor_id, f.actor_role, f.txid, f.request_id, f.client_ip
               ) as entry_hash
        from fresh_rows as f
    ),
    heads as (
        select b.brand_id, c.seq, c.chain_hash
        from (select distinct f.brand_id from fresh as f) as b
        cross join lateral (
            select c.seq, c.chain_hash from audit.chain as c
            where c.brand_id = b.brand_id order by c.seq desc limit 1
        ) as c
    ),
    -- Each brand's current head goes first in its window, so the chain continues from it.
    links as (
        select brand_id, id, occurred_at, entry_hash,
               audit.hash_chain(link) over chain_order as chain_hash,
               row_number() over chain_order - 1 as pos
        from (
            select h.brand_id, null::bigint as id, null::timestamptz as occurred_at,
                   null::bytea as entry_hash, h.chain_hash as link, 0 as ord, 0::bigint as txid
            from heads as h
            union all
            select f.brand_id, f.id, f.occurred_at, f.entry_hash, f.entry_hash, 1, f.txid
            from fresh as f
        ) as w
        window chain_order as (partition by brand_id order by ord, txid, id)
    ),
    written as (
        insert into audit.chain (brand_id, seq, entry_id, entry_occurred_at, entry_hash, chain_hash)
        -- pos counts from 0 at the head row, or from 0 at the first entry of a new chain.
        select l.brand_id, coalesce(h.seq, 0) + l.pos + (h.seq is null)::int,
               l.id, l.occurred_at, l.entry_hash, l.chain_hash
        from links as l
        left join heads as h on l.brand_id = h.brand_id
        where l.id is not null
        returning 1
    ),
    -- Runs although nothing reads it (a data-modifying WITH always does).
    stored as (
        insert into audit.logs_sealed (brand_id, occurred_at, id, table_name, record_key, operation, old_data,
                                       new_data, actor_id, actor_role, txid, request_id, client_ip, sealed)
        select f.brand_id, f.occurred_at, f.id, f.table_name, f.record_key, f.operation, f.old_data,
               f.new_data, f.actor_id, f.actor_role, f.txid, f.request_id, f.client_ip, true
        from fresh_rows as f
        returning 1
    )
    insert into audit.seal_rounds (below_txid, entries)
    select upper_txid, count(*) from written
    returning entries into sealed;
    -- Separate statements, so the delete checks see the seals and the round just written.
    delete from audit.captures as c where c.txid >= lower_txid and c.txid < upper_txid;
    delete from audit.logs_inbox as i where i.txid >= lower_txid and i.txid < upper_txid;
    return sealed;
end
$$;

comment on function audit.seal() is
'Turns the captures of every transaction finished since the last round into entries, chains '
'and stores them in the sealed log, and removes the captures; returns how many entries. One '
'transaction: a sealer killed mid-round leaves everything as it was.';

create or replace function audit.verify(brand_id uuid)
returns table (entry_id bigint, problem text, detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    with sealed as (
        select c.*, l.id as found_id, audit.entry_hash(l) as actual_hash,
               audit.chain_step(lag(c.chain_hash) over (order by c.seq), c.entry_hash) as expected_chain,
               c.seq = min(c.seq) over () as is_anchor
        from audit.chain as c
        left join audit.logs as l
            on c.brand_id = l.brand_id and c.entry_occurred_at = l.occurred_at and c.entry_id = l.id
        where c.brand_id = verify.brand_id
    ),
    sealed_below as (
        select max(r.below_txid) as below_txid from audit.seal_rounds as r
    )
    select s.entry_id, 'removed', 'sealed as #' || s.seq || ', no longer in audit.logs'
    from sealed as s where s.found_id is null
    union all
    select s.entry_id, 'altered', 'content differs from what was sealed as #' || s.seq
    from sealed as s where s.found_id is not null and s.actual_hash <> s.entry_hash
    union all
    select s.entry_id, 'chain broken', 'seal #' || s.seq || ' does not follow from the one before'
    from sealed as s where not s.is_anchor and s.chain_hash <> s.expected_chain
    union all
    select l.id, 'inserted out of band', 'transaction ' || l.txid || ' was sealed, this entry was not'
    from audit.logs as l, sealed_below as b
    where l.brand_id = verify.brand_id and l.txid < b.below_txid
        and not exists (
            select from audit.chain as c where c.brand_id = l.brand_id and c.entry_id = l.id
        )
    order by 1
$$;

comment on function audit.verify(uuid) is
'Checks a brand''s log against its seals; one row per problem: altered, removed, '
'inserted out of band, chain broken. No rows: intact.';

create or replace function audit.head(brand_id uuid)
returns table (seq bigint, chain_hash text, sealed_at timestamptz)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select c.seq, encode(c.chain_hash, 'hex'), c.sealed_at
    from audit.chain as c
    where c.brand_id = head.brand_id
    order by c.seq desc
    limit 1
$$;

comment on function audit.head(uuid) is
'The latest seal of a brand: publish it elsewhere (a ticket, an email) to anchor the chain.';

revoke all on function
audit._hash_entry(uuid, bigint, timestamptz, text, jsonb, text, jsonb, jsonb, uuid, text, bigint, text, inet),
audit.entry_hash(audit.logs),
audit.chain_step(bytea, bytea),
audit.seal(),
audit.verify(uuid),
audit.head(uuid)
from public;

revoke all on function audit.hash_chain(bytea) from public;
