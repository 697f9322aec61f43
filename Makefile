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

.PHONY: all test test-deps check-asan clean unit fuzz fuzz-json fuzz-config fuzz-session fuzz-args
all: sshmcp

$(BUILD)/.tools:
	@mkdir -p $(BUILD); missing=""; \
	for t in $(TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "make: installing build tools:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null >/dev/null || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null >/dev/null; } || exit 1; \
	  else echo "make: missing build tools, install:$$missing" >&2; exit 1; fi; fi; touch $@

# What the tests start and drive (servers, clients, the programs that take an `ssh`
# command, the full-screen programs 52-screen compares with tmux, Node for the MCP SDK), as
# command:package (ca-certificates: npm fetches the SDK over TLS; ansible-core: 72 runs a
# playbook). Run as root, `make test` installs what is missing and says so; otherwise
# it prints the one apt-get line and stops.
TEST_TOOLS = /usr/sbin/sshd:openssh-server ssh:openssh-client scp:openssh-client \
  sftp:openssh-client dropbear:dropbear-bin busybox:busybox zsh:zsh ip:iproute2 \
  nc:netcat-openbsd sudo:sudo pgrep:procps /usr/bin/python3:python3 tmux:tmux vim:vim \
  htop:htop less:less nano:nano whiptail:whiptail node:nodejs npm:npm git:git rsync:rsync \
  curl:curl ss:iproute2 flock:util-linux update-ca-certificates:ca-certificates \
  ansible-playbook:ansible-core
# After the build tools: two apt-get installs at once would fight over dpkg's lock (make -j).
test-deps: | $(BUILD)/.tools
	@missing=""; \
	for t in $(TEST_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	/usr/bin/python3 -c 'import paramiko' >/dev/null 2>&1 || missing="$$missing python3-paramiko"; \
	missing=$$(printf '%s\n' $$missing | sort -u | paste -sd' ' -); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "make: installing test tools: $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null >/dev/null || \
	    { apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing </dev/null >/dev/null; } || exit 1; \
	  else echo "make: the tests need root and these packages; run as root, or:" >&2; \
	    echo "  apt-get install --no-install-recommends $$missing" >&2; exit 1; fi; fi

# The test targets' recipes (below) run once it has; npm comes with it.
test check-asan: test-deps
$(MCP_SDK_PKG): | test-deps

# Two makes on one tree (a developer and a test run) must not unpack over each other.
LOCK = flock $(BUILD)/.lock

# A deleted patch leaves no newer file behind: the list of patch names is a file of its own,
# rewritten only when the list changes, so dropping a patch unpacks and builds again too.
PATCHES := $(sort $(wildcard patches/*.patch))
$(shell mkdir -p $(BUILD) && echo '$(PATCHES)' | cmp -s - $(BUILD)/.patches || \
  echo '$(PATCHES)' >$(BUILD)/.patches)

$(BUILD)/.fetched: tools/deps.sh $(PATCHES) $(BUILD)/.patches | $(BUILD)/.tools
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

# The policy lexer's words, for tests/62-policy-grammar.sh to hold against real shells.
$(BUILD)/polsplit: tests/polsplit.c $(SRC) $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include -I$(BUILD) -I. -static \
	  -o $@ tests/polsplit.c -L$(MUSL)/lib $(LIBS)

$(ASAN)/polsplit: tests/polsplit.c $(SRC) $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -I$(BUILD) -I. -o $@ tests/polsplit.c \
	  -L$(ASAN)/lib $(LIBS)

# The policy check's cost per command line (bench/policy.sh).
$(BUILD)/polbench: bench/polbench.c $(SRC) $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O2 -I$(MUSL)/include -I$(BUILD) -I. -static \
	  -o $@ bench/polbench.c -L$(MUSL)/lib $(LIBS)

$(BUILD)/unit_json: tests/unit_json.c json.h | $(BUILD)/.tools
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -static -o $@ tests/unit_json.c

$(ASAN)/unit_json: tests/unit_json.c json.h $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -o $@ tests/unit_json.c

# Ed25519/X25519 vectors and key loading, against the patched libssh2 (tests/05-crypto.sh).
$(BUILD)/crypto: tests/crypto.c tests/vectors.h $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include -static -o $@ tests/crypto.c \
	  -L$(MUSL)/lib $(LIBS)

$(ASAN)/crypto: tests/crypto.c tests/vectors.h $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -o $@ tests/crypto.c -L$(ASAN)/lib $(LIBS)

# The terminal screen model against tmux (tests/52-screen.sh) and its feed speed (bench/screen.sh).
$(BUILD)/screen_cmp: tests/screen_cmp.c $(SRC) $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O2 -g -I$(MUSL)/include -I$(BUILD) -I. -static \
	  -o $@ tests/screen_cmp.c -L$(MUSL)/lib $(LIBS)

$(ASAN)/screen_cmp: tests/screen_cmp.c $(SRC) $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -I$(BUILD) -I. -o $@ tests/screen_cmp.c \
	  -L$(ASAN)/lib $(LIBS)

# ML-KEM-768 and sntrup761 vectors, against the patched libssh2 (tests/06-pq-crypto.sh).
$(BUILD)/pq: tests/pq.c tests/vectors.h $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include -static -o $@ tests/pq.c \
	  -L$(MUSL)/lib $(LIBS)

$(ASAN)/pq: tests/pq.c tests/vectors.h $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include -o $@ tests/pq.c -L$(ASAN)/lib $(LIBS)

# ChaCha20, Poly1305 and AES-GCM of patch 0004, each implementation, against Wycheproof and
# OpenSSL-made SSH packets (tests/07-aead.sh). It calls libssh2's crypt methods, so it is
# built on libssh2's private headers, from the configured tree deps.sh built in.
AEAD_INC = -DHAVE_CONFIG_H -isystem $(1)/obj/libssh2/src -isystem $(1)/obj/libssh2/include
$(BUILD)/aead: tests/aead.c tests/vectors.h $(MUSL)/lib/libssh2.a
	$(MUSL_CC) $(WARN) $(DEFS) -O1 -g -I$(MUSL)/include $(call AEAD_INC,$(MUSL)) -static \
	  -o $@ tests/aead.c -L$(MUSL)/lib $(LIBS)

$(ASAN)/aead: tests/aead.c tests/vectors.h $(ASAN)/lib/libssh2.a
	$(CC) $(WARN) $(DEFS) $(SANFLAGS) -I$(ASAN)/include $(call AEAD_INC,$(ASAN)) -o $@ \
	  tests/aead.c -L$(ASAN)/lib $(LIBS)

# libFuzzer harnesses (clang, not part of `make test` or CI): `make fuzz` runs each for
# FUZZ_SECONDS on its seeds in tests/fuzz/NAME, the reproducers of past findings in
# tests/fuzz/regress/NAME, and a working corpus in build/fuzz_corpus/NAME;
# `make fuzz-json`, `fuzz-config`, `fuzz-session`, `fuzz-args` run one. The deps get their own clang build
# with coverage hooks (fuzzer-no-link) in $(FUZZ).
FUZZ         = $(BUILD)/fuzz
FUZZ_CC     ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
FUZZ_RUNS    = fuzz-json fuzz-config fuzz-session fuzz-args
# The session target replaces signature checks, DH/ECDH and ML-KEM/sntrup761 arithmetic and
# ciphers/MACs with stand-ins at link time, so an input can get past the key exchange
# (tests/fuzz_session.c).
FUZZ_SESSION_WRAP = -Wl,--wrap=_libssh2_ed25519_verify,--wrap=_libssh2_mbedtls_rsa_sha1_verify \
  -Wl,--wrap=_libssh2_mbedtls_rsa_sha2_verify,--wrap=_libssh2_mbedtls_ecdsa_verify \
  -Wl,--wrap=mbedtls_ecp_mul,--wrap=mbedtls_ecdsa_genkey,--wrap=mbedtls_ecdh_compute_shared \
  -Wl,--wrap=mbedtls_mpi_exp_mod,--wrap=mbedtls_cipher_update,--wrap=mbedtls_cipher_finish \
  -Wl,--wrap=mbedtls_gcm_update,--wrap=mbedtls_gcm_finish,--wrap=mbedtls_md_hmac_finish \
  -Wl,--wrap=chacha_encrypt_bytes,--wrap=poly1305_auth \
  -Wl,--wrap=_libssh2_mlkem768_keypair,--wrap=_libssh2_mlkem768_decaps \
  -Wl,--wrap=_libssh2_sntrup761_keypair,--wrap=_libssh2_sntrup761_decaps
# An SSH input past 64 KiB adds nothing the packet limits do not already cover.
FUZZ_ARGS_session = -max_len=65536 -timeout=10
FUZZ_ARGS_config  = -max_len=16384
FUZZ_ARGS_args    = -max_len=16384

$(FUZZ)/lib/libssh2.a: $(BUILD)/.fetched tools/mbedtls_config.h
	$(LOCK) tools/deps.sh build $(BUILD) $(FUZZ) $(FUZZ_CC) "$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link"

$(BUILD)/fuzz_json: tests/fuzz_json.c json.h | $(BUILD)/.tools
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ tests/fuzz_json.c

$(BUILD)/fuzz_config: tests/fuzz_config.c $(SRC) $(FUZZ)/lib/libssh2.a
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_FLAGS) -fsanitize=fuzzer -I$(FUZZ)/include -I$(BUILD) -I. \
	  -o $@ tests/fuzz_config.c -L$(FUZZ)/lib $(LIBS)

$(BUILD)/fuzz_args: tests/fuzz_args.c $(SRC) $(FUZZ)/lib/libssh2.a
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_FLAGS) -fsanitize=fuzzer -I$(FUZZ)/include -I$(BUILD) -I. \
	  -o $@ tests/fuzz_args.c -L$(FUZZ)/lib $(LIBS)

$(BUILD)/fuzz_session: tests/fuzz_session.c $(FUZZ)/lib/libssh2.a
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_FLAGS) -fsanitize=fuzzer -I$(FUZZ)/include -o $@ \
	  tests/fuzz_session.c -L$(FUZZ)/lib $(FUZZ_SESSION_WRAP) $(LIBS)

fuzz: $(FUZZ_RUNS)

$(FUZZ_RUNS): fuzz-%: $(BUILD)/fuzz_%
	@mkdir -p $(BUILD)/fuzz_corpus/$* $(BUILD)/fuzz_art
	$(BUILD)/fuzz_$* $(BUILD)/fuzz_corpus/$* tests/fuzz/$* $(wildcard tests/fuzz/regress/$*) \
	  -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -artifact_prefix=$(BUILD)/fuzz_art/$*- \
	  $(FUZZ_ARGS_$*)

# The MCP tests drive the server with the official SDK client, pinned, from npm.
MCP_SDK_VERSION = 1.32.2
MCP_SDK_PKG = $(BUILD)/npm/node_modules/@modelcontextprotocol/sdk/package.json
$(MCP_SDK_PKG):
	@command -v npm >/dev/null || { echo "make: npm is needed for the MCP tests" >&2; exit 1; }
	npm install --no-audit --no-fund --silent --prefix $(BUILD)/npm \
	  @modelcontextprotocol/sdk@$(MCP_SDK_VERSION) </dev/null

# OpenSSH 10's sshd for tests/09-pq-kex.sh, built once from Debian trixie's openssh source
# package before the tests run (not under their timeout). Should the build fail, the tests
# that need it fail and say why; the others still run.
OPENSSH10 = $(BUILD)/openssh10/sbin/sshd
$(OPENSSH10): tools/deps.sh | $(BUILD)/.tools
	-flock $(BUILD)/.openssh10.lock tools/deps.sh openssh10 $(BUILD) $(DL_DIR)

# Test scripts run this many at a time (each has its own servers, ports and namespaces).
TEST_JOBS ?= 3
# check-asan's bulk transfers (tests/lib.sh BULK_MB): its build is about 8 times slower
ASAN_BULK_MB ?= 8
export TEST_JOBS

UNITS      = $(BUILD)/unit $(BUILD)/unit_json
ASAN_UNITS = $(ASAN)/unit $(ASAN)/unit_json

unit: $(UNITS)

test: sshmcp $(UNITS) $(BUILD)/crypto $(BUILD)/pq $(BUILD)/aead $(BUILD)/polsplit \
  $(BUILD)/screen_cmp $(OPENSSH10) $(MCP_SDK_PKG)
	SSHMCP=$(CURDIR)/sshmcp SSHMCP_ASAN= CRYPTO=$(CURDIR)/$(BUILD)/crypto PQ=$(CURDIR)/$(BUILD)/pq \
	AEAD=$(CURDIR)/$(BUILD)/aead \
	POLSPLIT=$(CURDIR)/$(BUILD)/polsplit SCREEN_CMP=$(CURDIR)/$(BUILD)/screen_cmp \
	SSHD10=$(CURDIR)/$(OPENSSH10) \
	UNIT="$(addprefix $(CURDIR)/,$(UNITS))" tests/run.sh

check-asan: $(ASAN)/sshmcp $(ASAN_UNITS) $(ASAN)/crypto $(ASAN)/pq $(ASAN)/aead $(ASAN)/polsplit \
  $(ASAN)/screen_cmp $(OPENSSH10) $(MCP_SDK_PKG)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
	BULK_MB=$(ASAN_BULK_MB) \
	SSHMCP=$(CURDIR)/$(ASAN)/sshmcp SSHMCP_ASAN= CRYPTO=$(CURDIR)/$(ASAN)/crypto PQ=$(CURDIR)/$(ASAN)/pq \
	AEAD=$(CURDIR)/$(ASAN)/aead \
	POLSPLIT=$(CURDIR)/$(ASAN)/polsplit SCREEN_CMP=$(CURDIR)/$(ASAN)/screen_cmp \
	SSHD10=$(CURDIR)/$(OPENSSH10) \
	UNIT="$(addprefix $(CURDIR)/,$(ASAN_UNITS))" tests/run.sh

clean:
	rm -f sshmcp
	find $(BUILD) -mindepth 1 -maxdepth 1 ! -name dl -exec rm -rf {} + 2>/dev/null || true
