# Touchstream. `make build`, `make test` and `make demo` install what is
# missing first (Go modules, libchdb from the npm registry into ~/.cache).
GO      ?= go
BIN     := bin
GOFLAGS ?=
export GOFLAGS

.PHONY: all install build test bench fuzz vet fmt clean demo check-deploy

all: build

# libchdb.so (~566 MB) is cached outside the repo; a second run does nothing.
install:
	@./scripts/install-chdb.sh
	@./scripts/install-chromium.sh
	@$(GO) mod download

build: install
	$(GO) build -o $(BIN)/ ./cmd/...

test: install
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# The whole pipeline on the embedded engines with a generated clickstream:
# prints the reports, writes out/report.html, stops, exits 0.
demo: build
	./$(BIN)/touchstream demo

bench: install
	./scripts/bench.sh

# Offline checks of deploy/: docker-compose config, every manifest decoded by
# kubectl, dashboards' SQL run on the embedded ClickHouse (no Docker engine
# or cluster is needed; docker-compose v1 is installed with apt if missing).
check-deploy: build
	./scripts/check-deploy.sh

fuzz: install
	./scripts/fuzz.sh

.PHONY: chaos soak

# The long fault suite: Kafka, ClickHouse and collector processes stopped,
# killed and restarted under load (about 8 minutes; see scripts/chaos.sh).
chaos: install
	./scripts/chaos.sh

# Memory and goroutines of the services at half the peak rate for
# SOAK_DURATION (default 10m); samples in out/soak.csv (scripts/soak.sh).
soak: install
	./scripts/soak.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) out
