# nave: build, run and test. `make help` lists the targets.

GO      ?= go
BIN     ?= bin/nave
FUZZTIME ?= 30s

.PHONY: help build run test check deps fuzz clean

help:
	@echo "make run    build and serve the demo site on http://127.0.0.1:8000/"
	@echo "make build  build $(BIN)"
	@echo "make test   install what the tests need, then gofmt, vet and every test"
	@echo "make fuzz   run each fuzz target for FUZZTIME (default $(FUZZTIME))"

build:
	$(GO) build -o $(BIN) ./cmd/nave

run:
	$(GO) run ./cmd/nave serve

test:
	./scripts/test.sh

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
