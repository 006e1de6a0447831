"""Module i18n from the outside: `brandbase i18n import|export` round trips (i18next JSON
with nesting and plural suffixes, gettext PO with statuses and descriptions), bad files
that import nothing, the progress bar on a large file, the file parsers, and t() reading
the request's locale as PostgREST passes it."""

from __future__ import annotations

import json

import psycopg
import pytest
from tests.helpers import run_cli

from brandbase import i18n as i18n_mod


@pytest.fixture
def conn(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as c:
        c.execute("select i18n.set_locale('de'), i18n.set_locale('de-AT'), i18n.set_locale('fr')")
        yield c


def messages(conn, locale):
    return conn.execute(
        "select key, source, status, description from i18n.messages where locale = %s order by key", (locale,)
    ).fetchall()


def test_i18next_json_round_trip(conn, owner_dsn, tmp_path):
    src = tmp_path / "de.json"
    src.write_text(
        json.dumps(
            {
                "cart": {"title": "Warenkorb", "empty": "Leer, {{name}}!"},
                "items_one": "{{count}} Artikel",
                "items_other": "{{count}} Artikel",
                "place_ordinal_other": "{{count}}.",
                "icu": "{n, select, a {A} other {'{'B'}'}}",
                "braces": "a {literal} brace, {{who}}",
            },
            ensure_ascii=False,
        )
    )
    out = run_cli("i18n", "import", str(src), "--locale", "de", "--dsn", owner_dsn)
    assert out.returncode == 0, out.stderr
    assert "imported 6 messages" in out.stdout
    assert conn.execute("select i18n.t('items', 'de-AT', '{\"count\": 3}')").fetchone()[0] == "3 Artikel"
    assert (
        conn.execute("select i18n.t('cart.empty', 'de', '{\"name\": \"Max\"}')").fetchone()[0] == "Leer, Max!"
    )
    assert (
        conn.execute("select i18n.t('braces', 'de', '{\"who\": \"Al\"}')").fetchone()[0]
        == "a {literal} brace, Al"
    )
    before = messages(conn, "de")
    exported = run_cli("i18n", "export", "--locale", "de", "--dsn", owner_dsn)
    assert exported.returncode == 0, exported.stderr
    again = tmp_path / "again.json"
    again.write_text(exported.stdout)
    conn.execute("delete from i18n.messages where locale = 'de'")
    assert run_cli("i18n", "import", str(again), "--locale", "de", "--dsn", owner_dsn).returncode == 0
    assert messages(conn, "de") == before
    assert run_cli("i18n", "export", "--locale", "de", "--dsn", owner_dsn).stdout == exported.stdout
    native = json.loads(
        run_cli("i18n", "export", "--locale", "de", "--style", "i18next", "--dsn", owner_dsn).stdout
    )
    assert native["items_one"] == "{{count}} Artikel" and native["cart.title"] == "Warenkorb"


def test_po_round_trip_keeps_status_and_description(conn, owner_dsn, tmp_path):
    conn.execute(
        "select i18n.set_message(null, 'common', 'greet', 'en', 'Hello {name}', 'published', 'the greeting')"
    )
    conn.execute(
        "select i18n.set_message(null, 'common', 'greet', 'fr', 'Bonjour {name}', 'reviewed', 'the greeting')"
    )
    conn.execute("select i18n.set_message(null, 'common', 'bye', 'fr', 'Au revoir', 'draft')")
    conn.execute(
        "select i18n.set_message(null, 'common', 'n', 'fr', "
        "'{count, plural, one {# fichier} many {# de fichiers} other {# fichiers}}', 'published')"
    )
    before = messages(conn, "fr")
    po = run_cli("i18n", "export", "--locale", "fr", "--format", "po", "--dsn", owner_dsn)
    assert po.returncode == 0, po.stderr
    assert 'msgctxt "greet"' in po.stdout and 'msgid "Hello {name}"' in po.stdout and "#, fuzzy" in po.stdout
    path = tmp_path / "fr.po"
    path.write_text(po.stdout)
    conn.execute("delete from i18n.messages where locale = 'fr'")
    out = run_cli("i18n", "import", str(path), "--dsn", owner_dsn)  # the locale from the Language header
    assert out.returncode == 0, out.stderr
    assert messages(conn, "fr") == before


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"a": "x", "a": "y"}', "duplicate key"),
        ('{"a": {"b": "x"}, "a.b": "y"}', "conflicting"),
        ('{"k": "x", "k_one": "a", "k_other": "b"}', "both plain and with plural"),
        ('{"k": 3}', "expected text"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_json_files_import_nothing(conn, owner_dsn, tmp_path, content, needle):
    path = tmp_path / "bad.json"
    path.write_text(content)
    out = run_cli("i18n", "import", str(path), "--locale", "de", "--dsn", owner_dsn)
    assert out.returncode == 1 and needle in out.stderr and "nothing was imported" in out.stderr
    assert messages(conn, "de") == []


def test_a_bad_message_rolls_back_the_whole_file(conn, owner_dsn, tmp_path):
    rows = {f"k{i}": f"text {i}" for i in range(1200)}
    rows["k1100"] = "{broken"
    path = tmp_path / "big.json"
    path.write_text(json.dumps(rows))
    out = run_cli("i18n", "import", str(path), "--locale", "de", "--dsn", owner_dsn)
    assert out.returncode == 1 and "22023" in out.stderr and "hint" in out.stderr
    assert messages(conn, "de") == []


def test_conflicting_po_entries(conn, owner_dsn, tmp_path):
    path = tmp_path / "dup.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgctxt "k"\nmsgid "a"\nmsgstr "x"\n\n'
        'msgctxt "k"\nmsgid "b"\nmsgstr "y"\n'
    )
    out = run_cli("i18n", "import", str(path), "--dsn", owner_dsn)
    assert out.returncode == 1 and "conflicting entries" in out.stderr


def test_large_file_shows_progress_and_imports_everything(conn, owner_dsn, tmp_path):
    path = tmp_path / "large.json"
    path.write_text(json.dumps({f"key.{i}": f"Text {i} {{{{name}}}}" for i in range(2500)}))
    out = run_cli("i18n", "import", str(path), "--locale", "de", "--dsn", owner_dsn)
    assert out.returncode == 0, out.stderr
    assert "importing large.json" in out.stderr
    assert conn.execute("select count(*) from i18n.messages where locale = 'de'").fetchone()[0] == 2500
    assert len(conn.execute("select i18n.bundle('de-AT')").fetchone()[0]) == 2500


def test_parsers():
    rows = i18n_mod.parse_i18next(
        '{"a_one": "{{count}} a", "a_few": "x", "a_other": "{{count}} as", "b": "{{x}}"}'
    )
    assert [r.source for r in rows] == ["{count, plural, one {# a} few {x} other {# as}}", "{x}"]
    assert i18n_mod.i18next_to_icu("it's {{n}}") == "it's {n}"
    with pytest.raises(i18n_mod.ImportFileError):
        i18n_mod.parse_i18next('{"a": 1}')


def test_request_locale_from_postgrest_headers(conn):
    conn.execute("select i18n.set_message(null, 'common', 'hi', 'en', 'Hi', 'published')")
    conn.execute("select i18n.set_message(null, 'common', 'hi', 'de', 'Hallo', 'published')")
    with conn.transaction(force_rollback=True):
        conn.execute("set local role anon")
        conn.execute(
            "select set_config('request.headers', %s, true)",
            (json.dumps({"accept-language": "it-CH, de-AT;q=0.9, en;q=0.1"}),),
        )
        assert conn.execute("select api.t('hi')").fetchone()[0] == "Hallo"
        assert conn.execute("select api.request_locale()").fetchone()[0] == "de-AT"
        conn.execute("select set_config('request.headers', 'not json', true)")
        assert conn.execute("select api.t('hi')").fetchone()[0] == "Hi"
