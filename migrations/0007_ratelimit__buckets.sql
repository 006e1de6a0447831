-- brandbase 0007 (ratelimit): GCRA state, one row per key. Unlogged: the hot path writes
-- no WAL; after a crash every key starts with a full allowance, which a limiter may.

create schema ratelimit;
comment on schema ratelimit is 'Rate limiting with GCRA (generic cell rate algorithm), as in redis-cell.';

create unlogged table ratelimit.buckets (
    key text primary key check (length(key) between 1 and 512),
    tat bigint not null
);
comment on table ratelimit.buckets is
'Per key, the theoretical arrival time (TAT) of GCRA: the moment the key''s allowance is '
'whole again. Rows whose TAT has passed carry no information and are pruned.';
comment on column ratelimit.buckets.tat is
'Theoretical arrival time in epoch microseconds (exact integer arithmetic); past means a '
'full allowance.';
