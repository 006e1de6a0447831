-- audit: reading the trail. The app reads through api functions (brand-scoped, permission
-- audit.read, newest first, keyset-paginated by (occurred_at, id)); RLS guards the table.
-- audit.logs shows the stored entries and the pending captures, so entries are visible as
-- soon as their transaction commits, sealed or not.

select brand.isolate('audit.entries', 'audit.read');
select brand.isolate('audit.chain', 'audit.read');
revoke all on audit.logs, audit.entries, audit.logs_inbox, audit.logs_sealed, audit.chain, audit.tracked,
audit.seal_rounds, audit.captures
from public, anon, authenticated;
grant select on audit.logs, audit.entries, audit.chain to authenticated;
grant select on audit.logs, audit.entries, audit.chain, audit.tracked, audit.seal_rounds to service_role;
revoke all on function audit.pending_entries() from public, anon;
grant execute on function audit.pending_entries() to authenticated, service_role;

create or replace view api.audit_log
with (security_invoker = true) as
select
    l.brand_id,
    l.id,
    l.occurred_at,
    l.table_name,
    l.record_key,
    l.operation,
    l.old_data,
    l.new_data,
    l.actor_id,
    l.actor_role,
    l.request_id,
    l.client_ip,
    l.sealed
from audit.logs as l;

comment on view api.audit_log is
'The audit trail for PostgREST filtering (?brand_id=eq.…&order=occurred_at.desc,id.desc); '
'RLS shows only brands where the caller holds audit.read.';

revoke all on api.audit_log from public, anon;
grant select on api.audit_log to authenticated, service_role;

create or replace function api.audit_activity(
    brand_id uuid,
    actor_id uuid default null,
    table_name text default null,
    record_key jsonb default null,
    before_at timestamptz default null,
    before_id bigint default null,
    page_size integer default 50
)
returns setof audit.logs
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'audit.read');
    page_size := coalesce(page_size, 50);  -- null is the default page, never "everything"
    if page_size not between 1 and 1000 then
        raise exception 'page_size must be between 1 and 1000, got %', page_size
            using errcode = '22023', hint = 'Page with before_at/before_id from the last row.';
    end if;
    if octet_length(audit_activity.table_name) > 200 or octet_length(record_key::text) > 8192 then
        raise exception 'table_name or record_key is too large'
            using errcode = '22001',
                  hint = 'table_name is a schema-qualified name (at most 200 bytes), record_key a primary '
                      'key as JSON (at most 8 kB).';
    end if;
    if record_key is not null and audit_activity.table_name is null then
        raise exception 'record_key needs table_name'
            using errcode = '22023', hint = 'Pass the schema-qualified table name too.';
    end if;
    return query
        select l.*
        from audit.logs as l
        where l.brand_id = audit_activity.brand_id
            and (audit_activity.actor_id is null or l.actor_id = audit_activity.actor_id)
            and (audit_activity.table_name is null or l.table_name = audit_activity.table_name)
            and (audit_activity.record_key is null or l.record_key = audit_activity.record_key)
            and (before_at is null or (l.occurred_at, l.id) < (before_at, coalesce(before_id, 9223372036854775807)))
        order by l.occurred_at desc, l.id desc
        limit page_size;
end
$$;

comment on function api.audit_activity(uuid, uuid, text, jsonb, timestamptz, bigint, integer) is
'A brand''s audit trail, newest first: everything, one user''s actions (actor_id) or one '
'record''s history (table_name + record_key). Next page: pass the last row''s occurred_at '
'and id as before_at / before_id. page_size 1-1000 (null: 50). Permission audit.read.';

revoke all on function api.audit_activity(uuid, uuid, text, jsonb, timestamptz, bigint, integer) from public;
grant execute on function api.audit_activity(uuid, uuid, text, jsonb, timestamptz, bigint, integer)
to authenticated, service_role;
