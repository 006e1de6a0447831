-- brand: time partitions for append-mostly history tables (jobs, deliveries). Retention
-- drops whole partitions: no delete, no vacuum debt, no bloat.

create or replace function brand.ensure_partitions(parent regclass, step interval, ahead integer)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    unit text := case when step >= interval '1 month' then 'month' else 'day' end;
    first_start timestamptz := date_trunc(unit, brandbase.now(), 'UTC');
    part_start timestamptz;
    part_name text;
    created integer := 0;
begin
    for part_start in
        select pg_catalog.generate_series(first_start, first_start + step * ahead, step)
    loop
        part_name := pg_catalog.format('%s_p%s', (select relname from pg_catalog.pg_class where oid = parent),
            pg_catalog.to_char(part_start at time zone 'UTC', 'YYYYMMDD'));
        continue when exists (
            select from pg_catalog.pg_inherits as i
            inner join pg_catalog.pg_class as c on i.inhrelid = c.oid
            where i.inhparent = parent and c.relname = part_name
        );
        execute pg_catalog.format(
            'create table %I.%I partition of %s for values from (%L) to (%L)',
            (select n.nspname from pg_catalog.pg_class as c
             inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid where c.oid = parent),
            part_name, parent, part_start, part_start + step);
        created := created + 1;
    end loop;
    return created;
end
$$;

comment on function brand.ensure_partitions(regclass, interval, integer) is
'Creates the range partitions of parent (partitioned by a timestamptz) from the current '
'period to ahead steps later, named <parent>_pYYYYMMDD (UTC); returns how many it created.';

create or replace function brand.drop_partitions_before(parent regclass, cutoff timestamptz)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    part regclass;
    dropped integer := 0;
begin
    for part in
        select c.oid::regclass
        from pg_catalog.pg_inherits as i
        inner join pg_catalog.pg_class as c on i.inhrelid = c.oid
        where i.inhparent = parent
            and (pg_catalog.regexp_match(
                pg_catalog.pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'
            ))[1]::timestamptz <= cutoff
    loop
        execute pg_catalog.format('drop table %s', part);
        dropped := dropped + 1;
    end loop;
    return dropped;
end
$$;

comment on function brand.drop_partitions_before(regclass, timestamptz) is
'Drops the range partitions of parent that end at or before cutoff; returns how many.';

revoke all on function brand.ensure_partitions(regclass, interval, integer),
brand.drop_partitions_before(regclass, timestamptz) from public;
