-- No table column of any schema the pack installs has a reg* type (regproc, regprocedure,
-- regclass, regtype …): pg_upgrade refuses such clusters (it cannot keep the oids they
-- hold), and Supabase upgrades projects in place with pg_upgrade. Signatures are stored
-- as text and resolved with to_regprocedure() / to_regclass() when used (issue 15.1).
begin;
select plan(4);

select is(
    (
        select
            coalesce(
                string_agg(format('%I.%I.%I %s', n.nspname, c.relname, a.attname, t.typname), ', '), ''
            )
        from pg_catalog.pg_attribute as a
        inner join pg_catalog.pg_class as c on a.attrelid = c.oid
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        inner join pg_catalog.pg_type as t on a.atttypid = t.oid
        where
            c.relkind in ('r', 'p', 'm', 'f')
            and a.attnum > 0 and not a.attisdropped
            and t.typname like 'reg%' and t.typnamespace = 'pg_catalog'::regnamespace
            and n.nspname not in ('pg_catalog', 'information_schema', 'cron', 'extensions')
            and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%'
    ),
    '',
    'no table column in the pack''s schemas has a reg* type'
);
select is(
    (
        select format_type(atttypid, atttypmod) from pg_catalog.pg_attribute
        where attrelid = 'jobs.queues'::regclass and attname = 'handler'
    ), 'text', 'jobs.queues.handler is text'
);
select is(
    (
        select format_type(atttypid, atttypmod) from pg_catalog.pg_attribute
        where attrelid = 'health.probes'::regclass and attname = 'probe'
    ), 'text', 'health.probes.probe is text'
);
select is(
    (
        select count(*)::int from health.probes
        where to_regprocedure(probe) is null
    ), 0,
    'every stored probe signature resolves'
);

select * from finish();
rollback;
