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
    emission bigint;  -- microseconds per attempt in the slot
    capacity bigint;  -- attempts at once
    now_units bigint;
    slot regclass;
    tat bigint;
begin
    allowed := true;
    retry_after := 0;
    select r.rate, r.period, r.burst into policy
    from ratelimit.policies as r where r.api_role = attempt.api_role and r.api_role in ('anon', 'authenticated');
    if not found then
        return;  -- service_role, or a role without a default policy: not limited here
    end if;
    emission := greatest((date_part('epoch', policy.period) * 1000000)::bigint / (4 * policy.rate), 1);
    capacity := 4 * (policy.burst + 1);
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

comment on function ratelimit.attempt(text, text) is
'For the request hook: counts one attempt of the caller key in its role''s attempt slot (an '
'unlogged sequence, so the count survives the request''s rollback); refuses when the slot has '
'used four callers'' worth of the role''s default policy. Not in read-only transactions.';

revoke all on function ratelimit.attempt(text, text) from public;
