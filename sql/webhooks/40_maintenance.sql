-- webhooks: retention (settings.keep_for, 30 days by default), lease reaping, and the
-- health probe on delivery failure rates.

create or replace function webhooks.prune()
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cutoff timestamptz := now() - (select s.keep_for from webhooks.settings as s);
    removed bigint;
begin
    perform brand.ensure_partitions('webhooks.events', interval '1 day', 3);
    perform brand.ensure_partitions('webhooks.attempts', interval '1 day', 3);
    perform brand.drop_partitions_before('webhooks.events', cutoff);
    perform brand.drop_partitions_before('webhooks.attempts', cutoff);
    -- Finished deliveries go by age; a pending one keeps its event until it settles.
    delete from webhooks.deliveries where status <> 'pending' and completed_at < cutoff;
    get diagnostics removed = row_count;
    return removed;
end
$$;

comment on function webhooks.prune() is
'Retention: partitions of events and attempts ahead and behind, finished deliveries older '
'than settings.keep_for; returns the deliveries removed.';

create or replace function webhooks.probe_failure_rate(out value numeric, out detail text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(round(100.0 * count(*) filter (where a.status_code is null or a.status_code >= 300)
                          / nullif(count(*), 0), 1), 0),
           count(*) || ' attempts in the last hour, '
           || (select count(*) from webhooks.endpoints as e where not e.enabled) || ' endpoints disabled'
    from webhooks.attempts as a
    where a.attempted_at > now() - interval '1 hour'
$$;

comment on function webhooks.probe_failure_rate() is
'Percent of delivery attempts that failed in the last hour.';

select health.register(
    'webhook_failure_rate', 'webhooks', 'webhooks.probe_failure_rate()', 'percent', 20, 50,
    'share of webhook delivery attempts that failed in the last hour'
);

revoke all on function webhooks.prune(), webhooks.probe_failure_rate() from public;

select webhooks.prune();
select brand.schedule('webhooks-prune', '23 * * * *', 'select webhooks.prune()');
select brand.schedule('webhooks-reap', '* * * * *', 'select webhooks.reap()');
