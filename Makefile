# redirc — common tasks. `make demo` and `make test` are all a fresh clone needs.
GO        ?= go
BIN       := bin/redirc
FUZZTIME  ?= 30s
# CI's short pass counts executions: a duration races the fuzz coordinator's
# deadline on loaded machines in Go 1.26 (golang/go#75804, fixed in 1.27).
SHORTFUZZ ?= 300x
DEMO_ADDR ?= 127.0.0.1:8080
LDFLAGS   := -X main.version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test test-nginx lint vet fuzz fuzz-short bench bench-http demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/redirc
	$(GO) build -o bin/redirc-synth ./cmd/redirc-synth

## test: formatting, vet, every test with the race detector, and a short pass of every fuzzer.
test: lint
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz-short

## test-nginx: serve a build through nginx as the static origin (installs
## nginx-light with apt-get when nginx is missing and apt-get is there).
test-nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
	  { command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq nginx-light) || \
	    echo "nginx cannot be installed here: TestServeFromNginx will skip"; }
	$(GO) test -count=1 -v -run 'TestServeFromNginx' ./cmd/redirc

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Runs every Fuzz* target of every package for $(FUZZTIME) each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(SHORTFUZZ)

## bench: lookup, memory, open and build, side by side with map, sorted
## slice, cdb and nginx (bench/run.sh; BENCH_SIZES=1e3,1e5,1e6 for fewer sizes).
## The packages' own micro-benchmarks: go test -run '^$$' -bench . ./...
bench:
	GO=$(GO) bench/run.sh

## bench-http: redirc serve vs nginx over HTTP, one core each, wrk on the other (bench/http.sh).
bench-http:
	GO=$(GO) bench/http.sh

## demo: build the bundled example manifests and serve them on $(DEMO_ADDR) until Ctrl-C.
demo: build
	$(BIN) build -o demo-out examples/redirects.csv examples/_redirects
	$(BIN) lookup demo-out /old-home /docs/v1/install/linux "/caf%C3%A9" "https://shop.example.com/cards?x=1" /pricing?utm=1 /press-kit.zip /nope
	@echo
	@echo "Serving demo-out on http://$(DEMO_ADDR) (Ctrl-C to stop). Try:"
	@echo "  curl -i http://$(DEMO_ADDR)/old-home"
	@echo "  curl -i http://$(DEMO_ADDR)/docs/v1/install/linux"
	@echo "  curl -i 'http://$(DEMO_ADDR)/caf%C3%A9'"
	@echo "  curl -i -H 'Host: shop.example.com' http://$(DEMO_ADDR)/cards"
	@echo "  curl -i 'http://$(DEMO_ADDR)/pricing?utm=1'"
	@echo "  curl -i http://$(DEMO_ADDR)/press-kit.zip"
	@echo "  curl -s http://$(DEMO_ADDR)/.redirc/healthz"
	@echo "  curl -s http://$(DEMO_ADDR)/.redirc/metrics"
	@echo "In another shell, edit examples/redirects.csv and run $(BIN) build -o demo-out examples/redirects.csv examples/_redirects: the server reloads the new build."
	@echo
	$(BIN) serve --addr $(DEMO_ADDR) --access-log - demo-out

clean:
	rm -rf bin demo-out
