-- brandbase 0018 (quotas): buffered metering. A metric marked buffered counts into an
-- unlogged table, so metering it writes no WAL: the request hook's API-call count no
-- longer makes every request a durable commit. quotas.flush() copies the counts into
-- quotas.usage every minute; a crash forgets at most the counts since the last flush
-- (crash recovery empties unlogged tables, and counting resumes from quotas.usage).

alter table quotas.metrics add column buffered boolean not null default false;
comment on column quotas.metrics.buffered is
'Counted in the unlogged quotas.counters and flushed to quotas.usage every minute: no WAL '
'per consumption; a crash forgets the counts since the last flush.';
update quotas.metrics set buffered = true
where metric = 'api_calls';

-- No foreign keys: checking one locks the referenced row, which writes WAL. Rows of
-- deleted brands or metrics are dropped by quotas.flush().
create unlogged table quotas.counters (
    brand_id uuid not null,
    metric text not null,
    period_start timestamptz not null,
    used bigint not null check (used >= 0),
    primary key (brand_id, metric, period_start)
);
comment on table quotas.counters is
'Usage of buffered metrics per brand, metric and period: the whole period''s count, started '
'from quotas.usage and copied back to it by quotas.flush(). Read both through quotas.metered().';

alter table quotas.counters enable row level security;
