-- audit: its health probe. Sealing runs in the background; if it stops, entries pile
-- up unsealed and tampering with them would go unnoticed.

create or replace function audit.probe_seal_lag(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(round(extract(epoch from now() - min(x.occurred_at))::numeric, 1), 0),
           count(*) || ' captured statements not yet sealed'
    from (
        select c.occurred_at, c.txid from audit.captures as c
        union all
        select l.occurred_at, l.txid from audit.logs_inbox as l
    ) as x
    where x.txid >= coalesce((select max(r.below_txid) from audit.seal_rounds as r), 0)
        and x.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
$$;

comment on function audit.probe_seal_lag() is
'Seconds the oldest finished-but-unsealed audit entry has waited for audit.seal().';

select health.register(
    'audit_seal_lag', 'audit', 'audit.probe_seal_lag()', 'seconds', 300, 3600,
    'age of the oldest unsealed audit entry'
);

revoke all on function audit.probe_seal_lag() from public;
