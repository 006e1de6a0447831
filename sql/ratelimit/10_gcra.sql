-- ratelimit: the limiter. One statement on the hot path: an upsert that advances the
-- key's TAT only when the request conforms; only a denial reads the row again to say
-- when to retry. Semantics of redis-cell's CL.THROTTLE: `rate` requests per `period`,
-- plus `burst` extra at once; `cost` weighs expensive requests (AI calls, exports).
-- Times are epoch microseconds in bigint (exact, and cheap); the clock is brandbase.now()
-- (transaction time), so one request is one instant and tests can freeze it.

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
    bucket text := $1;  -- "check" is a keyword, so the parameter cannot be qualified by it
    now_us bigint := (extract(epoch from brandbase.now()) * 1000000)::bigint;
    emission bigint := (extract(epoch from period) * 1000000)::bigint / nullif(rate, 0);
    tolerance bigint := emission * (burst + 1);
    increment bigint := emission * cost;
    new_tat bigint;
begin
    if not coalesce(rate > 0 and emission > 0 and burst >= 0 and cost >= 0, false) then
        raise exception 'invalid rate limit: rate %, period %, burst %, cost %', rate, period, burst, cost
            using errcode = '22023', hint = 'rate > 0 requests per period > 0; burst >= 0; cost >= 0.';
    end if;
    if increment > tolerance then
        raise exception 'cost % exceeds the burst capacity % of key %', cost, burst + 1, bucket
            using errcode = '22023', hint = 'Raise burst or lower cost: such a request could never pass.';
    end if;

    insert into ratelimit.buckets as b (key, tat)
    values (bucket, now_us + increment)
    on conflict on constraint buckets_pkey do update
    set tat = greatest(b.tat, now_us) + increment
    where greatest(b.tat, now_us) + increment - tolerance <= now_us
    returning b.tat into new_tat;

    "limit" := burst + 1;
    allowed := new_tat is not null;
    if allowed then
        remaining := least(burst + 1, (now_us - (new_tat - tolerance)) / emission);
        reset_after := (new_tat - now_us) / 1e6;
        retry_after := 0;
    else
        select (greatest(b.tat, now_us) + increment - tolerance - now_us) / 1e6,
               (b.tat - now_us) / 1e6
        into retry_after, reset_after
        from ratelimit.buckets as b where b.key = bucket;
        remaining := 0;
    end if;
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
