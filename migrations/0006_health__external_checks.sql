-- brandbase 0006 (health): external services (an email provider, a payment API…) that the
-- worker probes over HTTP; their last result joins the health document.

create table health.external_checks (
    name text primary key check (name ~ '^[a-z][a-z0-9_-]*$'),
    url text not null check (url ~ '^https?://'),
    timeout_ms integer not null default 5000 check (timeout_ms between 100 and 60000),
    last_ok boolean,
    last_code integer,
    last_latency_ms numeric(10, 1),
    last_error text,
    checked_at timestamptz
);
comment on table health.external_checks is
'External services to probe (brandbase health --probe-external, run by the worker or cron); '
'the last result of each.';
