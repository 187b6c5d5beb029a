# argus: build, run, test. `make run` and `make test` are the two commands a new
# machine needs (see README.md).
GO       ?= go
BIN      ?= argus
PKGS     ?= ./...

.PHONY: all build ui examples run test test-ui vet bench bench-ui bench-compare bench-integrations fuzz clean

all: build

build: ui
	$(GO) build -o $(BIN) ./cmd/argus

# The web UI (ui/, TypeScript and Vite), built into internal/ui/dist, which the
# binary embeds. `go build` alone also works; the UI's pages then say how to
# build it.
UI_DEPS := ui/node_modules/.package-lock.json
$(UI_DEPS): ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
ui: $(UI_DEPS)
	cd ui && npm run build

# The example apps that examples/argus.yml hosts.
examples:
	$(GO) build -o bin/echo ./examples/echo
	$(GO) build -o bin/rabbitmq ./examples/rabbitmq

run: build examples
	./$(BIN) server --config examples/argus.yml

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	# stdmethods is off because the storage interfaces we implement (upstream
	# chunkenc.Iterator) define Seek(int64) ValueType, not io.Seeker's Seek.
	$(GO) vet -stdmethods=false $(PKGS)

# Race-detector builds read and write sockets through net.Conn (see
# internal/rawsock); these packages' tests run once more without it, on the
# raw system calls a release build uses.
RAW_PKGS := ./internal/rawsock ./internal/apphost ./internal/scrape

test: vet build
	cd ui && npm test
	$(GO) test -race -timeout 20m $(PKGS)
	$(GO) test -timeout 5m $(RAW_PKGS)
	$(MAKE) test-ui

# The UI end to end: a real argus and a real headless Chromium (Debian's).
test-ui:
	cd ui && ARGUS_BIN=$(CURDIR)/$(BIN) npm run e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS)

# Bundle sizes and the time to the first graph in Chromium.
bench-ui: build
	cd ui && ARGUS_BIN=$(CURDIR)/$(BIN) npm run bench

# Side-by-side comparison with Debian's Prometheus/promtool on the same data.
bench-compare: build
	$(GO) run ./tools/benchcompare

# CPU and memory per integration instance, 50 of each type against local
# servers, side by side with Debian's exporters (about 20 minutes; prints
# Markdown tables; docs/benchmarks.md).
bench-integrations: build
	ARGUS_BIN=$(CURDIR)/$(BIN) $(GO) test ./internal/integration -run '^$$' -bench SideBySide -benchtime 1x -timeout 90m

# A short run of every fuzz target (go test runs one fuzz target at a time).
fuzz:
	./scripts/fuzz.sh

clean:
	rm -f $(BIN) bin/echo bin/rabbitmq
	find internal/ui/dist -mindepth 1 ! -name .keep -delete
