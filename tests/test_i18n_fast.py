"""i18n.t()'s one-expression path (issue 19): the fast form stored on write for text, simple
arguments and one top-level plural or select, read by the invoker t() with one probe of
i18n.resolved; everything else goes to the definer i18n._t() (the full formatter, the
brand's layer, tags and headers to resolve). The two give the same answer for every shape
and every odd parameter; anon reads through the policy on i18n.resolved, and only the
columns t() needs."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

NS = "fastpath"
MESSAGES = {
    "text": "Just text",
    "empty": "",
    "one_arg": "Hello {name}!",
    "two_args": "{a} and {b}",
    "arg_first_last": "{a}{b}",
    "many_args": "{a}, {b}, {c}, {d}: {e}",
    "typed": "{n, number} items on {d, date, short}",
    "quotes": "It''s '{'literal'}' and '#' here, {who}",
    "percent": "100% of {a} %s %% {b}",
    "plural": "{count, plural, =0 {no files} one {# file} =5 {five files} other {# files}} in {dir}",
    "plural_args": "{n, plural, one {{who} has # cat} other {{who} and {other} have # cats}}!",
    "ordinal": "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}} place",
    "select": "Dear {g, select, female {Ms {name}} male {Mr {name}} other {{name}}}, welcome",
    "select_hash": "{g, select, a {#a} other {#other}}",
    "offset": "{a, plural, offset:1 =0 {nobody} one {{who} and # other} other {{who} and # others}}",
    "nested": "{g, select, female {{n, plural, one {her # cat} other {her # cats}}} other {{n} cats}}",
    "two_switches": "{n, plural, one {# file} other {# files}}, {g, select, a {A} other {B}}",
    "ru": "{n, plural, one {# файл} few {# файла} many {# файлов} other {# файла}}",
}
FAST = {"offset": False, "nested": False, "two_switches": False}
PARAMS = [
    {},
    {"name": "Ann", "a": "x", "b": "y", "c": 3, "d": None, "e": True, "who": "Al", "other": "Bo", "dir": "/"},
    *[
        {"count": n, "n": n, "a": n, "who": "Al", "dir": "/"}
        for n in (0, 1, 2, 3, 5, 11, 21, 22, 101, 111, 999)
    ],
    *[
        {"count": n, "n": n}
        for n in (1000, 1001, -1, 1.5, 2.0, 1e3, "7", "07", "abc", None, True, [1], {"x": 1})
    ],
    {"g": "female", "name": "Ann", "n": 1},
    {"g": "male", "name": "Bob", "n": 4},
    {"g": "robot", "name": "R2", "n": 0},
    {"g": "other", "name": "O"},
    {"g": None},
    {"g": 5, "#": "hash"},
    {"#": "hash", "count": 3},
]
ODD_PARAMS = ["null", "'[1, 2]'", "'5'", "'\"text\"'", "'{}'"]


@pytest.fixture
def conn(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as c:
        c.execute("select i18n.set_locale('de'), i18n.set_locale('de-AT'), i18n.set_locale('ru')")
        for key, source in MESSAGES.items():
            c.execute(
                "select i18n.set_message(null, %s, %s, %s, %s, 'published')",
                (NS, key, "ru" if key == "ru" else "en", source),
            )
        yield c


def both(conn, key, locale, params):
    return conn.execute(
        "select i18n.t(%(k)s, %(l)s, %(p)s, %(ns)s), i18n._t(%(k)s, %(l)s, %(p)s, %(ns)s)",
        {"k": key, "l": locale, "p": params, "ns": NS},
    ).fetchone()


def test_every_shape_has_the_fast_form_it_can(conn):
    rows = dict(conn.execute("select key, fast is not null from i18n.messages where namespace = %s", (NS,)))
    assert rows == {key: FAST.get(key, True) for key in MESSAGES}
    # the resolved rows carry it for every locale whose chain reaches the message
    assert conn.execute(
        "select bool_and((r.parts is not null or r.cases is not null) = (m.fast is not null)) "
        "from i18n.resolved as r "
        "join i18n.messages as m using (namespace, key) where r.namespace = %s and m.locale = 'en'",
        (NS,),
    ).fetchone()[0]


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_fast_path_and_formatter_agree(conn, key):
    locale = "ru" if key == "ru" else "de-AT"  # de-AT -> de -> en: the message comes from en
    for p in PARAMS:
        t, full = both(conn, key, locale, Jsonb(p))
        assert t == full, (key, p)
    for odd in ODD_PARAMS:
        t, full = conn.execute(
            f"select i18n.t(%s, %s, {odd}, %s), i18n._t(%s, %s, {odd}, %s)",
            (key, locale, NS, key, locale, NS),
        ).fetchone()
        assert t == full, (key, odd)


def test_fast_answers(conn):
    def t(key, params, locale="en"):
        return both(conn, key, locale, Jsonb(params))[0]

    assert t("text", {}) == "Just text"
    assert t("empty", {}) == ""
    assert t("percent", {"a": "%s", "b": "%1$s"}) == "100% of %s %s %% %1$s"
    assert t("one_arg", {"name": "Ann"}) == "Hello Ann!"
    assert t("one_arg", {}) == "Hello {name}!"
    assert t("two_args", {"a": 1, "b": None}) == "1 and {b}"
    assert t("many_args", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}) == "1, 2, 3, 4: 5"
    assert t("quotes", {"who": "Al"}) == "It's {literal} and '#' here, Al"  # '#' is text outside a plural
    assert t("plural", {"count": 0, "dir": "/"}) == "no files in /"
    assert t("plural", {"count": 1, "dir": "/"}) == "1 file in /"
    assert t("plural", {"count": 5, "dir": "/"}) == "five files in /"
    assert t("plural", {"count": 999}) == "999 files in {dir}"
    assert t("plural", {"count": 1000}) == "1000 files in {dir}"  # past the table: the formatter
    assert t("plural", {}) == "{count} files in {dir}"
    assert t("plural", {"count": 1, "#": "no"}) == "1 file in {dir}"
    assert t("plural_args", {"n": 1, "who": "Al"}) == "Al has 1 cat!"
    assert t("plural_args", {"n": 2, "who": "Al", "other": "Bo"}) == "Al and Bo have 2 cats!"
    assert [t("ordinal", {"n": n}) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st place", "2nd place", "3rd place", "4th place", "11th place", "12th place", "13th place",
        "21st place", "22nd place", "23rd place", "101st place", "111th place",
    ]  # fmt: skip
    assert t("select", {"g": "female", "name": "Ann"}) == "Dear Ms Ann, welcome"
    assert t("select", {"g": "x", "name": "Al"}) == "Dear Al, welcome"
    assert t("select", {"name": "Al"}) == "Dear Al, welcome"
    assert t("select_hash", {"g": "a"}) == "#a"
    assert [t("ru", {"n": n}, "ru") for n in (1, 2, 5, 21, 111)] == [
        "1 файл", "2 файла", "5 файлов", "21 файл", "111 файлов",
    ]  # fmt: skip


def test_unknown_keys_tags_and_headers_read_as_before(conn):
    assert both(conn, "no.such.key", "de-AT", Jsonb({})) == ("no.such.key", "no.such.key")
    assert both(conn, "one_arg", "de-at, en;q=0.5", Jsonb({"name": "A"})) == ("Hello A!", "Hello A!")
    assert both(conn, "one_arg", "xx-invalid!!", Jsonb({"name": "A"})) == ("Hello A!", "Hello A!")
    assert both(conn, "x" * 300, "en", Jsonb({})) == ("x" * 300, "x" * 300)
    assert conn.execute("select i18n.t(null, 'en')").fetchone()[0] is None
    assert conn.execute("select i18n.t('one_arg', 'en', '{}', repeat('n', 100))").fetchone()[0] == "one_arg"


def test_anon_reads_through_the_policy_and_only_what_t_needs(conn):
    with conn.transaction():
        conn.execute("set local role anon")
        assert conn.execute("select i18n.t('one_arg', 'en', '{\"name\": \"Ann\"}', %s)", (NS,)).fetchone()[
            0
        ] == ("Hello Ann!")
        assert conn.execute(
            "select i18n.t('plural', 'de', '{\"count\": 1, \"dir\": \"x\"}', %s)", (NS,)
        ).fetchone()[0] == ("1 file in x")
        assert conn.execute("select count(*) > 0 from i18n.resolved where namespace = %s", (NS,)).fetchone()[
            0
        ]
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute("set local role anon")
        conn.execute("select code from i18n.resolved limit 1")  # the program stays the definer's


def test_fast_forms_follow_publishing_and_refresh(conn):
    conn.execute(f"select i18n.set_message(null, '{NS}', 'later', 'en', 'v1 {{x}}', 'published')")
    conn.execute(f"select i18n.set_message(null, '{NS}', 'later', 'en', 'v2 {{x}}', 'draft')")
    assert both(conn, "later", "en", Jsonb({"x": 1})) == ("v1 1", "v1 1")  # the draft is not served
    conn.execute(f"select i18n.set_status(null, '{NS}', 'later', 'en', 'published')")
    assert both(conn, "later", "en", Jsonb({"x": 1})) == ("v2 1", "v2 1")
    # a row without its fast form (written before it existed) is filled by the refresh
    conn.execute(f"update i18n.messages set fast = null where namespace = '{NS}' and key = 'later'")
    assert both(conn, "later", "en", Jsonb({"x": 2})) == ("v2 2", "v2 2")  # the formatter answers meanwhile
    assert conn.execute("select i18n._refresh_fast()").fetchone()[0] == 1
    assert conn.execute("select i18n._refresh_fast()").fetchone()[0] == 0
    conn.execute("select i18n._rebuild_all_bundles()")
    assert conn.execute(
        "select parts is not null from i18n.resolved where namespace = %s and key = 'later' "
        "and locale = 'en'",
        (NS,),
    ).fetchone()[0]
    conn.execute(f"select i18n.delete_message(null, '{NS}', 'later', 'en')")
    assert both(conn, "later", "en", Jsonb({})) == ("later", "later")


def test_a_brand_header_takes_the_brand_path(conn):
    """With X-Brand-Id (or a brand_id) t() leaves its probe to i18n._t(), which applies the
    brand's wording only for whom may read it; a forged header changes nothing else."""
    with conn.transaction():
        conn.execute(
            "select set_config('request.headers', %s, true)",
            ('{"x-brand-id": "00000000-0000-0000-0000-000000000000"}',),
        )
        assert both(conn, "one_arg", "en", Jsonb({"name": "A"})) == ("Hello A!", "Hello A!")
    assert conn.execute(
        "select i18n.t('one_arg', 'en', '{\"name\": \"A\"}', %s, '00000000-0000-0000-0000-000000000000')",
        (NS,),
    ).fetchone()[0] == ("Hello A!")
