-- ratelimit: the limiter. The hot path is one UPDATE that advances an existing key's TAT
-- when the request conforms; only a new key or a denial takes a second statement. The
-- semantics are redis-cell's CL.THROTTLE: `rate` requests per `period`, plus `burst`
-- extra at once; `cost` weighs expensive requests (AI calls, exports). Times are epoch
-- microseconds in bigint (exact, and cheap); the clock is brandbase.now() (transaction
-- time), so one request is one instant and tests can freeze it.

create or replace function ratelimit.check(
    key text,
    rate integer,
    period interval,
    burst integer default 0,
    cost integer default 1,
    out allowed boolean,
    out "limit" integer,
    out remaining integer,
    out reset_after double precision,
    out retry_after double precision
)
language plpgsql
as $$
declare
    -- Only the slow paths read these; the UPDATE computes its own, so the common case
    -- evaluates no PL/pgSQL expressions besides the argument check.
    now_us bigint;
    emission bigint;
begin
    if not coalesce(
        rate > 0 and burst >= 0 and cost >= 0 and extract(epoch from period) * 1000000 >= rate
        and octet_length(key) between 1 and 512, false
    ) then
        raise exception 'invalid rate limit: rate %, period %, burst %, cost %, key of % bytes',
            rate, period, burst, cost, octet_length(key)
            using errcode = '22023',
                  hint = 'rate > 0 requests per period > 0; burst >= 0; cost >= 0; a key of 1 to 512 bytes.';
    end if;
    if cost > burst + 1 then
        raise exception 'cost % exceeds the burst capacity % of key %', cost, burst + 1, key
            using errcode = '22023', hint = 'Raise burst or lower cost: such a request could never pass.';
    end if;

    -- A known key: advance its TAT if the request conforms. Under concurrency the row
    -- lock and the re-check of WHERE on the latest row version keep the count exact.
    update ratelimit.buckets as b
    set tat = greatest(b.tat, g.now_us) + g.emission * cost
    from (
        select
            (extract(epoch from brandbase.now()) * 1000000)::bigint as now_us,
            (extract(epoch from period) * 1000000)::bigint / rate as emission
    ) as g
    where b.key = $1 and greatest(b.tat, g.now_us) + g.emission * (cost - burst - 1) <= g.now_us
    returning
        true, burst + 1, (g.now_us - b.tat + g.emission * (burst + 1)) / g.emission,
        (b.tat - g.now_us) / 1e6, 0
    into allowed, "limit", remaining, reset_after, retry_after;
    if found then
        return;
    end if;

    -- A new key (or a pruned one), or a request that does not conform.
    now_us := (extract(epoch from brandbase.now()) * 1000000)::bigint;
    emission := (extract(epoch from period) * 1000000)::bigint / rate;
    insert into ratelimit.buckets as b (key, tat)
    values ($1, now_us + emission * cost)
    on conflict on constraint buckets_pkey do update
    set tat = greatest(b.tat, now_us) + emission * cost
    where greatest(b.tat, now_us) + emission * (cost - burst - 1) <= now_us
    returning true, burst + 1, (now_us - b.tat + emission * (burst + 1)) / emission, (b.tat - now_us) / 1e6, 0
    into allowed, "limit", remaining, reset_after, retry_after;
    if found then
        return;
    end if;

    -- Refused: nothing was written; say when this request would conform.
    select
        false, burst + 1, 0, (b.tat - now_us) / 1e6,
        (greatest(b.tat, now_us) + emission * (cost - burst - 1) - now_us) / 1e6
    into allowed, "limit", remaining, reset_after, retry_after
    from ratelimit.buckets as b where b.key = $1;
end
$$;

comment on function ratelimit.check(text, integer, interval, integer, integer) is
'GCRA check-and-consume for key: rate requests per period with burst extra; returns '
'allowed, limit, remaining, reset_after and retry_after (seconds). Atomic under concurrency.';

create or replace function ratelimit.prune()
returns integer
language sql
set search_path = ''
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
