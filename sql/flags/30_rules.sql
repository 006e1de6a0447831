-- flags: small helpers of Unleash's client algorithm. The algorithm itself is compiled on
-- write (sql/flags/32_compile.sql) and evaluated by one query (sql/flags/35_evaluate.sql);
-- the PL/pgSQL walker over the stored JSON that was here before is dropped below.

create or replace function flags._ctx_value(ctx jsonb, field text, now_text text)
returns text
language sql
immutable
parallel safe
as $$
    -- Unleash's lookup: a top-level context field first, then properties; currentTime
    -- defaults to now_text (the clock, read once per evaluation).
    select coalesce(
        ctx operator(pg_catalog.->>) field,
        (ctx operator(pg_catalog.->) 'properties') operator(pg_catalog.->>) field,
        case when field operator(pg_catalog.=) 'currentTime' then now_text end
    )
$$;

comment on function flags._ctx_value(jsonb, text, text) is
'A context field as Unleash resolves it: top level, then properties; currentTime defaults to now_text.';

create or replace function flags._inet(v text)
returns inet
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return v::inet;
exception when others then
    return null;
end
$$;

comment on function flags._inet(text) is 'An IP address or CIDR range, or null when v is none.';

drop function if exists flags._rules(flags.flags, flags.flag_environments, jsonb, boolean);
drop function if exists flags._strategy_ok(jsonb, text, jsonb, text);
drop function if exists flags._pick_variant(jsonb, text, jsonb, text, text);
drop function if exists flags._constraints_ok(jsonb, jsonb, text);

revoke all on function flags._ctx_value(jsonb, text, text), flags._inet(text) from public;
