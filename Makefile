# nave: build, run and test. `make help` lists the targets.

GO      ?= go
BIN     ?= bin/nave
FUZZTIME ?= 30s
BENCHBIN ?= bin/bench

.PHONY: help build run test check deps fuzz clean

help:
	@echo "make run    build and serve the demo site on http://127.0.0.1:8000/"
	@echo "make build  build $(BIN)"
	@echo "make test   install what the tests need, then gofmt, vet and every test"
	@echo "make fuzz   run each fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make soak   mixed static (and WSGI) load against $(BIN) for SOAK_DURATION (default 10m):"
	@echo "            zero errors, RSS flat after warm-up, no fd leak (docs/robustness.md)"
	@echo "make bench  nave against nginx, h2o, fasthttp, Caddy, uWSGI, gunicorn on one core (~37 min;"
	@echo "            BENCHFLAGS=--help for flags); make bench-quick checks a change in under 2 min"
	@echo "make c10k   10,000 idle keep-alive connections (HTTP/1.1 clear and TLS, h2c, h2): RSS per connection, none dropped"
	@echo "make bench-deps  install the Debian packages the benchmarks need (not the tests)"
	@echo "make image  build the container image $(IMAGE) with podman (deploy/Containerfile)"
	@echo "make fleet  three naves in network namespaces behind HAProxy: restart, SIGKILL and"
	@echo "            upgrade one each under load, count failed requests (docs/operations.md)"

build:
	$(GO) build -o $(BIN) ./cmd/nave

run:
	$(GO) run ./cmd/nave serve

test:
	./scripts/test.sh

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench bench-quick bench-deps bench-build c10k

bench-deps:
	./bench/deps.sh

# The benchmarks run their own nave build from $(BENCHBIN), not $(BIN).
bench-build:
	$(GO) build -o $(BENCHBIN)/nave ./cmd/nave
	$(GO) build -o $(BENCHBIN)/bench ./bench/cmd/bench
	$(GO) build -o $(BENCHBIN)/c10k ./bench/cmd/c10k
	cd bench/fasthttp && $(GO) build -o $(abspath $(BENCHBIN))/fasthttp-fs .

bench: bench-deps bench-build
	$(BENCHBIN)/bench --nave $(BENCHBIN)/nave --fasthttp $(BENCHBIN)/fasthttp-fs $(BENCHFLAGS)

bench-quick: bench-deps bench-build
	$(BENCHBIN)/bench --quick --nave $(BENCHBIN)/nave --fasthttp $(BENCHBIN)/fasthttp-fs $(BENCHFLAGS)

c10k: bench-deps bench-build
	$(BENCHBIN)/c10k --nave $(BENCHBIN)/nave $(C10KFLAGS)

.PHONY: image image-context
IMAGE ?= nave:latest
IMAGE_CONTEXT ?= bin/image

# The build context of deploy/Containerfile: a static binary (no libc in
# the image), the host's CA roots for ACME, an empty state folder.
image-context:
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)/state
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags=-s -o $(IMAGE_CONTEXT)/nave ./cmd/nave
	cp /etc/ssl/certs/ca-certificates.crt $(IMAGE_CONTEXT)/
	cp deploy/Containerfile $(IMAGE_CONTEXT)/

image: image-context
	podman build -t $(IMAGE) -f $(IMAGE_CONTEXT)/Containerfile $(IMAGE_CONTEXT)

# Needs root (network namespaces), iproute2 and HAProxy; about 30 s. Its
# result goes into docs/operations.md ("Fleet test").
.PHONY: fleet
fleet: build
	./scripts/deps.sh iproute2:ip haproxy:haproxy
	$(GO) run ./test/fleet --nave $(BIN) --report docs/operations.md --commit "$$(git rev-parse --short HEAD)"

.PHONY: soak
SOAK_DURATION ?= 10m

soak: build
	SOAK_DURATION=$(SOAK_DURATION) $(GO) run ./test/soak --nave $(BIN)

clean:
	rm -rf bin
