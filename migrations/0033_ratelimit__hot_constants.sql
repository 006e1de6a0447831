-- brandbase 0033 (ratelimit): the hot path's constants, kept per key. ratelimit.check()'s
-- hot path used to derive its arithmetic from the arguments at every call (validity tests,
-- the emission interval, the tolerance); each operator costs a permission check and an
-- expression step per call. The general path (sql/ratelimit/10_gcra.sql), which validates
-- the arguments and computes exactly, now stores next to the state the arguments it
-- validated (at_*) and what the hot path needs for them; the hot path compares the
-- arguments with at_* and uses the stored values. The constants are a pure function of
-- (den = rate, at_period, at_burst, at_cost): no state writer can make them wrong, and
-- a row without them (null: written before this migration, by another writer, or for
-- arguments too large for the hot path's bigint bounds) takes the general path.

alter table ratelimit.buckets
add column at_period double precision,
add column at_period_us bigint,
add column at_burst integer,
add column at_cost integer,
add column step bigint,
add column step_rem bigint,
add column slack bigint,
add column cap integer,
add column t_less1 bigint,
add column scale double precision;

comment on column ratelimit.buckets.at_period is
'The period the hot constants were computed for, as the hot path reads its argument: '
'date_part(''epoch'', period) * 1e6 (below 2^52 µs, so it names one whole period_us).';
comment on column ratelimit.buckets.at_period_us is
'The same period in whole µs; with den (the rate), at_period, at_burst and at_cost the '
'arguments a call must repeat to take the hot path. Null: general path only.';
comment on column ratelimit.buckets.at_burst is 'The burst the hot constants were computed for.';
comment on column ratelimit.buckets.at_cost is 'The cost the hot constants were computed for.';
comment on column ratelimit.buckets.step is
'Whole µs of cost * period / rate (what one request adds to the TAT).';
comment on column ratelimit.buckets.step_rem is 'The remainder of step, in units of 1/den µs.';
comment on column ratelimit.buckets.slack is
'Whole µs of (burst + 1 - cost) * period / rate, rounded down: a TAT before now + slack conforms.';
comment on column ratelimit.buckets.cap is 'burst + 1, the capacity.';
comment on column ratelimit.buckets.t_less1 is
'period_us - 1: one emission interval in units of 1/den µs, less one (rounds remaining up).';
comment on column ratelimit.buckets.scale is 'den * 1e6: units of 1/den µs per second.';
