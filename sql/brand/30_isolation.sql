-- brand: put any table with a brand column under brand isolation. The policies use the
-- set form (one brands_with() call per statement); service_role gets its own policy
-- because a non-superuser install cannot give it BYPASSRLS.

create or replace function brand.isolate(
    target regclass,
    read_permission text,
    write_permission text default null,
    brand_column name default 'brand_id'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    readers text := pg_catalog.format(
        '%I in (select brand.brands_with(%L))', brand_column, read_permission
    );
    writers text := pg_catalog.format(
        '%I in (select brand.brands_with(%L))', brand_column, write_permission
    );
    action text;
begin
    perform brand.assert_permission(read_permission);
    if write_permission is not null then
        perform brand.assert_permission(write_permission);
    end if;
    if not exists (
        select from pg_catalog.pg_attribute
        where attrelid = target and attname = brand_column and not attisdropped
            and atttypid = 'uuid'::regtype
    ) then
        raise exception 'table % has no uuid column %', target, brand_column
            using errcode = '42703',
                  hint = 'Brand-scoped tables carry brand_id uuid not null, first in the primary key.';
    end if;

    execute pg_catalog.format('alter table %s enable row level security', target);
    foreach action in array array['read', 'insert', 'update', 'delete'] loop
        execute pg_catalog.format('drop policy if exists %I on %s',
            'brand members with permission may ' || action, target);
    end loop;
    execute pg_catalog.format('drop policy if exists %I on %s',
        'service role may act on every brand', target);

    execute pg_catalog.format(
        'create policy %I on %s for select to authenticated using (%s)',
        'brand members with permission may read', target, readers);
    if write_permission is not null then
        execute pg_catalog.format(
            'create policy %I on %s for insert to authenticated with check (%s)',
            'brand members with permission may insert', target, writers);
        execute pg_catalog.format(
            'create policy %I on %s for update to authenticated using (%s) with check (%s)',
            'brand members with permission may update', target, writers, writers);
        execute pg_catalog.format(
            'create policy %I on %s for delete to authenticated using (%s)',
            'brand members with permission may delete', target, writers);
    end if;
    execute pg_catalog.format(
        'create policy %I on %s for all to service_role using (true) with check (true)',
        'service role may act on every brand', target);
end
$$;

comment on function brand.isolate(regclass, text, text, name) is
'Enables RLS on a brand-scoped table and (re)creates its policies: members whose tier holds '
'read_permission may select, write_permission may insert/update/delete; service_role may '
'do anything. Idempotent. Grants stay with the caller.';

revoke all on function brand.isolate(regclass, text, text, name) from public;
