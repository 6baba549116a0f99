# The one place that knows how to build, test and check the bot.
# `make build` produces bin/bot (the top-level bot/ directory holds the Go package of the same name).

GO        ?= go
BIN       := bin/bot
PKG       := github.com/modbot/bot
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
STATICCHECK_VERSION := v0.8.2

export CGO_ENABLED ?= 0

.PHONY: all build test test-long lint run demo bench clean tools

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# The race detector needs cgo; only the test binaries are built with it.
test:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

test-long:
	CGO_ENABLED=1 BOT_LONG_TESTS=1 $(GO) test -race -count=1 -timeout 60m ./...

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$$($(GO) env GOPATH)/bin/staticcheck ./...

tools:
	@test -x $$($(GO) env GOPATH)/bin/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

run: build
	./$(BIN) run

# The whole bot against a local, in-process Discord: no token, no network.
demo: build
	./$(BIN) demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin dist
