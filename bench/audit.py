"""audit.track() cost against the same table untracked (see capture.py).

    .venv/bin/python bench/audit.py
"""

from capture import run

STORAGE = """
select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'audit.logs'::regclass
"""

if __name__ == "__main__":
    run("audit", "select audit.track('public.tracked')", STORAGE)
