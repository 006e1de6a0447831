-- brandbase 0003 (health): the probes every module registers, and their thresholds.

create schema health;
comment on schema health is 'Health checks and metrics: one probe per concern, registered by modules.';

create table health.probes (
    name text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
    module text not null,
    probe regprocedure not null,
    unit text not null,
    degraded_at numeric,
    down_at numeric,
    description text not null,
    check (degraded_at is null or down_at is null or degraded_at <= down_at)
);
comment on table health.probes is
'Registered health probes: probe() returns (value numeric, detail text); the value is compared '
'with degraded_at / down_at (null: never). Adjust thresholds with update.';
comment on column health.probes.unit is 'Unit of the value, e.g. seconds, ratio, count.';
