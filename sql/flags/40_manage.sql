-- flags: management. Flags, environments, segments and entitlements are the platform's and
-- change only as the owner or service_role (the CLI, migrations, an operator's backend);
-- a brand's admins (flags.manage) set and clear the brand's own overrides. Every function
-- validates everything before its first write.

create or replace function flags.set_flag(
    flag_key text,
    kind text default 'boolean',
    description text default '',
    tags text[] default '{}',
    on_value jsonb default null,
    variants jsonb default '[]',
    dependencies jsonb default '[]'
)
returns flags.flags
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    resolved jsonb;
    saved flags.flags;
begin
    if flag_key is null or pg_catalog.length(flag_key) not between 1 and 200 or flag_key ~ '[[:cntrl:]]' then
        perform flags._invalid('a flag key is 1-200 printable characters', 'Use a key such as checkout.new-flow.');
    end if;
    if kind is null or kind not in ('boolean', 'string', 'number', 'json') then
        perform flags._invalid(format('unknown flag kind %s', coalesce(kind, 'null')), 'Kinds: boolean, string, number, json.');
    end if;
    if pg_catalog.length(description) > 2000 or pg_catalog.cardinality(tags) > 50 then
        raise exception 'description or tags too large' using errcode = '22001',
            hint = 'A description has at most 2000 characters, a flag at most 50 tags.';
    end if;
    if on_value is not null and flags._kind_of(on_value) is distinct from kind and kind <> 'json' then
        perform flags._invalid(format('on_value is %s, the flag is %s', flags._kind_of(on_value), kind),
            'Give on_value the flag''s kind.');
    end if;
    resolved := flags._check_variants(variants, kind, true);
    perform flags._check_dependencies(flag_key, coalesce(dependencies, '[]'));
    insert into flags.flags as f (key, kind, description, tags, on_value, variants, dependencies)
    values (flag_key, kind, coalesce(description, ''), coalesce(tags, '{}'), on_value, resolved, coalesce(dependencies, '[]'))
    on conflict (key) do update set
        kind = excluded.kind, description = excluded.description, tags = excluded.tags,
        on_value = excluded.on_value, variants = excluded.variants, dependencies = excluded.dependencies,
        updated_at = now()
    returning * into saved;
    return saved;
end
$$;

comment on function flags.set_flag(text, text, text, text[], jsonb, jsonb, jsonb) is
'Creates or changes a flag (platform operators only). Variants: Unleash''s, with fix/variable '
'weights resolved to 1000; dependencies: one level, cycles and chains refused (23514).';

create or replace function flags.set_environment(
    flag_key text,
    environment text,
    enabled boolean,
    strategies jsonb default null
)
returns flags.flag_environments
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    f flags.flags;
    resolved jsonb;
    saved flags.flag_environments;
begin
    select * into f from flags.flags as x where x.key = flag_key;
    if not found then
        raise exception 'flag % not found', flag_key using errcode = 'PT404', hint = 'Create it with flags.set_flag.';
    end if;
    if not exists (select from flags.environments as e where e.name = environment) then
        perform flags._invalid(format('unknown environment %s', environment), 'Environments are listed in flags.environments.');
    end if;
    resolved := case when strategies is null then null else flags._check_strategies(strategies, f.kind, true) end;
    insert into flags.flag_environments as fe (flag_key, environment, enabled, strategies)
    values (f.key, environment, coalesce(enabled, false), coalesce(resolved, '[]'))
    on conflict on constraint flag_environments_pkey do update set
        enabled = coalesce(set_environment.enabled, fe.enabled),
        strategies = coalesce(resolved, fe.strategies),
        updated_at = now()
    returning * into saved;
    return saved;
end
$$;

comment on function flags.set_environment(text, text, boolean, jsonb) is
'Sets a flag''s kill switch (enabled) and, unless null, its strategies in one environment.';

create or replace function flags.archive(flag_key text, archived boolean default true)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update flags.flags as f set archived_at = case when archived then coalesce(f.archived_at, now()) end, updated_at = now()
    where f.key = flag_key;
    if not found then
        raise exception 'flag % not found', flag_key using errcode = 'PT404', hint = 'See flags.flags for the keys.';
    end if;
end
$$;

comment on function flags.archive(text, boolean) is
'Archives (or, with false, revives) a flag; archived flags evaluate as DISABLED.';

create or replace function flags.set_segment(
    segment_id integer, name text, constraints jsonb, description text default ''
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform flags._check_constraints(coalesce(constraints, '[]'), true);
    insert into flags.segments as s (id, name, description, constraints)
    values (segment_id, name, coalesce(description, ''), coalesce(constraints, '[]'))
    on conflict (id) do update set name = excluded.name, description = excluded.description,
        constraints = excluded.constraints;
end
$$;

comment on function flags.set_segment(integer, text, jsonb, text) is
'Creates or changes a segment (a named constraint set).';

create or replace function flags.set_entitlement(plan text, flag_key text, value jsonb default 'true')
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    f flags.flags;
begin
    select * into f from flags.flags as x where x.key = flag_key;
    if not found then
        raise exception 'flag % not found', flag_key using errcode = 'PT404', hint = 'Create it with flags.set_flag.';
    end if;
    if value is null then
        delete from flags.entitlements as e where e.plan = set_entitlement.plan and e.flag_key = f.key;
        return;
    end if;
    if flags._kind_of(value) is distinct from f.kind and f.kind <> 'json' then
        perform flags._invalid(format('value is %s, the flag is %s', flags._kind_of(value), f.kind), 'Give the flag''s kind.');
    end if;
    insert into flags.entitlements as e (plan, flag_key, value) values (plan, f.key, value)
    on conflict on constraint entitlements_pkey do update set value = excluded.value;
end
$$;

comment on function flags.set_entitlement(text, text, jsonb) is
'Brands on the plan get this value of the flag (null removes the entitlement).';

create or replace function flags.set_override(
    brand_id uuid,
    flag_key text,
    value jsonb,
    reason text,
    user_id uuid default null,
    expires_at timestamptz default null
)
returns flags.overrides
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    f flags.flags;
    saved flags.overrides;
begin
    perform brand.require_permission(brand_id, 'flags.manage');
    if pg_catalog.length(flag_key) > 200 or pg_catalog.length(reason) > 500 or pg_catalog.octet_length(value::text) > 4096 then
        raise exception 'argument too large' using errcode = '22001',
            hint = 'A flag key has at most 200 characters, a reason 500, a value 4 kB.';
    end if;
    select * into f from flags.flags as x where x.key = flag_key and x.archived_at is null;
    if not found then
        raise exception 'flag % not found', flag_key using errcode = 'PT404', hint = 'See api.flags for the flags.';
    end if;
    if value is null or (flags._kind_of(value) is distinct from f.kind and f.kind <> 'json') then
        perform flags._invalid(format('the flag is %s; the value is %s', f.kind, coalesce(flags._kind_of(value), 'null')),
            'Send a value of the flag''s kind.');
    end if;
    if reason is null or pg_catalog.btrim(reason) = '' then
        perform flags._invalid('a reason is required', 'Say why the override is set; it is kept in the audit trail.');
    end if;
    if expires_at <= brandbase.now() then
        perform flags._invalid('expires_at is in the past', 'Give a future time, or null for no expiry.');
    end if;
    if user_id is not null and not exists (
        select from brand.members as m where m.brand_id = set_override.brand_id and m.user_id = set_override.user_id
    ) then
        raise exception 'user % not found in the brand', user_id using errcode = 'PT404',
            hint = 'Per-user overrides are for the brand''s members.';
    end if;
    insert into flags.overrides as o (brand_id, flag_key, user_id, value, reason, set_by, set_at, expires_at)
    values (brand_id, f.key, coalesce(user_id, '00000000-0000-0000-0000-000000000000'), value, pg_catalog.btrim(reason),
        brand.caller_id(), now(), expires_at)
    on conflict on constraint overrides_pkey do update set
        value = excluded.value, reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at,
        expires_at = excluded.expires_at
    returning * into saved;
    perform webhooks.emit(brand_id, 'flags.override.set', jsonb_build_object(
        'flag', f.key, 'user_id', user_id, 'value', value, 'reason', saved.reason,
        'set_by', saved.set_by, 'expires_at', expires_at));
    return saved;
end
$$;

comment on function flags.set_override(uuid, text, jsonb, text, uuid, timestamptz) is
'Sets the brand''s (or, with user_id, a member''s) value of a flag, with why and until when. Needs '
'flags.manage; audited; emits flags.override.set.';

create or replace function flags.clear_override(brand_id uuid, flag_key text, user_id uuid default null)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.require_permission(brand_id, 'flags.manage');
    if pg_catalog.length(flag_key) > 200 then
        raise exception 'argument too large' using errcode = '22001', hint = 'A flag key has at most 200 characters.';
    end if;
    delete from flags.overrides as o
    where o.brand_id = clear_override.brand_id and o.flag_key = clear_override.flag_key
        and o.user_id = coalesce(clear_override.user_id, '00000000-0000-0000-0000-000000000000');
    if not found then
        raise exception 'override not found' using errcode = 'PT404',
            hint = 'See api.flag_overrides for the brand''s overrides.';
    end if;
    perform webhooks.emit(brand_id, 'flags.override.cleared', jsonb_build_object(
        'flag', flag_key, 'user_id', user_id, 'cleared_by', brand.caller_id()));
end
$$;

comment on function flags.clear_override(uuid, text, uuid) is
'Removes the brand''s (or a member''s) override of a flag. Needs flags.manage; audited; emits '
'flags.override.cleared.';

create or replace function flags.import_unleash(features jsonb, environment text default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    env text := coalesce(environment, (select s.environment from flags.settings as s));
    list jsonb;
    ft jsonb;
    sg jsonb;
    n integer := 0;
begin
    if pg_catalog.jsonb_typeof(features) = 'array' then
        list := features;
    elsif pg_catalog.jsonb_typeof(features -> 'features') = 'array' then
        list := features -> 'features';
    else
        perform flags._invalid('expected Unleash''s client features: {"features": [...], "segments": [...]} or [...]',
            'Export from Unleash''s /api/client/features, or the client specification''s "state".');
    end if;
    if not exists (select from flags.environments as e where e.name = env) then
        perform flags._invalid(format('unknown environment %s', env), 'Environments are listed in flags.environments.');
    end if;
    -- validate everything first, write after: nothing half-imported
    for sg in select e from pg_catalog.jsonb_array_elements(coalesce(features -> 'segments', '[]')) as e loop
        if flags._number(sg ->> 'id') is null then
            perform flags._invalid('a segment needs a numeric id', 'Segments are {"id": 1, "constraints": [...]}.');
        end if;
        perform flags._check_constraints(sg -> 'constraints', false);
    end loop;
    for ft in select e from pg_catalog.jsonb_array_elements(list) as e loop
        if pg_catalog.jsonb_typeof(ft -> 'name') is distinct from 'string' or pg_catalog.length(ft ->> 'name') not between 1 and 200 then
            perform flags._invalid('a feature needs a name of 1-200 characters', 'Features are {"name": ..., "enabled": ..., "strategies": [...]}.');
        end if;
        perform flags._check_variants(ft -> 'variants', 'boolean', false);
        perform flags._check_strategies(ft -> 'strategies', 'boolean', false);
        if ft ? 'dependencies' and pg_catalog.jsonb_typeof(ft -> 'dependencies') <> 'array' then
            perform flags._invalid('dependencies must be an array', 'Send [{"feature": "parent"}].');
        end if;
    end loop;
    insert into flags.segments as s (id, name, constraints)
    select (e ->> 'id')::integer, coalesce(e ->> 'name', 'segment-' || (e ->> 'id')), coalesce(e -> 'constraints', '[]')
    from pg_catalog.jsonb_array_elements(coalesce(features -> 'segments', '[]')) as e
    on conflict (id) do update set constraints = excluded.constraints;
    for ft in select e from pg_catalog.jsonb_array_elements(list) as e loop
        insert into flags.flags as f (key, kind, description, variants, dependencies, archived_at)
        values (ft ->> 'name', 'boolean', coalesce(pg_catalog.left(ft ->> 'description', 2000), ''),
            coalesce(ft -> 'variants', '[]'), coalesce(ft -> 'dependencies', '[]'), null)
        on conflict (key) do update set
            description = excluded.description, variants = excluded.variants,
            dependencies = excluded.dependencies, archived_at = null, updated_at = now();
        insert into flags.flag_environments as fe (flag_key, environment, enabled, strategies)
        values (ft ->> 'name', env, coalesce((ft ->> 'enabled')::boolean, false), coalesce(ft -> 'strategies', '[]'))
        on conflict on constraint flag_environments_pkey do update set
            enabled = excluded.enabled, strategies = excluded.strategies, updated_at = now();
        n := n + 1;
    end loop;
    return n;
end
$$;

comment on function flags.import_unleash(jsonb, text) is
'Imports Unleash''s client features (and segments) into one environment, all or nothing. Accepts '
'what Unleash clients accept (unknown operators, dependency chains), which evaluate as off.';

create or replace function flags.export_unleash(environment text default null)
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'version', 2,
        'features', coalesce((
            select jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                'name', f.key, 'description', f.description, 'type', 'release',
                'enabled', coalesce(fe.enabled, false), 'stale', false,
                'strategies', coalesce(fe.strategies, '[]'), 'variants', f.variants,
                'dependencies', nullif(f.dependencies, '[]')
            )) order by f.key)
            from flags.flags as f
            left join flags.flag_environments as fe
                on f.key = fe.flag_key
                and fe.environment = coalesce(export_unleash.environment, (select s.environment from flags.settings as s))
            where f.archived_at is null
        ), '[]'),
        'segments', coalesce((
            select jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'constraints', s.constraints) order by s.id)
            from flags.segments as s
        ), '[]')
    )
$$;

comment on function flags.export_unleash(text) is
'The flags of one environment as Unleash''s client features document (import_unleash reads it back).';

revoke all on function
flags.set_flag(text, text, text, text[], jsonb, jsonb, jsonb),
flags.set_environment(text, text, boolean, jsonb),
flags.archive(text, boolean), flags.set_segment(integer, text, jsonb, text),
flags.set_entitlement(text, text, jsonb),
flags.set_override(uuid, text, jsonb, text, uuid, timestamptz), flags.clear_override(uuid, text, uuid),
flags.import_unleash(jsonb, text), flags.export_unleash(text)
from public;

grant execute on function
flags.set_flag(text, text, text, text[], jsonb, jsonb, jsonb),
flags.set_environment(text, text, boolean, jsonb),
flags.archive(text, boolean), flags.set_segment(integer, text, jsonb, text),
flags.set_entitlement(text, text, jsonb),
flags.import_unleash(jsonb, text), flags.export_unleash(text)
to service_role;

grant execute on function
flags.set_override(uuid, text, jsonb, text, uuid, timestamptz), flags.clear_override(uuid, text, uuid)
to authenticated, service_role;
