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

.PHONY: all build test test-long test-memory lint run demo dev bench fuzz clean tools systemd-check systemd-boot-check \
	release-snapshot release-check package-check

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# The race detector needs cgo; only the test binaries are built with it.
test:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

test-long:
	CGO_ENABLED=1 BOT_LONG_TESTS=1 $(GO) test -race -count=1 -timeout 60m ./...

# A burst of 30,000 interactions at the built bot; fails unless its VmRSS
# is back under 60 MB within a minute. Too long for `make test`.
test-memory: build
	BOT_MEMORY_TEST=1 BOT_BENCH_BIN=$(abspath $(BIN)) $(GO) test -run '^$$' -bench '^BenchmarkInteractionMemory$$' \
		-benchtime 1x -v -timeout 15m ./bot/

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@diff=$$($(GO) mod tidy -diff 2>&1) || { echo "go.mod or go.sum is not tidy: run 'go mod tidy'"; echo "$$diff"; exit 1; }
	$(GO) vet ./...
	$$($(GO) env GOPATH)/bin/staticcheck ./...

tools:
	@test -x $$($(GO) env GOPATH)/bin/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The systemd units and the package's maintainer scripts (packaging/), in
# internal/packagingcheck: systemd-analyze verify and security, and the
# scripts run against stub commands (all three also run in make test), then
# the system calls of 'bot run' and 'bot backup', traced by strace, against
# the units' SystemCallFilter=. Needs Debian's systemd, shellcheck and strace.
systemd-check:
	SYSTEMD_CHECK=1 $(GO) test -count=1 -v -timeout 10m ./internal/packagingcheck/

# Boots systemd in a container (systemd-nspawn on a throwaway overlay of /)
# and runs bot.service there under its whole sandbox: install, init, start,
# /warn, reload, backup, upgrade, stop, removal. Needs root and Debian's
# systemd-container.
systemd-boot-check:
	SYSTEMD_BOOT_CHECK=1 $(GO) test -count=1 -v -run '^TestServiceBoots$$' -timeout 10m ./internal/packagingcheck/

run: build
	./$(BIN) run

# The whole bot against a local, in-process Discord: no token, no network.
demo: build
	./$(BIN) demo

# The bot against a local Discord that outlives it, rebuilt and restarted
# by air (pinned in tools/go.mod, configured in .air.toml) within seconds of
# a source change. The Discord runs in the background for as long as this
# target does; its variables go to $(DEV_DIR)/discord.env, which the bot
# under air and 'bot demo invoke --env-file' read. The data in
# $(DEV_DIR)/data is marked for 'bot dev seed' and 'bot dev reset'.
DEV_DIR := .dev
dev: build
	@mkdir -p -m 700 $(DEV_DIR)
	./$(BIN) dev init -c $(DEV_DIR)/config.toml
	@rm -f $(DEV_DIR)/discord.env
	@./$(BIN) demo --serve --env-file $(DEV_DIR)/discord.env >$(DEV_DIR)/discord.txt 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	while [ ! -s $(DEV_DIR)/discord.env ]; do \
		kill -0 $$pid 2>/dev/null || { cat $(DEV_DIR)/discord.txt; exit 1; }; sleep 0.1; \
	done; \
	cat $(DEV_DIR)/discord.txt; \
	echo "Type commands with: ./$(BIN) demo invoke --env-file $(DEV_DIR)/discord.env --as moderator /warn user:@bob reason:spam"; \
	$(GO) tool -modfile=tools/go.mod air -c .air.toml

# Benchmarks of /warn, /warnings and the running bot's memory on a data set of
# 1,000,000 encrypted cases (BENCHMARKS.md). The data set is seeded once into
# .bench/data (gitignored; about 1 GB, a few minutes) and reused; delete it to
# seed afresh. Results go to .bench/results.txt, summarised by benchstat when
# it is installed. BENCH_COUNT and BENCH_TIME tune the runs.
BENCH_DATA  := .bench/data
BENCH_COUNT ?= 5
BENCH_TIME  ?= 2s
bench: build $(BENCH_DATA)/seed.json
	@# -p 1: the two packages' benchmarks must not share the CPUs. The
	@# status file carries go test's exit code past tee.
	{ BOT_BENCH_DB=$(abspath $(BENCH_DATA))/bot.db BOT_BENCH_BIN=$(abspath $(BIN)) \
		$(GO) test -p 1 -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) \
		-timeout 60m ./storage/ ./bot/; echo $$? >.bench/status; } | tee .bench/results.txt; exit $$(cat .bench/status)
	@bs=$$($(GO) env GOPATH)/bin/benchstat; if [ -x $$bs ]; then $$bs .bench/results.txt; fi

# Seeded into a temporary directory and renamed, so an interrupted run never
# leaves a partial data set that looks complete.
$(BENCH_DATA)/seed.json:
	rm -rf $(BENCH_DATA).tmp
	$(GO) run ./storage/seed -db $(BENCH_DATA).tmp/bot.db -cases 1000000 -guilds 100 -members 200000 -seed 1
	rm -rf $(BENCH_DATA) && mv $(BENCH_DATA).tmp $(BENCH_DATA)

# Each fuzz target for FUZZTIME, one after another: go test takes one
# -fuzz target per run. `make test` runs only their seeds (testdata/fuzz).
# A failing input is saved under the package's testdata/fuzz/<target>; the
# other targets still run, and the make fails at the end.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	bot:FuzzParseDuration bot:FuzzFormatDuration bot:FuzzParseSnowflake bot:FuzzCleanText \
	bot:FuzzCustomID bot:FuzzWarningsPageCustomID config:FuzzLoad keys:FuzzReadKeysetFile \
	keys:FuzzParseMasterKey keys:FuzzOpenBundle storage:FuzzVerify conn:FuzzGatewayFrame
fuzz:
	@failed=; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || failed="$$failed $$name"; \
	done; if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi

# A release as goreleaser (pinned in tools/go.mod, configured in
# goreleaser.yaml) makes it, into dist/, published nowhere: an archive and an
# SBOM per platform, .deb and .rpm packages, checksums.txt. goreleaser reads
# the commit only in a clone with a remote; a repository without one (a CI
# checkout, a fresh clone of a bundle) is given the project's address for
# this command alone.
REPO_URL := https://github.com/modbot/bot
release-snapshot:
	@if [ -z "$$(git remote 2>/dev/null)" ]; then \
		export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=$(REPO_URL); \
	fi; \
	$(GO) tool -modfile=tools/go.mod goreleaser release --snapshot --clean --skip=publish

# The release, checked as an owner meets it (internal/releasecheck): the
# README's set-up walked with the unpacked archive for this machine against
# a local Discord, every archive's files and binary (OS, architecture, size
# under 40 MB), the SBOMs and checksums.txt. It builds dist/ first, unless
# RELEASE_DIST names a build to check.
# release-check also runs the upgrade tests against the released linux/amd64
# binary (the one the .deb and .rpm carry): the schema-1 data set opens in
# it, and it refuses a database newer than it knows.
release-check:
ifeq ($(RELEASE_DIST),)
	$(MAKE) release-snapshot
endif
	RELEASE_DIST=$(abspath $(or $(RELEASE_DIST),dist)) $(GO) test -count=1 -v -timeout 10m -run '^TestRelease' ./internal/releasecheck/
	@bin=$$(ls $(abspath $(or $(RELEASE_DIST),dist))/bot_linux_amd64*/bot 2>/dev/null | head -n 1); \
	if [ -z "$$bin" ]; then echo "release-check: no linux/amd64 binary under $(or $(RELEASE_DIST),dist)" >&2; exit 1; fi; \
	echo "== upgrade tests with $$bin"; \
	UPGRADE_BOT_BIN=$$bin $(GO) test -count=1 -timeout 10m -run '^(TestUpgrade|TestOlderBinaryRefusesNewerDatabase)$$' ./cli/

# The packages in dist/ (make release-snapshot first): the .deb and .rpm
# file lists, then the .deb installed with dpkg -i, `bot init` as the
# service's user, dpkg -r and dpkg -P. It changes this machine, so it runs
# only as root, and only with CI=true or PACKAGE_CHECK_INSTALL=yes.
package-check:
	PACKAGE_DIST=$(abspath $(or $(RELEASE_DIST),dist)) $(GO) test -count=1 -v -timeout 10m -run '^TestPackage' ./internal/releasecheck/

# The container image, built without a container engine by tools/imagebuild
# (go-containerregistry): dist/image/bot_linux_amd64.tar and _arm64.tar for
# `docker load` (tagged bot:VERSION and bot:latest), and dist/image/oci, an
# OCI layout whose index holds both. Every timestamp, the binaries' build
# date included, is the commit's, so one commit gives one set of digests.
# The CA certificates and time zones come from the build machine's Debian
# packages ca-certificates and tzdata.
IMAGE_DIR    := dist/image
IMAGE_ARCHES := amd64 arm64
IMAGE_EPOCH   = $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null),0)
IMAGE_DATE    = $(shell date -u -d @$(IMAGE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(IMAGE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
IMAGE_LDFLAGS = $(patsubst main.date=%,main.date=$(IMAGE_DATE),$(LDFLAGS))

.PHONY: image image-check
image:
	@for arch in $(IMAGE_ARCHES); do \
		echo "go build linux/$$arch"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(IMAGE_LDFLAGS)' \
			-o $(IMAGE_DIR)/bin/linux_$$arch/bot . || exit 1; \
	done
	SOURCE_DATE_EPOCH=$(IMAGE_EPOCH) $(GO) -C tools run ./imagebuild -out $(abspath $(IMAGE_DIR)) \
		-version $(VERSION) -revision $(COMMIT) \
		$(foreach a,$(IMAGE_ARCHES),-binary linux/$(a)=$(abspath $(IMAGE_DIR))/bin/linux_$(a)/bot)

# Opens each tarball as docker load would and checks config and files, runs
# the binary in it (arm64 only where qemu-user is installed), and plays
# `bot init`, `bot run` and the healthcheck with the image's environment
# alone; also checks that Dockerfile and compose.yaml agree with the builder.
image-check: image
	IMAGE_DIR=$(abspath $(IMAGE_DIR)) $(GO) -C tools test -count=1 -v ./imagebuild/

clean:
	rm -rf bin dist build
