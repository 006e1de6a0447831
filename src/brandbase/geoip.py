"""`brandbase geoip load FILE`: IP-to-country blocks from a GeoLite2-style CSV into
access.geoip. The file needs a `network` column and a country column (`country_iso_code`,
as in GeoLite2 blocks joined with their locations, or `country`); rows with a malformed
network or an unknown country are skipped and counted, never half-loaded."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import psycopg

COUNTRY_COLUMNS = ("country_iso_code", "country")

LOAD = """
with incoming as (
    select s.network, upper(s.country) as country,
           s.network ~ '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$' as well_formed
    from geoip_staging as s
),
valid as (
    select distinct on (network::cidr) network::cidr as network, country
    from incoming
    where well_formed and country in (select code from access.countries)
)
insert into access.geoip (network, country)
select network, country from valid
on conflict (network) do update set country = excluded.country
"""


class GeoipError(Exception):
    pass


def load(conn: psycopg.Connection, path: Path, progress: Callable[[int], None]) -> tuple[int, int]:
    """Returns (loaded, skipped). One transaction: all or nothing."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        country = next((c for c in COUNTRY_COLUMNS if c in fields), None)
        if "network" not in fields or country is None:
            raise GeoipError(f"{path}: expected a header with network and one of "
                             f"{', '.join(COUNTRY_COLUMNS)}; got {', '.join(fields) or 'nothing'}")
        with conn.transaction():
            conn.execute("create temp table geoip_staging (network text, country text) on commit drop")
            total = 0
            with conn.cursor().copy("copy geoip_staging (network, country) from stdin") as copy:
                for row in reader:
                    copy.write_row((row["network"].strip(), (row[country] or "").strip()))
                    total += 1
                    if total % 10000 == 0:
                        progress(10000)
            progress(total % 10000)
            try:
                loaded = conn.execute(LOAD).rowcount
            except psycopg.errors.InvalidTextRepresentation as exc:
                raise GeoipError(f"{path}: {exc.diag.message_primary}") from None
    return loaded, total - loaded
