# Every target bootstraps what it needs first (apt packages as root, .venv), so each
# works on a fresh machine. PostgreSQL itself is started by the commands, never by hand.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint bench clean

bootstrap:
	@scripts/bootstrap.sh
	@scripts/supabase-cli.sh
	@scripts/unleash-spec.sh
	@scripts/i18n-reference.sh

demo: bootstrap  ## start the local cluster, apply every module, print the summary
	$(BIN)/brandbase up

test: bootstrap  ## pgTAP + pytest against a real PostgreSQL started by the suite
	$(BIN)/pytest

lint: bootstrap  ## sqlfluff over all SQL, ruff over all Python
	$(BIN)/sqlfluff lint migrations sql pgtap catalog src/brandbase/lints --processes 2
	$(BIN)/ruff check src tests bench conftest.py

bench: bootstrap  ## benchmarks; numbers go to docs/performance.md by hand
	@scripts/bench-deps.sh
	@scripts/bench-peers.sh
	$(BIN)/python bench/install.py
	$(BIN)/python bench/rls.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/versions.py
	$(BIN)/python bench/capture.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/advise.py
	$(BIN)/python bench/gate.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/flags.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/i18n.py

clean:
	-$(BIN)/brandbase local destroy --yes
	rm -rf $(VENV)
