-- ratelimit: the limiter. The hot path is one UPDATE that advances an existing key's TAT
-- when the request conforms; only a new key, a denial, a request within a microsecond of
-- the boundary or a key last counted at another rate takes more statements. The semantics
-- are redis-cell's CL.THROTTLE: `rate` requests per `period`, plus `burst` extra at once;
-- `cost` weighs expensive requests (AI calls, exports). The clock is brandbase.now()
-- (transaction time), so one request is one instant and tests can freeze it.
--
-- Exact: the emission interval T = period / rate is a fraction of microseconds (60 s /
-- 9,000,000 = 6 2/3 µs), so times are kept as whole epoch microseconds plus a remainder in
-- units of 1/rate µs (the bucket's tat, rem; den = rate). Every step is bigint arithmetic on
-- (whole, remainder) pairs, which nothing rounds. The bounds keep it so: burst + 1 fits an
-- integer, and the tolerance (burst + 1) * T is at most 2^62 µs (146,000 years), so every
-- TAT and every intermediate product fits a bigint.

-- Dropped first: the capacity column was once named "limit" (a reserved word, which
-- plpgsql_check and supabase db lint warn about), and a function's OUT names cannot change
-- in place. Callers name it nowhere but ratelimit.limit_request and the hook.
drop function if exists ratelimit."check"(text, integer, interval, integer, integer);
create function ratelimit.check(
    key text,
    rate integer,
    period interval,
    burst integer default 0,
    cost integer default 1,
    out allowed boolean,
    out capacity integer,
    out remaining integer,
    out reset_after double precision,
    out retry_after double precision
)
language plpgsql
as $$
declare
    -- The clock in microseconds, read once. date_part's double holds epoch microseconds
    -- exactly (rounded to the nearest), where extract's numeric costs more.
    now_us bigint := (date_part('epoch', brandbase.now()) * 1000000)::bigint;
begin
    -- The hot path: a known key whose stored hot constants (migration 0033) were computed
    -- by the general path for these very arguments (rate = den, period, burst, cost: the
    -- constants are a pure function of them, so nothing else needs testing here; the
    -- period as the same double the general path stored, which below 2^52 µs names one
    -- whole period), and a TAT at least a microsecond short of the last one that conforms
    -- (the exact boundary, a refusal, a new key or other arguments take the general path).
    -- An idle key (TAT past) counts from now; a busy one adds cost * T, carrying the
    -- remainder. One UPDATE that also returns the answer, with as few operators as the
    -- exact arithmetic allows: each costs a permission check and an expression step per
    -- call. Under concurrency the row lock and the re-check of WHERE on the latest row
    -- version keep the count exact.
    update ratelimit.buckets as b
    set tat = case when b.tat < now_us then now_us + b.step
            else b.tat + b.step + (b.rem + b.step_rem) / b.den end,
        rem = case when b.tat < now_us then b.step_rem else (b.rem + b.step_rem) % b.den end
    where b.key = $1 and b.den = rate and b.at_period = date_part('epoch', period) * 1000000
        and b.at_burst = burst and b.at_cost = cost and b.tat < now_us + b.slack
    returning true, b.cap,
        b.cap - ((b.tat - now_us) * b.den + b.rem + b.t_less1) / b.at_period_us,
        ((b.tat - now_us) * b.den + b.rem) / b.scale, 0::float8
    into allowed, capacity, remaining, reset_after, retry_after;
    if found then
        return;
    end if;

    -- The general path: a new key (or a pruned one), a request at the boundary or one that
    -- does not conform, a key last counted with other arguments (its policy changed), or bad
    -- arguments. The arithmetic is on (whole µs, remainder in 1/rate µs) pairs, each product
    -- bounded by the tolerance in µs, which must stay below 2^62. It also stores, for
    -- arguments within the hot path's bounds, the hot path's constants for them.
    declare
        period_us bigint := greatest(least(extract(epoch from period) * 1000000, 9.0e18), 0)::bigint;
        q bigint;        -- T = q + r / rate µs
        r bigint;
        inc_q bigint;    -- cost * T = inc_q + inc_r / rate µs
        inc_r bigint;
        lim_q bigint;    -- the latest TAT that conforms: now + (burst + 1 - cost) * T
        lim_r bigint;
        tat_us bigint;   -- a TAT: tat_us + tat_rem / rate µs
        tat_rem bigint;
        was_rate bigint;
        hot boolean;     -- whether these arguments may take the hot path
    begin
        if not coalesce(rate > 0 and burst between 0 and 2147483646 and cost >= 0
            and period_us >= 1 and octet_length(key) between 1 and 512, false) then
            raise exception 'invalid rate limit: rate %, period %, burst %, cost %, key of % bytes',
                rate, period, burst, cost, octet_length(key)
                using errcode = '22023',
                      hint = 'rate > 0 requests per period > 0; burst from 0 to 2147483646; cost >= 0; '
                             'a key of 1 to 512 bytes.';
        end if;
        if cost - 1 > burst then
            raise exception 'cost % exceeds the burst capacity % of key %', cost, burst + 1, key
                using errcode = '22023', hint = 'Raise burst or lower cost: such a request could never pass.';
        end if;
        if (burst + 1)::numeric * period_us / rate > 4611686018427387904 then
            raise exception 'rate limit spans too long: % requests at % per % take more than 2^62 microseconds',
                burst + 1, rate, period
                using errcode = '22023',
                      hint = 'The burst capacity (burst + 1) times period / rate may span at most 2^62 µs '
                             '(about 146,000 years).';
        end if;
        -- The hot path's bigint and double arithmetic stays exact while the tolerance in units
        -- of 1/rate µs, (burst + 1) * period_us, is below 2^53 (and the period's double names
        -- one period below 2^52 µs); larger arguments store no constants and always come here.
        hot := (burst + 1)::numeric * period_us < 9007199254740992 and period_us < 4503599627370496;
        q := period_us / rate;
        r := period_us % rate;
        inc_q := cost * q + cost * r / rate;
        inc_r := cost * r % rate;
        lim_q := now_us + (burst + 1 - cost) * q + (burst + 1 - cost) * r / rate;
        lim_r := (burst + 1 - cost) * r % rate;
        loop
            insert into ratelimit.buckets as b (
                key, tat, rem, den, at_period, at_period_us, at_burst, at_cost, step, step_rem, slack, cap,
                t_less1, scale
            )
            values (
                $1, now_us + inc_q, inc_r, rate,
                case when hot then date_part('epoch', period) * 1000000 end, case when hot then period_us end,
                case when hot then burst end, case when hot then cost end, case when hot then inc_q end,
                case when hot then inc_r end, case when hot then lim_q - now_us end,
                case when hot then burst + 1 end, case when hot then period_us - 1 end,
                case when hot then rate * 1000000::float8 end
            )
            on conflict on constraint buckets_pkey do nothing;
            if found then
                tat_us := now_us + inc_q;
                tat_rem := inc_r;
                exit;
            end if;
            select b.tat, b.rem, b.den into tat_us, tat_rem, was_rate
            from ratelimit.buckets as b where b.key = $1
            for update;
            continue when not found;  -- pruned meanwhile: insert it afresh
            if was_rate is distinct from rate then
                -- Another rate's remainder, in this rate's units, rounded up (never earlier).
                if was_rate > 0 and tat_rem between 0 and was_rate - 1 then
                    tat_rem := (tat_rem * rate + was_rate - 1) / was_rate;
                else
                    tat_rem := rate;  -- not a remainder: the next whole microsecond
                end if;
                if tat_rem >= rate then
                    tat_us := tat_us + 1;
                    tat_rem := tat_rem - rate;
                end if;
            end if;
            if tat_us < now_us then
                tat_us := now_us;
                tat_rem := 0;
            end if;
            if (tat_us, tat_rem) > (lim_q, lim_r) then
                -- Refused: nothing is written; say when this request would conform.
                allowed := false;
                capacity := burst + 1;
                remaining := 0;
                reset_after := ((tat_us - now_us)::float8 * rate + tat_rem) / (rate * 1000000::float8);
                retry_after := ((tat_us - lim_q) + (tat_rem - lim_r) / rate::float8) / 1000000;
                return;
            end if;
            tat_rem := tat_rem + inc_r;
            tat_us := tat_us + inc_q + tat_rem / rate;
            tat_rem := tat_rem % rate;
            update ratelimit.buckets as b
            set tat = tat_us, rem = tat_rem, den = rate,
                at_period = case when hot then date_part('epoch', period) * 1000000 end,
                at_period_us = case when hot then period_us end,
                at_burst = case when hot then burst end, at_cost = case when hot then cost end,
                step = case when hot then inc_q end, step_rem = case when hot then inc_r end,
                slack = case when hot then lim_q - now_us end, cap = case when hot then burst + 1 end,
                t_less1 = case when hot then period_us - 1 end,
                scale = case when hot then rate * 1000000::float8 end
            where b.key = $1;
            exit;
        end loop;
        allowed := true;
        capacity := burst + 1;
        -- burst + 1 less the emission intervals until the TAT, rounded up
        remaining := burst + 1 - div((tat_us - now_us)::numeric * rate + tat_rem + period_us - 1, period_us);
        -- one division, as the hot path's: (tat - now) * rate + rem units of 1/rate µs
        reset_after := ((tat_us - now_us)::float8 * rate + tat_rem) / (rate * 1000000::float8);
        retry_after := 0;
    end;
end
$$;

comment on function ratelimit.check(text, integer, interval, integer, integer) is
'GCRA check-and-consume for key: rate requests per period with burst extra; returns '
'allowed, capacity, remaining, reset_after and retry_after (seconds). Atomic under concurrency.';

create or replace function ratelimit.owed(
    tat bigint, rem bigint, den bigint, rate bigint, now_us bigint
)
returns bigint
language sql
immutable
as $$
    -- How far a bucket's TAT (tat + rem / den µs) lies past now_us, in units of 1/rate µs:
    -- the exact figure of the key's spent allowance for set-based callers (webhooks.claim).
    -- A remainder kept at another rate is rounded up to the next whole microsecond, so a
    -- key is never early. Past TATs owe nothing.
    select case
        when tat < now_us then 0
        else (tat - now_us) * rate + case when den = rate then rem when rem > 0 then rate else 0 end
    end
$$;

comment on function ratelimit.owed(bigint, bigint, bigint, bigint, bigint) is
'How far the TAT tat + rem/den µs lies past now_us, in units of 1/rate µs (0 when past); '
'rounded up when den is not rate.';

create or replace function ratelimit.prune()
returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$
    with gone as (
        delete from ratelimit.buckets as b
        where b.tat < extract(epoch from brandbase.now()) * 1000000
        returning 1
    )
    select count(*)::integer from gone
$$;

comment on function ratelimit.prune() is 'Deletes keys whose allowance is whole again; returns how many.';

select brand.schedule('ratelimit-prune', '*/5 * * * *', 'select ratelimit.prune()');

-- Invoker rights and no SET clause keep the hot path free of a function-call context
-- switch (every name in the body is schema-qualified or in pg_catalog); the
-- trusted callers (service_role, and the request hook of the pack) get the table.
revoke all on ratelimit.buckets from public, anon, authenticated;
grant select, insert, update on ratelimit.buckets to service_role;
revoke all on function
ratelimit.check(text, integer, interval, integer, integer),
ratelimit.owed(bigint, bigint, bigint, bigint, bigint),
ratelimit.prune()
from public;
grant usage on schema ratelimit to service_role;
grant execute on function ratelimit.check(text, integer, interval, integer, integer) to service_role;
