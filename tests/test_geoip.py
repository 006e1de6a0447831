"""`brandbase geoip load`: GeoLite2-style CSV into access.geoip, bad rows skipped."""

from __future__ import annotations

import psycopg
from tests.helpers import run_cli


def test_load_skips_bad_rows_and_feeds_country_lookups(owner_dsn, tmp_path):
    csv = tmp_path / "blocks.csv"
    csv.write_text("network,geoname_id,country_iso_code\n"
                   "81.2.69.0/24,2635167,GB\n"
                   "2001:db8::/32,,DE\n"
                   "not-a-network,,FR\n"
                   "1.0.0.0/24,,ZZ\n")
    result = run_cli("geoip", "load", str(csv), "--dsn", owner_dsn)
    assert result.returncode == 0, result.stderr
    assert "2 blocks loaded, 2 skipped" in result.stdout
    with psycopg.connect(owner_dsn) as conn:
        assert conn.execute("select access.country_of('81.2.69.7', '{}')").fetchone()[0] == "GB"
        assert conn.execute("select access.country_of('2001:db8::1', '{}')").fetchone()[0] == "DE"


def test_a_file_without_the_columns_is_refused(owner_dsn, tmp_path):
    csv = tmp_path / "wrong.csv"
    csv.write_text("ip,cc\n1.2.3.4,US\n")
    result = run_cli("geoip", "load", str(csv), "--dsn", owner_dsn)
    assert result.returncode == 1 and "expected a header with network" in result.stderr
