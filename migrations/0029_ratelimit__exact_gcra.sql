-- brandbase 0029 (ratelimit): exact GCRA. The emission interval period / rate is seldom a
-- whole number of microseconds (60 s / 9,000,000 = 6.67 µs); truncated, it let keys refill
-- up to 20% too fast. A key's TAT is now tat + rem / den microseconds: the whole
-- microseconds as before, plus the remainder in units of 1/den µs, where den is the rate
-- the key was last counted at (ratelimit.check(), sql/ratelimit/10_gcra.sql), so every
-- step carries its remainder and nothing is ever rounded away.
--
-- Existing state upgrades exactly: a row written before this migration held a whole
-- number of microseconds, which is rem 0 over den 1. Readers of tat alone (webhooks'
-- claim) keep reading the whole microseconds, never more than 1 µs early.

alter table ratelimit.buckets
add column rem bigint not null default 0,
add column den bigint not null default 1;

comment on column ratelimit.buckets.tat is
'Theoretical arrival time, whole epoch microseconds (rounded down); the exact TAT is '
'tat + rem / den µs. Past means a full allowance.';
comment on column ratelimit.buckets.rem is
'The TAT''s fraction of a microsecond, in units of 1/den µs (0 <= rem < den).';
comment on column ratelimit.buckets.den is
'The rate the key was last counted at: the denominator of rem (1 for rows that count whole '
'microseconds).';
