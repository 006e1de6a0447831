"""Module i18n against real data: every @integer/@decimal sample CLDR lists for every
locale's plural rules (cardinal and ordinal, from the pinned cldr-core) gets its category
from the module; ICU formatting agrees with intl-messageformat run by node on the same
inputs; and regenerating sql/i18n/05_plural_rules.sql gives the committed file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / ".brandbase" / "i18n-ref" / "node_modules"
CLDR = REF / "cldr-core" / "supplemental"


@pytest.fixture(scope="module", autouse=True)
def reference():
    if not (CLDR / "plurals.json").exists():
        subprocess.run([str(ROOT / "scripts" / "i18n-reference.sh")], check=True)


@pytest.fixture
def conn(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as c:
        yield c


def expand(samples: str) -> list[str]:
    """CLDR sample lists: '0, 1, 2~17, 1c6, …' and decimal ranges '0.0~1.5' (step of the last digit)."""
    out = []
    for item in (s.strip() for s in samples.split(",")):
        if not item or item in ("…", "..."):
            continue
        if "~" in item:
            lo, hi = item.split("~")
            scale = len(lo.split(".")[1]) if "." in lo else 0
            step = Decimal(1).scaleb(-scale)
            x, end = Decimal(lo), Decimal(hi)
            while x <= end:
                out.append(f"{x:.{scale}f}")
                x += step
        else:
            out.append(item)
    return out


def cldr_samples() -> list[tuple[str, bool, str, str]]:
    """(locale, ordinal, sample, expected category) for every sample of every rule."""
    rows = []
    for ordinal, name, table in (
        (False, "plurals.json", "plurals-type-cardinal"),
        (True, "ordinals.json", "plurals-type-ordinal"),
    ):
        data = json.loads((CLDR / name).read_text())["supplemental"][table]
        for locale, rules in data.items():
            for key, text in rules.items():
                category = key.removeprefix("pluralRule-count-")
                for part in text.split("@")[1:]:
                    kind, _, samples = part.partition(" ")
                    assert kind in ("integer", "decimal")
                    rows += [(locale, ordinal, s, category) for s in expand(samples)]
    return rows


def test_every_cldr_sample_gets_its_category(conn):
    rows = cldr_samples()
    assert len(rows) > 15000
    locales, ordinals, samples, expected = (list(x) for x in zip(*rows, strict=True))
    got = conn.execute(
        """
        select i18n._plural_of_text(case when x.o then p.ordinal else p.cardinal end, x.s)
        from unnest(%s::text[], %s::boolean[], %s::text[]) with ordinality as x (l, o, s, n)
        inner join i18n._plural_locales() as p on p.locale = x.l
        order by x.n
        """,
        (locales, ordinals, samples),
    ).fetchall()
    assert len(got) == len(rows)
    wrong = [(r, g[0]) for r, g in zip(rows, got, strict=True) if g[0] != r[3]]
    assert not wrong, f"{len(wrong)} of {len(rows)} samples differ, e.g. {wrong[:10]}"


def test_the_public_function_finds_each_locales_rules(conn):
    """i18n.plural_category(locale, ...) on the first sample of every locale, kind and category."""
    firsts = {}
    for locale, ordinal, sample, category in cldr_samples():
        firsts.setdefault((locale, ordinal, category), sample)
    keys = list(firsts)
    got = conn.execute(
        "select i18n.plural_category(x.l, x.s, x.o) from unnest(%s::text[], %s::text[], %s::boolean[])"
        " with ordinality as x (l, s, o, n) order by x.n",
        ([k[0] for k in keys], [firsts[k] for k in keys], [k[1] for k in keys]),
    ).fetchall()
    wrong = [(k, firsts[k], g[0]) for k, g in zip(keys, got, strict=True) if g[0] != k[2]]
    assert not wrong, wrong[:10]


def test_generated_rules_are_reproducible(tmp_path):
    out = tmp_path / "rules.sql"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_plural_rules.py"), "--output", str(out)], check=True
    )
    assert out.read_text() == (ROOT / "sql" / "i18n" / "05_plural_rules.sql").read_text()


# Messages, locales and parameters formatted by both; numbers are whole and below 1000 (or
# English decimals), where ICU's number formatting has no grouping or decimal comma.
CASES = [
    ("en", "Hello {name}!", {"name": "Ann"}),
    ("en", "{count, plural, =0 {no files} one {# file} other {# files}}", {"count": 0}),
    ("en", "{count, plural, =0 {no files} one {# file} other {# files}}", {"count": 1}),
    ("en", "{count, plural, =0 {no files} one {# file} other {# files}}", {"count": 7}),
    ("en", "{count, plural, one {# file} other {# files}}", {"count": 1.5}),
    ("en", "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}}", {"n": 1}),
    ("en", "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}}", {"n": 22}),
    ("en", "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}}", {"n": 113}),
    ("en", "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}}", {"n": 103}),
    ("en", "{g, select, female {She} male {He} other {They}} liked it", {"g": "female"}),
    ("en", "{g, select, female {She} male {He} other {They}} liked it", {"g": "robot"}),
    (
        "en",
        "{a, plural, offset:1 =0 {nobody} =1 {{who}} one {{who} and # other} other {{who} and # others}}",
        {"a": 0, "who": "Al"},
    ),
    (
        "en",
        "{a, plural, offset:1 =0 {nobody} =1 {{who}} one {{who} and # other} other {{who} and # others}}",
        {"a": 2, "who": "Al"},
    ),
    (
        "en",
        "{a, plural, offset:1 =0 {nobody} =1 {{who}} one {{who} and # other} other {{who} and # others}}",
        {"a": 5, "who": "Al"},
    ),
    ("en", "It''s '{'literal'}' and '#' here, {n, plural, other {'#' is #}}", {"n": 3}),
    (
        "en",
        "{g, select, female {{n, plural, one {her # cat} other {her # cats}}} "
        "other {{n, plural, one {their # cat}"
        " other {their # cats}}}}",
        {"g": "female", "n": 1},
    ),
    (
        "en",
        "{g, select, female {{n, plural, one {her # cat} other {her # cats}}} "
        "other {{n, plural, one {their # cat}"
        " other {their # cats}}}}",
        {"g": "x", "n": 4},
    ),
    ("de", "{count, plural, one {# Datei} other {# Dateien}}", {"count": 1}),
    ("de", "{count, plural, one {# Datei} other {# Dateien}}", {"count": 2}),
    ("fr", "{count, plural, one {# fichier} many {# de fichiers} other {# fichiers}}", {"count": 0}),
    ("fr", "{count, plural, one {# fichier} many {# de fichiers} other {# fichiers}}", {"count": 2}),
    *[
        ("ru", "{n, plural, one {# файл} few {# файла} many {# файлов} other {# файла}}", {"n": n})
        for n in (1, 2, 5, 11, 21, 22, 25, 101, 111, 112)
    ],
    *[
        ("pl", "{n, plural, one {# plik} few {# pliki} many {# plików} other {# pliku}}", {"n": n})
        for n in (1, 2, 5, 12, 22, 25, 102)
    ],
    *[
        (
            "ar",
            "{n, plural, zero {لا شيء} one {واحد} two {اثنان} few {# قليلة} many {# كثيرة} other {# أخرى}}",
            {"n": n},
        )
        for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 111)
    ],
    *[
        ("cy", "{n, plural, zero {dim} one {un} two {dau} few {tri} many {chwech} other {#}}", {"n": n})
        for n in (0, 1, 2, 3, 6, 7, 42)
    ],
    *[
        ("cy", "{n, selectordinal, zero {z} one {o} two {t} few {f} many {m} other {x}}", {"n": n})
        for n in (0, 1, 2, 3, 4, 5, 6, 7, 10, 20)
    ],
    ("ja", "{n, plural, other {# 件}}", {"n": 3}),
    ("sv", "{n, selectordinal, one {#:a} other {#:e}}", {"n": 2}),
    ("it", "{n, selectordinal, many {l’#°} other {il #°}}", {"n": 8}),
]


def reference_outputs() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the reference implementation (scripts/i18n-reference.sh)")
    script = """
const { IntlMessageFormat } = require('intl-messageformat');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map(([locale, message, params]) =>
    new IntlMessageFormat(message, locale, undefined, { ignoreTag: true }).format(params))));
"""
    out = subprocess.run(
        [node, "-e", script],
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        check=True,
        cwd=REF.parent,
        env={"NODE_PATH": str(REF), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(out.stdout)


def test_formatting_agrees_with_intl_messageformat(conn):
    expected = reference_outputs()
    ours = [
        conn.execute("select i18n.format(%s, %s, %s)", (m, loc, Jsonb(p))).fetchone()[0]
        for loc, m, p in CASES
    ]
    differ = [(c, e, o) for c, e, o in zip(CASES, expected, ours, strict=True) if e != o]
    assert not differ, differ


def test_stored_messages_format_like_previews(conn):
    """t() runs the stored compiled program: the same answers as the reference."""
    conn.execute(
        "select i18n.set_locale(l) from unnest(array['de', 'fr', 'ru', 'pl', 'ar', 'cy', 'ja', 'sv', 'it']) l"
    )
    expected = reference_outputs()
    for i, (loc, m, _p) in enumerate(CASES):
        conn.execute("select i18n.set_message(null, 'ref', %s, %s, %s, 'published')", (f"k{i}", loc, m))
    ours = [
        conn.execute("select i18n.t(%s, %s, %s, 'ref')", (f"k{i}", loc, Jsonb(p))).fetchone()[0]
        for i, (loc, _m, p) in enumerate(CASES)
    ]
    assert ours == expected


def test_both_paths_of_t_agree_with_intl_messageformat(conn):
    """t() finishes the common shapes in one expression (i18n.messages.fast) and hands the
    rest to i18n._t(), which runs the full formatter: both agree with the reference on
    every case, and the one-expression path is the one taken where it can be."""
    conn.execute(
        "select i18n.set_locale(l) from unnest(array['de', 'fr', 'ru', 'pl', 'ar', 'cy', 'ja', 'sv', 'it']) l"
    )
    expected = reference_outputs()
    for i, (loc, m, _p) in enumerate(CASES):
        conn.execute("select i18n.set_message(null, 'ref2', %s, %s, %s, 'published')", (f"k{i}", loc, m))
    fast = dict(
        conn.execute("select key, fast is not null from i18n.messages where namespace = 'ref2'").fetchall()
    )
    for i, (loc, m, p) in enumerate(CASES):
        t, full = conn.execute(
            "select i18n.t(%s, %s, %s, 'ref2'), i18n._t(%s, %s, %s, 'ref2')",
            (f"k{i}", loc, Jsonb(p), f"k{i}", loc, Jsonb(p)),
        ).fetchone()
        assert (t, full) == (expected[i], expected[i]), (loc, m, p)
        # nested switches and offsets need the formatter; every other shape has a fast form
        assert fast[f"k{i}"] == ("offset:" not in m and m.count("select") + m.count("plural") <= 1), m
    assert sum(fast.values()) >= len(CASES) - 6
