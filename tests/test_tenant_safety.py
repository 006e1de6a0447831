"""The adversarial suite: every function and relation the API roles can reach, attacked as
PostgREST would carry the attack (one transaction per request, `set local role`,
`request.jwt.claims` in GoTrue's shape, `request.headers`, `request.method`, rollback).

The surface comes from the catalogue (has_function_privilege / has_table_privilege on the
pack's schemas); how to call each function comes from tests/surface.py, where a new module
registers its functions. An executable function that is not registered fails the suite.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql
from tests import surface as S

from brandbase import lint

DENIED = {"42501", "28000"}
REFUSED = {"42501", "PT404"}
SIZE_CAPS = {"22001", "22023"}
TEXTLIKE = {"text", "text[]", "jsonb", "json", "character varying", "jsonb[]"}
MEGABYTE = 1 << 20

REGISTERED = sorted(k for k in S.REGISTRY if not k.startswith("*."))


@pytest.fixture(scope="module")
def world(new_database, pg_server) -> S.World:
    """One clone of the template for the whole module: brands acme (A) and bolt (B) with a
    member of every tier, and one object of every kind each."""
    return S.build_world(new_database(pg_server.template_dbname))


@pytest.fixture(scope="module")
def conn(world):
    with psycopg.connect(world.dsn) as c:
        yield c


@pytest.fixture(scope="module")
def schemas(world) -> list[str]:
    with psycopg.connect(world.dsn, autocommit=True) as c:
        return lint.pack_schemas(c)


@pytest.fixture(scope="module")
def procs(world, schemas) -> dict[str, list[S.Proc]]:
    with psycopg.connect(world.dsn, autocommit=True) as c:
        out: dict[str, list[S.Proc]] = {}
        for p in S.surface(c, schemas):
            out.setdefault(p.qualified, []).append(p)
        return out


def reachable(procs, qualified: str) -> list[S.Proc]:
    found = procs.get(qualified)
    if not found:
        pytest.skip(f"{qualified} is not executable by anon or authenticated in this install")
    return found


def b_secrets(world: S.World) -> set[str]:
    return world.ids(world.b) | set(S.B_MARKERS) | {str(world.b.objects["token"])}


def leaks(outcome: S.Outcome, secrets: set[str], passed: set[str]) -> list[str]:
    return sorted(s for s in secrets - passed if s in outcome.text)


def owner_of_a(world):
    return S.as_tier(world.a, "owner")


# ---------------------------------------------------------------------------------------
# The registry covers the catalogue.

def test_every_executable_function_is_registered(procs):
    missing = sorted(q for q in procs if S.lookup(q) is None)
    assert not missing, (
        "functions the API roles can EXECUTE but tests/surface.py does not register; add an entry "
        f"(how to call it, its scope) to the module's dict: {missing}")


def test_registered_arguments_exist(procs):
    """An entry that names an argument the function no longer has is stale."""
    wrong = []
    for qualified, versions in procs.items():
        fn = S.lookup(qualified)
        if fn and not any(set(fn.args) <= set(p.argnames) for p in versions):
            wrong.append(f"{qualified}: {sorted(set(fn.args) - set(versions[0].argnames))}")
    assert not wrong, wrong


def test_the_gate_is_no_endpoint(procs):
    """db-pre-request lives outside the exposed schema api: POST /rpc/pre_request must not exist."""
    assert not [q for q in procs if q.startswith("api.") and q.endswith(".pre_request")]


def test_api_holds_only_invoker_functions(procs):
    definers = sorted(q for q, ps in procs.items() if q.startswith("api.") and any(p.definer for p in ps))
    assert not definers, f"SECURITY DEFINER functions in the exposed schema api: {definers}"


# ---------------------------------------------------------------------------------------
# anon

@pytest.mark.parametrize("qualified", REGISTERED)
def test_anon_gets_nothing(world, conn, procs, qualified):
    reachable(procs, qualified)
    fn = S.REGISTRY[qualified]
    values = S.context(world, "own")
    out = S.request(conn, S.render(qualified, fn, values), "anon", S.ANON_CLAIMS)
    if fn.anon is None:
        assert not out.ok and out.sqlstate in DENIED, f"anon: {out}"
    leaked = leaks(out, world.ids(world.a) | b_secrets(world), S.passed_values(fn, values))
    assert not leaked, f"anon learnt {leaked}: {out}"


# ---------------------------------------------------------------------------------------
# Every tier of brand A against brand B

def check_cross(fn: S.Fn, out: S.Outcome, secrets: set[str], passed: set[str], who: str,
                refused: set[str] = REFUSED) -> list[str]:
    problems = []
    if fn.scope in ("brand", "denied") and (out.ok or out.sqlstate not in refused):
        problems.append(f"{who}: expected one of {sorted(refused)}, got {out}")
    if fn.scope == "predicate" and out.ok and "True" in out.rows:
        problems.append(f"{who}: the predicate said yes about another brand: {out}")
    if leaked := leaks(out, secrets, passed):
        problems.append(f"{who}: revealed {leaked}: {out}")
    return problems


@pytest.mark.parametrize("qualified", REGISTERED)
def test_no_tier_reaches_another_brand(world, conn, procs, qualified):
    reachable(procs, qualified)
    fn = S.REGISTRY[qualified]
    contexts = ["other"]
    if "brand" in S.placeholders(fn) and S.placeholders(fn) & set(S.OBJECTS):
        contexts.append("mixed")  # brand A named, brand B's object passed
    problems = []
    for ctx in contexts:
        values = S.context(world, ctx)
        passed = S.passed_values(fn, values)
        statement = S.render(qualified, fn, values)
        for tier in S.TIERS:
            out = S.request(conn, statement, *S.as_tier(world.a, tier))
            problems += check_cross(fn, out, b_secrets(world), passed, f"{tier}@acme ({ctx})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("qualified", REGISTERED)
def test_another_brands_object_answers_like_a_missing_one(world, conn, procs, qualified):
    reachable(procs, qualified)
    fn = S.REGISTRY[qualified]
    if fn.scope != "brand" or not S.placeholders(fn) - {"table"}:
        pytest.skip("no brand or object argument")
    if fn.capability:
        pytest.skip(f"capability: {fn.capability}")
    pairs = [("other", "missing")]
    if "brand" in S.placeholders(fn) and S.placeholders(fn) & set(S.OBJECTS):
        pairs.append(("mixed", "mixed_missing"))
    problems = []
    for theirs, nobodys in pairs:
        answers = []
        for ctx in (theirs, nobodys):
            values = S.context(world, ctx)
            out = S.request(conn, S.render(qualified, fn, values), *owner_of_a(world))
            answers.append((out, S.passed_values(fn, values)))
        (a, a_passed), (b, b_passed) = answers
        if a.ok or b.ok:
            problems.append(f"{theirs}: {a} / {nobodys}: {b} (both must be refused)")
        elif a.sqlstate != b.sqlstate or S.normalise(a.message, a_passed) != S.normalise(b.message, b_passed):
            problems.append(f"{theirs}: {a}\n  differs from {nobodys}: {b}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# Forged and malformed claims

def forged_claims(world: S.World) -> dict[str, object]:
    outsider = S.gotrue_claims(world.outsider, "outsider@nowhere.test", role="service_role")
    nosub = {k: v for k, v in outsider.items() if k != "sub"}
    return {"service_role claim, outsider sub": outsider, "service_role claim, no sub": nosub}


NOT_JSON = "claims not JSON"


def malformed_claims(world: S.World) -> dict[str, object]:
    base = S.gotrue_claims(world.a.users["owner"], world.a.emails["owner"])
    return {
        "sub not a uuid": {**base, "sub": "not-a-uuid"},
        "sub another user's email": {**base, "sub": world.b.emails["owner"]},
        "sub another user's id with a suffix": {**base, "sub": world.b.users["owner"] + "x"},
        "sub empty": {**base, "sub": ""},
        NOT_JSON: '{"sub": "' + world.a.users["owner"],
        "claims a JSON array": json.dumps([base]),
    }


@pytest.mark.parametrize("qualified", REGISTERED)
def test_forged_claims_give_no_extra_power(world, conn, procs, qualified):
    reachable(procs, qualified)
    fn = S.REGISTRY[qualified]
    if fn.scope == "hook":
        pytest.skip("the gate has its own test")
    problems = []
    values = S.context(world, "other")
    statement = S.render(qualified, fn, values)
    for label, claims in forged_claims(world).items():
        out = S.request(conn, statement, "authenticated", claims)
        problems += check_cross(fn, out, b_secrets(world), S.passed_values(fn, values), label,
                                refused=REFUSED | {"28000"})
    # Malformed claims on a call that would succeed for A's owner: 28000, or an answer
    # that holds nothing of anyone's.
    own = S.context(world, "own")
    statement = S.render(qualified, fn, own)
    secrets = world.ids(world.a) | b_secrets(world)
    for label, claims in malformed_claims(world).items():
        out = S.request(conn, statement, "authenticated", claims)
        expected = {"28000", "22P02"} if fn.inlined and label == NOT_JSON else {"28000"}
        if not out.ok and out.sqlstate not in expected:
            problems.append(f"{label}: expected 28000, got {out}")
        if out.ok and (leaked := leaks(out, secrets, S.passed_values(fn, own))):
            problems.append(f"{label}: succeeded and revealed {leaked}: {out}")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def authenticator(world, cluster):
    """A connection as PostgREST has one: logged in as a NOINHERIT role that may only SET ROLE
    to the API roles (Supabase's `authenticator`), so session_user is not the owner."""
    name = f"suite_authenticator_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with psycopg.connect(world.dsn, autocommit=True) as c:
        c.execute(sql.SQL("create role {} login noinherit password {}").format(
            sql.Identifier(name), sql.Literal(password)))
        c.execute(sql.SQL("grant anon, authenticated to {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(world.dsn)
    try:
        with psycopg.connect(**{**info, "user": name, "password": password}) as c:
            yield c
    finally:
        with psycopg.connect(world.dsn, autocommit=True) as c:
            c.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


def test_settable_gucs_carry_no_authority(world, authenticator):
    role, claims = S.as_tier(world.a, "viewer")
    forged = {**claims, "role": "service_role"}
    out = S.request(authenticator, "select brand.caller_is_service()", "authenticated", forged)
    assert not (out.ok and "True" in out.rows), f"claims decide who, not what: {out}"

    def freeze(c):
        c.execute("select set_config('brandbase.frozen_now', '2001-01-01 00:00:00+00', true)")

    out = S.request(authenticator, "select extract(year from brandbase.now())::int", role, claims,
                    before=freeze)
    assert not (out.ok and "2001" in out.rows), f"the caller froze the pack clock: {out}"
    assert out.ok or S.postgrest_status(out.sqlstate) < 500, out


# ---------------------------------------------------------------------------------------
# Oversized input

def big_value(argtype: str) -> str:
    if argtype in ("jsonb", "json"):
        return S.literal(json.dumps({"k": "x" * MEGABYTE}))
    if argtype.endswith("[]"):
        return f"array[{S.literal('x' * MEGABYTE)}]"
    return S.literal("x" * MEGABYTE)


@pytest.mark.parametrize("qualified", REGISTERED)
def test_oversized_input_is_refused(world, conn, procs, qualified):
    versions = reachable(procs, qualified)
    fn = S.REGISTRY[qualified]
    if fn.scope in ("hook", "denied"):
        pytest.skip(f"scope {fn.scope}")
    proc = next((p for p in versions if set(fn.args) <= set(p.argnames)), versions[0])
    if not proc.authenticated:
        pytest.skip("not executable by authenticated")
    textual = [(n, t) for n, t in zip(proc.argnames, proc.argtypes, strict=False) if t in TEXTLIKE]
    if not textual:
        pytest.skip("no text or json argument")
    problems = []
    for name, argtype in textual:
        statement = S.render(qualified, fn, S.context(world, "own"), override={name: big_value(argtype)})
        out = S.request(conn, statement, *owner_of_a(world))
        accepted = fn.lookups.get(name, frozenset())
        if out.ok and accepted == S.ANY_ANSWER:
            continue
        if out.ok or out.sqlstate not in SIZE_CAPS | accepted:
            problems.append(f"{name} ({argtype}) of 1 MB: expected 22001 or 22023, got {str(out)[:200]}")
        elif S.postgrest_status(out.sqlstate) >= 500:
            problems.append(f"{name}: {out.sqlstate} is a 5xx under PostgREST")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# Relations

ANON_RELATIONS = {
    "api.versions": "the API version registry is public metadata",
    "brandbase.api_versions": "the API version registry is public metadata",
    "i18n.settings": "the platform's default locale",
    "i18n.locales": "the platform's locales and their fallback chains",
    "api.locales": "the platform's locales and their fallback chains",
    "api.global_translations": "the platform's published UI messages, the same for every brand",
}


@pytest.mark.parametrize("who", ["anon", *S.TIERS])
def test_relations_show_nothing_of_another_brand(world, conn, schemas, who):
    with psycopg.connect(world.dsn, autocommit=True) as c:
        rels = S.relations(c, schemas)
    problems = []
    for relation, *_ in rels:
        statement = f"select t::text from {relation} as t limit 5000"
        if who == "anon":
            out = S.request(conn, statement, "anon", S.ANON_CLAIMS)
            if out.ok and out.rows != "[]" and relation not in ANON_RELATIONS:
                problems.append(f"anon reads {relation}: {out}")
            secrets = world.ids(world.a) | b_secrets(world)
        else:
            out = S.request(conn, statement, *S.as_tier(world.a, who))
            secrets = b_secrets(world)
        if leaked := leaks(out, secrets, set()):
            problems.append(f"{who} reads {leaked} in {relation}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# The gate

METERING_TABLES = """
select c.oid::regclass::text from pg_class as c
where c.relnamespace in ('quotas'::regnamespace, 'ratelimit'::regnamespace) and c.relkind in ('r', 'p')
order by 1
"""


def metering_snapshot(c: psycopg.Connection, brand_id: str) -> dict[str, tuple]:
    """Every metering row (quotas, rate limits) that mentions the brand, per table."""
    out = {}
    for (table,) in c.execute(METERING_TABLES).fetchall():
        out[table] = c.execute(f"select count(*), md5(string_agg(t::text, ',' order by t::text)) "
                               f"from {table} as t where t::text like %s", (f"%{brand_id}%",)).fetchone()
    return out


@pytest.mark.parametrize("who", ["anon", *S.TIERS])
def test_the_gate_charges_only_the_callers_brands(world, conn, procs, who):
    hooks = [q for q in procs if q.endswith(".pre_request")]
    assert hooks, "no request gate (pre_request) executable by the API roles"
    if who == "anon":
        role, claims = "anon", S.ANON_CLAIMS
    else:
        role, claims = S.as_tier(world.a, who)
    seen = {}

    def before(c):
        seen["before"] = metering_snapshot(c, world.b.id)

    def after(c, outcome):
        seen["after"] = metering_snapshot(c, world.b.id)

    headers = {"x-brand-id": world.b.id, "x-forwarded-for": "203.0.113.7", "content-type": "application/json"}
    for hook in hooks:
        seen.clear()
        schema, name = hook.split(".")
        out = S.request(conn, f"select {S.ident(schema)}.{S.ident(name)}()", role, claims, headers=headers,
                        path="/rpc/update_brand", before=before, after=after)
        assert out.ok or out.sqlstate == "PGRST", f"the gate failed with a raw error: {out}"
        if out.ok:
            assert seen["after"] == seen["before"], f"{who} naming brand B in X-Brand-Id charged brand B"


# ---------------------------------------------------------------------------------------
# Type shadowing through pg_temp

COMMON_TYPES = ("uuid", "text", "jsonb", "json", "int4", "integer", "int8", "bigint", "int2", "smallint",
                "bool", "boolean", "timestamptz", "timestamp", "interval", "inet", "cidr", "numeric",
                "name", "regclass", "regprocedure", "bytea", "varchar", "float8", "date", "oid", "char")

TYPES_NAMED_SQL = """
select distinct t.typname
from pg_proc as p
join pg_namespace as n on n.oid = p.pronamespace
cross join lateral unnest(p.proargtypes::oid[] || coalesce(p.proallargtypes, '{}') || p.prorettype) as a (oid)
join pg_type as t on t.oid = a.oid or t.typarray = a.oid
where n.nspname = any(%s) and t.typnamespace = 'pg_catalog'::regnamespace and t.typtype = 'b'
union
select distinct t.typname
from pg_proc as p
join pg_namespace as n on n.oid = p.pronamespace
cross join lateral regexp_matches(p.prosrc, '(?:::|\\s)([a-z_][a-z0-9_]*)', 'g') as m
join pg_type as t on t.typname = m[1] and t.typnamespace = 'pg_catalog'::regnamespace and t.typtype = 'b'
where n.nspname = any(%s)
"""

MARKER = "SHADOW-TYPE-RAN-AS"


def shadow(c: psycopg.Connection, role: str, types: list[str]) -> list[str]:
    """In this session's pg_temp, as the API role: a domain for every type name, whose CHECK
    raises MARKER when it runs as anyone but that role. Returns the domains made."""
    made = []
    c.execute(f"set role {role}")
    c.execute(f"""
        create function pg_temp.shadow_check(v anyelement) returns boolean language plpgsql as $$
        begin
            if current_user <> '{role}' then
                raise warning '{MARKER} %', current_user;
                raise exception '{MARKER} %', current_user;
            end if;
            return true;
        end $$""")
    for name in types:
        try:
            with c.transaction():
                c.execute(f'create domain pg_temp."{name}" as pg_catalog."{name}" '
                          f'check (pg_temp.shadow_check(value))')
            made.append(name)
        except psycopg.Error:
            pass  # not a valid domain base (a grammar alias such as integer), or no TEMP
    c.execute("reset role")
    c.commit()
    return made


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_pg_temp_types_never_run_as_the_owner(world, conn, procs, schemas, role):
    with psycopg.connect(world.dsn, autocommit=True) as c:
        named = [r[0] for r in c.execute(TYPES_NAMED_SQL, (schemas, schemas)).fetchall()]
    types = sorted(set(named) | set(COMMON_TYPES))
    if role == "anon":
        r, claims = "anon", S.ANON_CLAIMS
    else:
        r, claims = owner_of_a(world)
    own = S.context(world, "own")
    calls = [(q, S.render(q, S.lookup(q), own)) for q in sorted(procs) if S.lookup(q)]
    with psycopg.connect(world.dsn, autocommit=True) as c:  # reads go through the RLS helpers
        calls += [(rel, f"select count(*) from {rel}") for rel, *_ in S.relations(c, schemas)]
    plain = {q: S.request(conn, st, r, claims) for q, st in calls}

    notices: list[str] = []
    with psycopg.connect(world.dsn) as shadowed:
        shadowed.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        made = shadow(shadowed, role, types)
        if not made:
            pytest.skip(f"{role} cannot create objects in pg_temp (TEMP revoked): nothing to shadow")
        assert "uuid" in made and "text" in made, made
        problems = []
        for q, st in calls:
            out = S.request(shadowed, st, r, claims)
            if MARKER in out.text:
                problems.append(f"{q}: a pg_temp domain ran as the owner: {out}")
            elif (out.ok, out.sqlstate) != (plain[q].ok, plain[q].sqlstate):
                problems.append(f"{q}: shadowing changed the answer: {plain[q]} -> {out}")
    marked = [n for n in notices if MARKER in n]
    assert not problems and not marked, "\n".join(problems + marked)


def test_no_definer_function_lacks_pg_temp_last(world):
    with psycopg.connect(world.dsn, autocommit=True) as c:
        findings = [f.object for f in lint.run(c) if f.name == "security_definer_without_search_path"]
    assert findings == []
