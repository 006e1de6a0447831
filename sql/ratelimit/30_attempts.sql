-- ratelimit: a limit on attempts that a rollback cannot undo. The buckets of
-- ratelimit.check() are rows, written in the request's transaction: a request that fails
-- rolls its own count back, so requests that fail on purpose (guessing, enumeration,
-- errors as a load) would never be limited. PostgreSQL has no autonomous transactions,
-- and dblink is no default on Supabase; what a rollback leaves alone is a sequence:
-- nextval() and setval() are not transactional. A sequence per caller is impossible (DDL
-- would roll back with the request), so callers share a fixed set of unlogged sequences
-- (migration 0021): 64 slots per API role, a caller's slot chosen by a hash of its key.
-- Each slot is a GCRA register whose allowance is four callers' worth of the role's
-- default policy (ratelimit.policies): a caller alone cannot pass four times its own
-- limit, however its requests end, and the callers sharing its slot keep their allowance
-- unless together they use four callers' worth. Approximate by design: requests racing
-- on an idle slot may overwrite each other's refill (a lost count per racing request,
-- never a lost refusal), so the bound is exact up to the number of connections.

create or replace function ratelimit.attempt(
    api_role text, key text, out allowed boolean, out retry_after double precision
)
language plpgsql
as $$
declare
    policy record;
begin
    select r.rate, r.period, r.burst into policy
    from ratelimit.policies as r where r.api_role = attempt.api_role and r.api_role in ('anon', 'authenticated');
    select a.allowed, a.retry_after into allowed, retry_after
    from ratelimit._attempt(api_role, key, policy.rate, policy.period, policy.burst) as a;
end
$$;

comment on function ratelimit.attempt(text, text) is
'For the request hook: counts one attempt of the caller key in its role''s attempt slot (an '
'unlogged sequence, so the count survives the request''s rollback); refuses when the slot has '
'used four callers'' worth of the role''s default policy. Not in read-only transactions.';

-- The body of ratelimit.attempt(), given the role's default policy (rate null: none, so not
-- limited here): the request hook reads the policy in its one query of the request.
create or replace function ratelimit._attempt(
    api_role text, key text, rate integer, period interval, burst integer,
    out allowed boolean, out retry_after double precision
)
language plpgsql
as $$
declare
    -- microseconds per attempt in the slot, and attempts at once
    emission bigint := greatest((date_part('epoch', period) * 1000000)::bigint / (4::bigint * rate), 1);
    capacity bigint := 4 * (burst + 1);
    now_units bigint;
    slot regclass;
    tat bigint;
begin
    allowed := true;
    retry_after := 0;
    if emission is null or api_role not in ('anon', 'authenticated') then
        return;  -- service_role, or a role without a default policy: not limited here
    end if;
    -- The wall clock, not brandbase.now() (the transaction's start, which tests freeze):
    -- requests of one slot started at different moments must not see each other's
    -- arrival times as the future, and the count must not follow a settable clock.
    now_units := (date_part('epoch', clock_timestamp()) * 1000000)::bigint / emission;
    -- The slot's value is its theoretical arrival time, counted in emission intervals.
    -- A text-to-regclass cast is a catalog cache lookup, no dynamic SQL.
    slot := ('ratelimit.attempts_' || api_role || '_' || lpad((hashtext(key) & 63)::text, 2, '0'))::regclass;
    tat := coalesce(pg_sequence_last_value(slot), 0);
    if tat - now_units > capacity + 1024 then
        -- Further ahead than racing requests can push it: counted in the units of an older
        -- policy (the role's default changed). Start the slot afresh.
        perform setval(slot, now_units + 1);
        return;
    end if;
    if tat - now_units >= capacity then
        -- Refused: nothing is added, so a refused caller does not push its neighbours back.
        allowed := false;
        retry_after := (tat - now_units - capacity + 1) * emission / 1000000::double precision;
        return;
    end if;
    if tat < now_units then
        perform setval(slot, now_units + 1);  -- an idle slot: its allowance is whole again
    else
        perform nextval(slot);  -- atomic: concurrent attempts on a busy slot all count
    end if;
end
$$;

comment on function ratelimit._attempt(text, text, integer, interval, integer) is
'The body of ratelimit.attempt() for the role''s default policy (rate, period, burst; null rate: '
'not limited).';

revoke all on function ratelimit.attempt(text, text) from public;
revoke all on function ratelimit._attempt(text, text, integer, interval, integer) from public;
