# argus: build, run, test. `make run` and `make test` are the two commands a new
# machine needs (see README.md).
GO       ?= go
BIN      ?= argus
PKGS     ?= ./...

.PHONY: all build examples run test vet bench bench-compare fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/argus

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

test: vet build
	$(GO) test -race -timeout 20m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS)

# Side-by-side comparison with Debian's Prometheus/promtool on the same data.
bench-compare: build
	$(GO) run ./tools/benchcompare

# A short run of every fuzz target (go test runs one fuzz target at a time).
fuzz:
	./scripts/fuzz.sh

clean:
	rm -f $(BIN) bin/echo bin/rabbitmq
