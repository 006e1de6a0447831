-- ratelimit: the limiter. The hot path is one UPDATE that advances an existing key's TAT
-- when the request conforms; only a new key or a denial takes a second statement. The
-- semantics are redis-cell's CL.THROTTLE: `rate` requests per `period`, plus `burst`
-- extra at once; `cost` weighs expensive requests (AI calls, exports). Times are epoch
-- microseconds in bigint (exact, and cheap); the clock is brandbase.now() (transaction
-- time), so one request is one instant and tests can freeze it.

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
    -- Plain variables, not expressions inside the UPDATE: every function an executor
    -- expression calls is permission-checked each time the statement starts, and these
    -- simple expressions cost less. date_part's double holds epoch microseconds exactly
    -- (rounded to the nearest), where extract's numeric costs more.
    now_us bigint := (date_part('epoch', brandbase.now()) * 1000000)::bigint;
    emission bigint := (date_part('epoch', period) * 1000000)::bigint / nullif(rate, 0);
    tat bigint;
begin
    -- One test on the hot path; the error branch says what was wrong.
    if not coalesce(
        rate > 0 and burst >= 0 and cost between 0 and burst + 1 and emission > 0
        and octet_length(key) between 1 and 512, false
    ) then
        if not coalesce(rate > 0 and burst >= 0 and cost >= 0 and emission > 0
            and octet_length(key) between 1 and 512, false) then
            raise exception 'invalid rate limit: rate %, period %, burst %, cost %, key of % bytes',
                rate, period, burst, cost, octet_length(key)
                using errcode = '22023',
                      hint = 'rate > 0 requests per period > 0; burst >= 0; cost >= 0; a key of 1 to 512 bytes.';
        end if;
        raise exception 'cost % exceeds the burst capacity % of key %', cost, burst + 1, key
            using errcode = '22023', hint = 'Raise burst or lower cost: such a request could never pass.';
    end if;

    -- A known key: advance its TAT if the request conforms. Under concurrency the row
    -- lock and the re-check of WHERE on the latest row version keep the count exact.
    update ratelimit.buckets as b
    set tat = greatest(b.tat, now_us) + emission * cost
    where b.key = $1 and greatest(b.tat, now_us) + emission * (cost - burst - 1) <= now_us
    returning b.tat into tat;
    if not found then
        -- A new key (or a pruned one), or a request that does not conform.
        insert into ratelimit.buckets as b (key, tat)
        values ($1, now_us + emission * cost)
        on conflict on constraint buckets_pkey do update
        set tat = greatest(b.tat, now_us) + emission * cost
        where greatest(b.tat, now_us) + emission * (cost - burst - 1) <= now_us
        returning b.tat into tat;
        if not found then
            -- Refused: nothing was written; say when this request would conform.
            select b.tat into tat from ratelimit.buckets as b where b.key = $1;
            allowed := false;
            capacity := burst + 1;
            remaining := 0;
            reset_after := (tat - now_us) / 1000000::double precision;
            retry_after := (greatest(tat, now_us) + emission * (cost - burst - 1) - now_us) / 1000000::double precision;
            return;
        end if;
    end if;
    allowed := true;
    capacity := burst + 1;
    remaining := (now_us - tat + emission * (burst + 1)) / emission;
    reset_after := (tat - now_us) / 1000000::double precision;
    retry_after := 0;
end
$$;

comment on function ratelimit.check(text, integer, interval, integer, integer) is
'GCRA check-and-consume for key: rate requests per period with burst extra; returns '
'allowed, capacity, remaining, reset_after and retry_after (seconds). Atomic under concurrency.';

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
ratelimit.prune()
from public;
grant usage on schema ratelimit to service_role;
grant execute on function ratelimit.check(text, integer, interval, integer, integer) to service_role;
