"""Module i18n, the CLI side: read and write translation files (i18next JSON, gettext PO)
and move them in and out of the database through i18n.import_messages (all or nothing).

i18next JSON: one file per locale and namespace, nested or flat keys. Values are ICU
MessageFormat (i18next-icu) or i18next's own syntax: `{{name}}` interpolation and plural
suffixes (`key_one`, `key_other`, `key_ordinal_one` ...), which are converted to ICU
(`{count, plural, one {...} other {...}}`). Export writes the stored ICU text, flat keys,
sorted, so export -> import is lossless; `--style i18next` writes i18next's own v4 form
(the published bundle rows, for apps without i18next-icu).

gettext PO: msgctxt is the key, msgid the default locale's text, msgstr the translation;
the `fuzzy` flag marks a draft, a `status: reviewed` translator comment a reviewed one,
and the extracted comment (`#.`) carries the description. Export -> import keeps the
text, status and description.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import polib

CATEGORIES = ("zero", "one", "two", "few", "many", "other")
SUFFIX = re.compile(r"^(?P<base>.+?)_(?P<ordinal>ordinal_)?(?P<cat>zero|one|two|few|many|other)$")


class ImportFileError(ValueError):
    """A file that cannot be imported as it is (duplicates, conflicts, syntax)."""


@dataclass(frozen=True)
class Row:
    key: str
    source: str
    status: str = "published"
    description: str | None = None

    def as_json(self, namespace: str, locale: str) -> dict:
        out = {
            "namespace": namespace,
            "key": self.key,
            "locale": locale,
            "source": self.source,
            "status": self.status,
        }
        if self.description is not None:
            out["description"] = self.description
        return out


# ---------------------------------------------------------------------------------------
# i18next JSON


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ImportFileError(f"duplicate key {k!r} in the same object")
        seen[k] = v
    return seen


def _flatten(obj: dict, prefix: str, out: dict[str, str]) -> None:
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, key + ".", out)
        elif isinstance(v, str):
            if key in out:
                raise ImportFileError(f"conflicting definitions of key {key!r} (nested and flat)")
            out[key] = v
        else:
            raise ImportFileError(f"key {key!r}: expected text, found {type(v).__name__}")


def _icu_escape(text: str) -> str:
    """Literal text for ICU: braces (and an apostrophe before them) quoted."""
    text = text.replace("'", "''") if re.search(r"'[{}#<>]", text) else text
    return re.sub(r"([{}]+)", r"'\1'", text)


def i18next_to_icu(text: str, pound: str | None = None) -> str:
    """i18next's {{name}} interpolation as ICU {name} (and {{count}} as # in a plural case);
    a value without {{ }} is ICU already (i18next-icu)."""
    if "{{" not in text:
        return text
    parts = re.split(r"\{\{\s*([^{}\s,]+)\s*\}\}", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(_icu_escape(part))
        else:
            out.append("#" if part == pound else "{" + part + "}")
    return "".join(out)


def parse_i18next(text: str) -> list[Row]:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImportFileError("an i18next file is a JSON object of keys")
    flat: dict[str, str] = {}
    _flatten(data, "", flat)
    groups: dict[tuple[str, bool], dict[str, str]] = {}
    for key, value in flat.items():
        m = SUFFIX.match(key)
        if m and (f"{m['base']}_{m['ordinal'] or ''}other" in flat):
            groups.setdefault((m["base"], bool(m["ordinal"])), {})[m["cat"]] = value
    rows: dict[str, Row] = {}
    grouped = set()
    for (base, ordinal), cases in groups.items():
        kind = "selectordinal" if ordinal else "plural"
        body = " ".join(
            f"{cat} {{{i18next_to_icu(cases[cat], 'count')}}}" for cat in CATEGORIES if cat in cases
        )
        if base in rows or (base in flat and base not in grouped):
            raise ImportFileError(f"key {base!r} is defined both plain and with plural suffixes")
        rows[base] = Row(base, f"{{count, {kind}, {body}}}")
        grouped |= {f"{base}_{'ordinal_' if ordinal else ''}{cat}" for cat in cases}
    for key, value in flat.items():
        if key not in grouped:
            if key in rows:
                raise ImportFileError(f"key {key!r} is defined twice")
            rows[key] = Row(key, i18next_to_icu(value))
    return [rows[k] for k in sorted(rows)]


def dump_i18next(rows: list[Row]) -> str:
    return (
        json.dumps({r.key: r.source for r in sorted(rows, key=lambda r: r.key)}, ensure_ascii=False, indent=2)
        + "\n"
    )


# ---------------------------------------------------------------------------------------
# gettext PO


def parse_po(text: str) -> tuple[list[Row], str | None]:
    """The rows of a PO file and its Language header."""
    try:
        po = polib.pofile(text)
    except (OSError, ValueError) as exc:
        raise ImportFileError(f"not a PO file: {exc}") from None
    rows: dict[str, Row] = {}
    for entry in po:
        if entry.obsolete or not entry.msgstr:
            continue
        key = entry.msgctxt or entry.msgid
        status = (
            "draft"
            if "fuzzy" in entry.flags
            else ("reviewed" if "status: reviewed" in (entry.tcomment or "") else "published")
        )
        row = Row(key, entry.msgstr, status, entry.comment or None)
        if key in rows:
            if rows[key] != row:
                raise ImportFileError(f"conflicting entries for key {key!r}")
            continue
        rows[key] = row
    return [rows[k] for k in sorted(rows)], po.metadata.get("Language") or None


def dump_po(rows: list[Row], locale: str, sources: dict[str, str]) -> str:
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Language": locale,
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "MIME-Version": "1.0",
    }
    for r in sorted(rows, key=lambda r: r.key):
        entry = polib.POEntry(msgctxt=r.key, msgid=sources.get(r.key, r.key), msgstr=r.source)
        if r.status == "draft":
            entry.flags.append("fuzzy")
        elif r.status == "reviewed":
            entry.tcomment = "status: reviewed"
        if r.description:
            entry.comment = r.description
        po.append(entry)
    return str(po) + "\n"


# ---------------------------------------------------------------------------------------
# Database


def read_file(path: Path, fmt: str | None) -> tuple[list[Row], str | None, str]:
    fmt = fmt or ("po" if path.suffix in (".po", ".pot") else "json")
    text = path.read_text(encoding="utf-8")
    if fmt == "po":
        rows, language = parse_po(text)
        return rows, language, fmt
    return parse_i18next(text), None, fmt


def import_rows(
    conn,
    rows: list[Row],
    namespace: str,
    locale: str,
    brand_id: str | None,
    status: str | None,
    progress=None,
    chunk: int = 500,
) -> int:
    """Writes the rows in one transaction (chunks of `chunk`, for the progress bar)."""
    from psycopg.types.json import Jsonb

    payload = [r.as_json(namespace, locale) | ({"status": status} if status else {}) for r in rows]
    written = 0
    with conn.transaction():
        for i in range(0, len(payload), chunk):
            part = payload[i : i + chunk]
            written += conn.execute(
                "select i18n.import_messages(%s, %s)", (Jsonb(part), brand_id)
            ).fetchone()[0]
            if progress:
                progress(len(part))
    return written


def export_rows(conn, namespace: str, locale: str, brand_id: str | None) -> list[Row]:
    if brand_id:
        q = (
            "select key, source, status, nullif(description, '') from i18n.brand_messages "
            "where brand_id = %s and namespace = %s and locale = i18n.canonical_tag(%s) order by key"
        )
        args = (brand_id, namespace, locale)
    else:
        q = (
            "select key, source, status, nullif(description, '') from i18n.messages "
            "where namespace = %s and locale = i18n.canonical_tag(%s) order by key"
        )
        args = (namespace, locale)
    return [Row(*r) for r in conn.execute(q, args).fetchall()]


def export_i18next_native(conn, namespace: str, locale: str, brand_id: str | None) -> dict:
    table = "i18n.brand_messages" if brand_id else "i18n.messages"
    where = "brand_id = %(b)s and " if brand_id else ""
    rows = conn.execute(
        f"select m.key || e.key, e.value #>> '{{}}' from {table} as m "
        "cross join lateral jsonb_each(m.i18next) as e "
        f"where {where}namespace = %(ns)s and locale = i18n.canonical_tag(%(l)s) order by 1",
        {"b": brand_id, "ns": namespace, "l": locale},
    ).fetchall()
    return dict(rows)


def default_sources(conn, namespace: str) -> dict[str, str]:
    return dict(
        conn.execute(
            "select key, source from i18n.messages where namespace = %s "
            "and locale = (select default_locale from i18n.settings)",
            (namespace,),
        ).fetchall()
    )
