-- audit: the log is append-only. Normal DML cannot change or remove entries, not even
-- the owner's; retention drops whole monthly partitions, which is DDL and leaves a trace
-- in the chain (audit.verify reports nothing as removed before the retention floor).
-- The captures (and the inbox of entries from before 0028) are append-only too, with one
-- exception: audit.seal() removes them once it has sealed what they hold.

create or replace function audit.tg_logs__refuse_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception 'audit.logs is append-only: % refused', tg_op
        using errcode = '42501',
              hint = 'Entries are never changed; retention drops whole months with audit.drop_before().';
end
$$;

comment on function audit.tg_logs__refuse_change() is 'Refuses UPDATE, DELETE and TRUNCATE on audit.logs.';

create or replace function audit.tg_logs__refuse_unsealed_delete()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if exists (
        select from gone as g
        where not exists (select from audit.chain as c where c.brand_id = g.brand_id and c.entry_id = g.id)
    ) then
        raise exception 'audit.logs is append-only: DELETE of unsealed entries refused'
            using errcode = '42501',
                  hint = 'Only audit.seal() removes inbox entries, once it has sealed and moved them.';
    end if;
    return null;
end
$$;

comment on function audit.tg_logs__refuse_unsealed_delete() is
'Refuses a DELETE that removes an entry no seal covers (only the sealer empties the inbox).';

-- Sealed months: no update, no delete. The inbox: no update, deletes of sealed entries
-- only (checked per statement, through the parent too). Neither may be truncated.
drop trigger if exists logs_10_refuse_change on audit.logs_sealed;
create trigger logs_10_refuse_change
before update or delete on audit.logs_sealed
for each row execute function audit.tg_logs__refuse_change();

drop trigger if exists logs_10_refuse_change on audit.logs_inbox;
create trigger logs_10_refuse_change
before update on audit.logs_inbox
for each row execute function audit.tg_logs__refuse_change();

drop trigger if exists logs_20_refuse_unsealed_delete on audit.logs_inbox;
create trigger logs_20_refuse_unsealed_delete
after delete on audit.logs_inbox
referencing old table as gone
for each statement execute function audit.tg_logs__refuse_unsealed_delete();

drop trigger if exists logs_20_refuse_unsealed_delete on audit.entries;
create trigger logs_20_refuse_unsealed_delete
after delete on audit.entries
referencing old table as gone
for each statement execute function audit.tg_logs__refuse_unsealed_delete();

drop trigger if exists logs_10_refuse_truncate on audit.entries;
create trigger logs_10_refuse_truncate
before truncate on audit.entries
for each statement execute function audit.tg_logs__refuse_change();

create or replace function audit.tg_captures__refuse_unsealed_delete()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if exists (
        select from gone as g
        where g.txid >= coalesce((select max(r.below_txid) from audit.seal_rounds as r), 0)
    ) then
        raise exception 'audit.captures is append-only: DELETE of unsealed captures refused'
            using errcode = '42501',
                  hint = 'Only audit.seal() removes captures, once it has sealed their entries.';
    end if;
    return null;
end
$$;

comment on function audit.tg_captures__refuse_unsealed_delete() is
'Refuses a DELETE of captures no seal round has covered yet (only the sealer removes them).';

-- Captures: no update, deletes of sealed ones only, no truncate. Row triggers for UPDATE
-- cost the write path nothing: capture only inserts.
drop trigger if exists captures_10_refuse_change on audit.captures;
create trigger captures_10_refuse_change
before update on audit.captures
for each row execute function audit.tg_logs__refuse_change();

drop trigger if exists captures_20_refuse_unsealed_delete on audit.captures;
create trigger captures_20_refuse_unsealed_delete
after delete on audit.captures
referencing old table as gone
for each statement execute function audit.tg_captures__refuse_unsealed_delete();

drop trigger if exists captures_10_refuse_truncate on audit.captures;
create trigger captures_10_refuse_truncate
before truncate on audit.captures
for each statement execute function audit.tg_logs__refuse_change();

drop trigger if exists logs_10_refuse_truncate on audit.logs_sealed;
create trigger logs_10_refuse_truncate
before truncate on audit.logs_sealed
for each statement execute function audit.tg_logs__refuse_change();

drop trigger if exists logs_10_refuse_truncate on audit.logs_inbox;
create trigger logs_10_refuse_truncate
before truncate on audit.logs_inbox
for each statement execute function audit.tg_logs__refuse_change();

create or replace function audit.ensure_partitions(months_ahead integer default 3)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    first_month date := date_trunc('month', brandbase.now())::date;
    month_start date;
    part text;
    created integer := 0;
begin
    for month_start in
        select generate_series(first_month, first_month + make_interval(months => months_ahead), '1 month')::date
    loop
        part := 'logs_' || to_char(month_start, 'YYYY"m"MM');
        continue when to_regclass('audit.' || part) is not null;
        if exists (
            select from audit.logs_default
            where occurred_at >= month_start and occurred_at < month_start + interval '1 month'
        ) then
            raise warning 'audit.logs_default holds entries of %; partition % not created',
                to_char(month_start, 'YYYY-MM'), part;
            continue;
        end if;
        execute pg_catalog.format(
            'create table audit.%I partition of audit.logs_sealed for values from (%L) to (%L)',
            part, month_start, month_start + interval '1 month');
        execute pg_catalog.format(
            'create trigger logs_10_refuse_truncate before truncate on audit.%I '
            'for each statement execute function audit.tg_logs__refuse_change()', part);
        created := created + 1;
    end loop;
    return created;
end
$$;

comment on function audit.ensure_partitions(integer) is
'Creates the monthly partitions of audit.logs_sealed from this month to months_ahead; returns how many.';

create or replace function audit.drop_before(cutoff date)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    part record;
    dropped integer := 0;
begin
    for part in
        select c.oid::regclass as rel,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz as upper_bound
        from pg_catalog.pg_inherits as i
        inner join pg_catalog.pg_class as c on i.inhrelid = c.oid
        where i.inhparent = 'audit.logs_sealed'::regclass and c.relname <> 'logs_default'
    loop
        continue when part.upper_bound is null or part.upper_bound > cutoff;
        execute pg_catalog.format('drop table %s', part.rel);
        delete from audit.chain where entry_occurred_at < part.upper_bound;
        dropped := dropped + 1;
    end loop;
    return dropped;
end
$$;

comment on function audit.drop_before(date) is
'Retention: drops every monthly partition that ends on or before cutoff (and its seals); '
'returns how many. Nothing else ever removes entries.';

create or replace function audit.keep_for(retention interval)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if retention is null then
        perform brand.unschedule('audit-retention');
        return;
    end if;
    if retention < interval '1 month' then
        raise exception 'audit retention must be at least a month, got %', retention
            using errcode = '22023', hint = 'Entries are dropped by whole monthly partitions.';
    end if;
    perform brand.schedule('audit-retention', '23 3 * * *', pg_catalog.format(
        'select audit.drop_before((brandbase.now() - %L::interval)::date)', retention));
end
$$;

comment on function audit.keep_for(interval) is
'Sets the audit retention: a daily job drops the months older than this (null: keep forever, '
'the default). Needs pg_cron, or run audit.drop_before() yourself.';

select audit.ensure_partitions();

-- What readers see: audit.logs, the stored entries and the pending captures expanded into
-- entries of the same shape, so an entry is visible as soon as its transaction commits.
-- Captures hold statements, not brands: the pending part is read through a definer
-- function that applies what the policies of audit.entries apply (audit.read in the
-- entry's brand; every brand for service_role and the owner).
create or replace function audit.pending_entries()
returns table (
    brand_id uuid, occurred_at timestamptz, id bigint, table_name text, record_key jsonb, operation text,
    old_data jsonb, new_data jsonb, actor_id uuid, actor_role text, txid bigint, request_id text,
    client_ip inet
)
language sql
stable
security definer
rows 100
set search_path = pg_catalog, pg_temp
as $$
    select e.*
    from audit.captures as c
    cross join lateral audit._entries(
        c.id, c.txid, c.occurred_at, c.table_name, c.operation, c.brand_column, c.key_columns,
        c.skip_noop_updates, c.old_rows, c.new_rows, c.actor_id, c.actor_role, c.request_id, c.client_ip
    ) as e
    where (
        select brand.caller_is_service()
            or pg_catalog.pg_has_role(brand.invoking_role(), r.relowner, 'USAGE')
            or coalesce((select a.rolbypassrls from pg_catalog.pg_roles as a
                         where a.rolname = brand.invoking_role()), false)
        from pg_catalog.pg_class as r where r.oid = 'audit.entries'::regclass
    ) or e.brand_id in (select brand.brands_with('audit.read'))
$$;

comment on function audit.pending_entries() is
'The entries of the captures not sealed yet, as audit.logs shows them: only those of brands '
'where the caller holds audit.read (all of them for service_role and the owner).';

create or replace view audit.logs
with (security_invoker = true) as
select
    e.brand_id,
    e.occurred_at,
    e.id,
    e.table_name,
    e.record_key,
    e.operation,
    e.old_data,
    e.new_data,
    e.actor_id,
    e.actor_role,
    e.txid,
    e.request_id,
    e.client_ip,
    e.sealed
from audit.entries as e
union all
select
    p.brand_id,
    p.occurred_at,
    p.id,
    p.table_name,
    p.record_key,
    p.operation,
    p.old_data,
    p.new_data,
    p.actor_id,
    p.actor_role,
    p.txid,
    p.request_id,
    p.client_ip,
    false as sealed
from audit.pending_entries() as p;

comment on view audit.logs is
'One entry per captured change, sealed or not (pending captures are shown expanded, with their '
'final ids). Append-only: updates and deletes are refused; an insert goes to the stored entries '
'(unsealed, out of band). Retention drops whole monthly partitions (audit.drop_before).';

alter view audit.logs alter column id set default nextval('audit.logs_id_seq');
alter view audit.logs alter column txid set default pg_current_xact_id()::text::bigint;

create or replace function audit.tg_logs__instead()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op <> 'INSERT' then
        raise exception 'audit.logs is append-only: % refused', tg_op
            using errcode = '42501',
                  hint = 'Entries are never changed; retention drops whole months with audit.drop_before().';
    end if;
    insert into audit.entries (brand_id, occurred_at, id, table_name, record_key, operation, old_data, new_data,
                               actor_id, actor_role, txid, request_id, client_ip, sealed)
    values (new.brand_id, new.occurred_at, new.id, new.table_name, new.record_key, new.operation, new.old_data,
            new.new_data, new.actor_id, new.actor_role, new.txid, new.request_id, new.client_ip, false);
    return new;
end
$$;

comment on function audit.tg_logs__instead() is
'audit.logs refuses UPDATE and DELETE (42501); an INSERT becomes an unsealed stored entry.';

drop trigger if exists logs_10_instead on audit.logs;
create trigger logs_10_instead
instead of insert or update or delete on audit.logs
for each row execute function audit.tg_logs__instead();

revoke all on function
audit.pending_entries(),
audit.tg_logs__instead(),
audit.tg_captures__refuse_unsealed_delete(),
audit.tg_logs__refuse_change(),
audit.tg_logs__refuse_unsealed_delete(),
audit.ensure_partitions(integer),
audit.drop_before(date),
audit.keep_for(interval)
from public;
