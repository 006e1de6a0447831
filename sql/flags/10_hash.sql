-- flags: MurmurHash3 (x86, 32-bit) in PL/pgSQL, and Unleash's normalised bucket built on
-- it, so that a user lands in the same rollout bucket and variant as with Unleash's SDKs.
-- 32-bit unsigned arithmetic on bigint: a product a * b of two 32-bit values would
-- overflow, so b is split into 16-bit halves and the high half's product is masked
-- before it is shifted back.

create or replace function flags.murmur3_32(data text, seed bigint default 0)
returns bigint
language plpgsql
immutable
strict
parallel safe
as $$
-- No SET clause: this runs in every rollout and variant bucket, and a SET saves and
-- restores a GUC on every call (a third of an evaluation). SECURITY INVOKER, only
-- operators on built-in integer types and qualified functions; exempt in the lint
-- (src/brandbase/lints/0016) and listed in docs/supabase.md.
declare
    b pg_catalog.bytea := pg_catalog.convert_to(data, 'UTF8');
    len integer := pg_catalog.length(b);
    full_len integer := (pg_catalog.length(b) / 4) * 4;
    h bigint := seed & 4294967295;
    k bigint;
    i integer := 0;
    tail integer;
begin
    while i < full_len loop
        k := pg_catalog.get_byte(b, i)::bigint
            | (pg_catalog.get_byte(b, i + 1)::bigint << 8)
            | (pg_catalog.get_byte(b, i + 2)::bigint << 16)
            | (pg_catalog.get_byte(b, i + 3)::bigint << 24);
        -- k *= 0xcc9e2d51
        k := (k * 11601 + (((k * 52382) & 65535) << 16)) & 4294967295;
        k := ((k << 15) | (k >> 17)) & 4294967295;
        -- k *= 0x1b873593
        k := (k * 13715 + (((k * 7047) & 65535) << 16)) & 4294967295;
        h := h # k;
        h := ((h << 13) | (h >> 19)) & 4294967295;
        h := (h * 5 + 3864292196) & 4294967295;
        i := i + 4;
    end loop;
    tail := len - full_len;
    if tail > 0 then
        k := 0;
        if tail >= 3 then
            k := k # (pg_catalog.get_byte(b, full_len + 2)::bigint << 16);
        end if;
        if tail >= 2 then
            k := k # (pg_catalog.get_byte(b, full_len + 1)::bigint << 8);
        end if;
        k := k # pg_catalog.get_byte(b, full_len)::bigint;
        k := (k * 11601 + (((k * 52382) & 65535) << 16)) & 4294967295;
        k := ((k << 15) | (k >> 17)) & 4294967295;
        k := (k * 13715 + (((k * 7047) & 65535) << 16)) & 4294967295;
        h := h # k;
    end if;
    h := h # len;
    -- fmix32
    h := h # (h >> 16);
    h := (h * 51819 + (((h * 34283) & 65535) << 16)) & 4294967295;  -- * 0x85ebca6b
    h := h # (h >> 13);
    h := (h * 44597 + (((h * 49842) & 65535) << 16)) & 4294967295;  -- * 0xc2b2ae35
    h := h # (h >> 16);
    return h;
end
$$;

comment on function flags.murmur3_32(text, bigint) is
'MurmurHash3 x86 32-bit of the UTF-8 bytes of data, unsigned (0 .. 2^32-1), as mmh3.hash(data, '
'seed, signed=False).';

create or replace function flags.normalized_value(
    id text,
    group_id text,
    normalizer integer default 100,
    seed bigint default 0
)
returns integer
language sql
immutable
strict
parallel safe
as $$
    -- no SET clause, so the planner inlines it into the evaluation; every name is qualified
    select (
        flags.murmur3_32(group_id operator(pg_catalog.||) ':' operator(pg_catalog.||) id, seed)
        operator(pg_catalog.%) normalizer operator(pg_catalog.+) 1
    )::integer
$$;

comment on function flags.normalized_value(text, text, integer, bigint) is
'Unleash''s bucket: murmur3(groupId:id, seed) % normalizer + 1, in 1 .. normalizer. Rollouts '
'use seed 0 and 100; variants use seed 86028157 and the total weight.';

revoke all on function flags.murmur3_32(text, bigint), flags.normalized_value(text, text, integer, bigint)
from public;
grant execute on function flags.murmur3_32(text, bigint), flags.normalized_value(text, text, integer, bigint)
to service_role;
