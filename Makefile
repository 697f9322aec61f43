# sshmcp — one static binary from sshmcp.c on patched libssh2 1.11.1 + mbedTLS 3.6.7.
#   make             ./sshmcp (musl, static, stripped, -Os)
#   make test        build, then tests/run.sh (unit tests + real-server shell tests)
#   make check-asan  the same tests against a glibc ASan+UBSan build (deps in build/asan)
#   make clean       everything under build/ but downloaded tarballs (build/dl)
# DL_DIR=dir takes the source packages from dir (a user's copies) instead of the mirror.

BUILD   ?= build
DL_DIR  ?= $(BUILD)/dl
MUSL_CC ?= musl-gcc
CC      ?= cc
OPT      = -Os -ffunction-sections -fdata-sections
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wconversion -Wmissing-prototypes -Wstrict-prototypes
DEFS     = -D_GNU_SOURCE
SRC      = sshmcp.c sshmcp.h json.h
MUSL     = $(BUILD)/musl
ASAN     = $(BUILD)/asan
SANFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBS     = -lssh2 -lmbedcrypto
# Build tools and their Debian packages, installed when missing and run as root.
TOOLS    = musl-gcc:musl-tools patch:patch xz:xz-utils bzip2:bzip2 apt-get:apt make:make \
           cc:gcc sha256sum:coreutils flock:util-linux

.PHONY: all test check-asan clean unit fuzz
all: sshmcp

$(BUILD)/.tools:
	@mkdir -p $(BUILD); missing=""; \
	for t in $(TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "make: installing build tools:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null >/dev/null || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null >/dev/null; } || exit 1; \
	  else echo "make: missing build tools, install:$$missing" >&2; exit 1; fi; fi; touch $@

# Two makes on one tree (a developer and a test run) must not unpack over each other.
LOCK = flock $(BUILD)/.lock

$(BUILD)/.fetched: tools/deps.sh $(wildcard patches/*.patch) | $(BUILD)/.tools
	$(LOCK) tools/deps.sh fetch $(BUILD) $(DL_DIR)
	@touch $@

$(MUSL)/lib/libssh2.a: $(BUILD)/.fetched tools/mbedtls_config.h
	$(LOCK) tools/deps.sh build $(BUILD) $(MUSL) $(MUSL_CC) "$(OPT)"

$(ASAN)/lib/libssh2.a: $(BUILD)/.fetched tools/mbedtls_config.h
	$(LOCK) tools/deps.sh build $(BUILD) $(ASAN) $(CC) "$(SANFLAGS)"

sshmcp: $(SRC) $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) $(OPT) -I$(MUSL)/include -I$(BUILD) -static -s \
	  -Wl,--gc-sections -o $@ sshmcp.c -L$(MUSL)/lib $(LIBS)

$(BUILD)/unit: tests/unit.c $(SRC) $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include -I$(BUILD) -I. -static \
	  -o $@ tests/unit.c -L$(MUSL)/lib $(LIBS)

$(ASAN)/sshmcp: $(SRC) $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -I$(BUILD) -o $@ sshmcp.c \
	  -L$(ASAN)/lib $(LIBS)

$(ASAN)/unit: tests/unit.c $(SRC) $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -I$(BUILD) -I. -o $@ tests/unit.c \
	  -L$(ASAN)/lib $(LIBS)

$(BUILD)/unit_json: tests/unit_json.c json.h | $(BUILD)/.tools
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -static -o $@ tests/unit_json.c

$(ASAN)/unit_json: tests/unit_json.c json.h $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -o $@ tests/unit_json.c

# Ed25519/X25519 vectors and key loading, against the patched libssh2 (tests/05-crypto.sh).
$(BUILD)/crypto: tests/crypto.c $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include -static -o $@ tests/crypto.c \
	  -L$(MUSL)/lib $(LIBS)

$(ASAN)/crypto: tests/crypto.c $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -o $@ tests/crypto.c -L$(ASAN)/lib $(LIBS)

# libFuzzer on the JSON reader/writer for a bounded time (clang; not part of `make test`).
FUZZ_SECONDS ?= 60
fuzz: tests/fuzz_json.c json.h
	@mkdir -p $(BUILD)/fuzz_corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz_json tests/fuzz_json.c
	$(BUILD)/fuzz_json $(BUILD)/fuzz_corpus tests/json -max_total_time=$(FUZZ_SECONDS)

# The MCP tests drive the server with the official SDK client, pinned, from npm.
MCP_SDK_VERSION = 1.32.2
MCP_SDK_PKG = $(BUILD)/npm/node_modules/@modelcontextprotocol/sdk/package.json
$(MCP_SDK_PKG):
	@command -v npm >/dev/null || { echo "make: npm is needed for the MCP tests" >&2; exit 1; }
	npm install --no-audit --no-fund --silent --prefix $(BUILD)/npm \
	  @modelcontextprotocol/sdk@$(MCP_SDK_VERSION) </dev/null

# Test scripts run this many at a time (each has its own servers, ports and namespaces).
TEST_JOBS ?= 3
export TEST_JOBS

UNITS      = $(BUILD)/unit $(BUILD)/unit_json
ASAN_UNITS = $(ASAN)/unit $(ASAN)/unit_json

unit: $(UNITS)

test: sshmcp $(UNITS) $(BUILD)/crypto $(MCP_SDK_PKG)
	SSHMCP=$(CURDIR)/sshmcp SSHMCP_ASAN= CRYPTO=$(CURDIR)/$(BUILD)/crypto \
	UNIT="$(addprefix $(CURDIR)/,$(UNITS))" tests/run.sh

check-asan: $(ASAN)/sshmcp $(ASAN_UNITS) $(ASAN)/crypto $(MCP_SDK_PKG)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	SSHMCP=$(CURDIR)/$(ASAN)/sshmcp SSHMCP_ASAN= CRYPTO=$(CURDIR)/$(ASAN)/crypto \
	UNIT="$(addprefix $(CURDIR)/,$(ASAN_UNITS))" tests/run.sh

clean:
	rm -f sshmcp
	find $(BUILD) -mindepth 1 -maxdepth 1 ! -name dl -exec rm -rf {} + 2>/dev/null || true
