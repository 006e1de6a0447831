"""audit.track() cost against the same table untracked, beside the raw-capture floor and
supa_audit (when installed), in one run (see capture.py).

    .venv/bin/python bench/audit.py [--rounds 4] [--seconds 2] [--quick]
"""

from capture import run

if __name__ == "__main__":
    run(("audit",))
