"""audit.track() cost against the same table untracked (see capture.py).

    .venv/bin/python bench/audit.py [--rounds 3] [--seconds 10]

Bytes per event are measured in the sealed log (heap and its four indexes), after
audit.seal() has moved the entries out of the inbox.
"""

from capture import run

STORAGE = """
select sum(pg_total_relation_size(relid)) from pg_partition_tree('audit.logs_sealed') where isleaf
"""
SEAL = "select audit.seal()"

if __name__ == "__main__":
    run("audit", "select audit.track('public.tracked')", STORAGE, SEAL)
