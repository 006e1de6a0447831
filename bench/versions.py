"""versions.track() cost against the same table untracked (see capture.py).

    .venv/bin/python bench/versions.py [--rounds 3] [--seconds 10]
"""

from capture import run

STORAGE = "select pg_total_relation_size('versions.content_versions')"

if __name__ == "__main__":
    run("versions", "select versions.track('public.tracked')", STORAGE)
