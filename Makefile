# faultline — build, run, test, benchmark, install.
#
#   make          build everything into build/
#   make deps     install what a fresh Debian 12 machine lacks (as root)
#   make run      start faultlined in the foreground with sensible defaults
#   make check    unit + integration tests (real BPF; needs root), fuzz smoke
#   make check SANITIZE=1   the same built with ASan+UBSan into build-san/
#   make fuzz     each libFuzzer harness for FUZZ_SECONDS (default 300)
#   make bench    overhead ratios against a same-run baseline
#   make install  DESTDIR= PREFIX=
#
# V=1 shows the full commands.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

SANITIZE  ?=
# A sanitized build never mixes with the normal one.
ifeq ($(SANITIZE),1)
BUILD     ?= build-san
endif
BUILD     ?= build
ARCH      ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
VMLINUX_H ?=
PREFIX    ?= /usr/local
# Install locations; the config always lives in /etc/faultline (the daemon's
# default) unless SYSCONFDIR says otherwise.
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/faultline
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
FUZZ_SECONDS ?= 300

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Debian packages the build, the daemon and the tests need.
DEPS_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libsystemd-dev \
	libjson-c-dev libinih-dev libmicrohttpd-dev libdw-dev libcmocka-dev \
	uthash-dev pkg-config jq systemd util-linux procps iproute2 gcc make \
	prometheus prometheus-node-exporter curl python3 libclang-rt-14-dev binutils libxml2-utils

LIBS_PC  := libbpf json-c inih libmicrohttpd libdw libelf libsystemd zlib
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -D_GNU_SOURCE -I$(BUILD) -Ibpf -Idaemon -Icli
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
LDLIBS_DAEMON = $(shell pkg-config --libs $(LIBS_PC) 2>/dev/null) -lm
LDLIBS_CLI    = $(shell pkg-config --libs json-c 2>/dev/null) -lm

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# daemon/main.c holds main(); everything else also goes into a library that
# the unit tests link against. cli/render.c (pure libc: sizes, rates,
# durations) is linked into the daemon too, so messages and tables print
# figures the same way and there is one formatter, not one per file.
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c)) cli/render.c
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRCS))
CLI_SRCS    := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCH_SRCS  := $(wildcard tests/bench/*.c)
BENCH_BINS  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
WL_SRCS     := $(wildcard tests/workloads/*.c)
WL_BINS     := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WL_SRCS))
# grow_paths (growth attribution): a PIE with frame pointers linked against a
# shared library of its own, and a stripped copy of it.
WL_BINS     += $(BUILD)/workloads/grow_paths_stripped
WL_FP_FLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fno-omit-frame-pointer \
	       -fno-optimize-sibling-calls

# libFuzzer harnesses (clang): the daemon's sources built once more with
# coverage and ASan+UBSan into $(BUILD)/fuzz/.
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS   := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(DAEMON_SRCS))
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Idaemon -Icli \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps run check check-unit check-integration bench install security clean format fuzz
all: $(BUILD)/faultlined $(BUILD)/faultline $(WL_BINS)

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
ifneq ($(VMLINUX_H),)
	$(call msg,COPY,$@)cp $(VMLINUX_H) $@
else
	$(call msg,BTF,$@)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@
endif

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.h $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(BUILD) -Ibpf -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/daemon/%.o: daemon/%.c daemon/*.h bpf/faultline.h $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/cli/%.o: cli/*.h
$(BUILD)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libfaultlined.a: $(DAEMON_OBJS)
	$(call msg,AR,$@)ar rcs $@ $^

$(BUILD)/libfaultline-cli.a: $(CLI_OBJS)
	$(call msg,AR,$@)ar rcs $@ $^

$(BUILD)/faultlined: $(BUILD)/daemon/main.o $(BUILD)/libfaultlined.a
	$(call msg,LD,$@)$(CC) $(LDFLAGS) $^ $(LDLIBS_DAEMON) -o $@

$(BUILD)/faultline: $(BUILD)/cli/main.o $(BUILD)/libfaultline-cli.a
	$(call msg,LD,$@)$(CC) $(LDFLAGS) $^ $(LDLIBS_CLI) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfaultlined.a $(BUILD)/libfaultline-cli.a
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libfaultlined.a \
		$(BUILD)/libfaultline-cli.a $(LDLIBS_DAEMON) -lcmocka -o $@

# Microbenchmarks of the daemon's pure code (make bench runs them).
$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libfaultlined.a
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libfaultlined.a $(LDLIBS_DAEMON) -o $@

$(BUILD)/workloads/%: tests/workloads/%.c $(wildcard tests/workloads/*.h)
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@ -lm

$(BUILD)/fuzz/obj/%.o: %.c daemon/*.h cli/*.h bpf/faultline.h $(SKELS)
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(call msg,FUZZLD,$@)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) \
		$(LDLIBS_DAEMON) -o $@

# Each harness for FUZZ_SECONDS over a working copy of its checked-in corpus
# (the copy grows, tests/fuzz/corpus stays small); findings go to
# $(BUILD)/fuzz/findings/ and fail the target.
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$${f##*/fuzz_}; \
		mkdir -p $(BUILD)/fuzz/work-$$n $(BUILD)/fuzz/findings; \
		echo "  FUZZ     $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/findings/$$n- $(BUILD)/fuzz/work-$$n tests/fuzz/corpus/$$n \
			2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/$$n.log | sed "s/^/    $$n /"; \
	done

$(BUILD)/workloads/libgrowpaths.so: tests/workloads/lib/growpaths_lib.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(WL_FP_FLAGS) -fPIC -shared $< -o $@

$(BUILD)/workloads/grow_paths: tests/workloads/grow_paths.c tests/workloads/wl_common.h $(BUILD)/workloads/libgrowpaths.so
	$(call msg,CC,$@)$(CC) $(WL_FP_FLAGS) -fPIE -pie $< -o $@ -L$(BUILD)/workloads -lgrowpaths \
		-Wl,-rpath,'$$ORIGIN' -lm

$(BUILD)/workloads/grow_paths_stripped: $(BUILD)/workloads/grow_paths
	$(call msg,STRIP,$@)strip --strip-all -o $@ $<

run: deps all
	@mkdir -p /run/faultline /var/lib/faultline
	./$(BUILD)/faultlined --foreground

# Unit tests, then the integration suites (in parallel, see tests/run.sh).
# The sanitized pass skips the fuzz smoke: the harnesses carry ASan+UBSan
# themselves and already ran in the plain pass.
check: deps all $(UNIT_BINS) $(if $(filter 1,$(SANITIZE)),,$(FUZZ_BINS))
	@printf 'systemd unit hardening: '; $(MAKE) -s security
	@BUILD=$(BUILD) FL_SANITIZED=$(SANITIZE) bash tests/run.sh

check-unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) FL_SANITIZED=$(SANITIZE) bash tests/run.sh unit

check-integration: all $(FUZZ_BINS)
	@BUILD=$(BUILD) FL_SANITIZED=$(SANITIZE) bash tests/run.sh integration

bench: deps all $(BENCH_BINS)
	@bash tests/bench/run.sh $(BUILD)
	@bash tests/bench/metrics.sh $(BUILD)
	@bash tests/bench/trace.sh $(BUILD)
	@bash tests/bench/oom_latency.sh $(BUILD)

# Binaries, units, sysusers/tmpfiles snippets, the default config (never over
# an existing one), man pages, bash completion. Into the live system (no
# DESTDIR) it also creates the user and tells a running systemd.
install: $(BUILD)/faultlined $(BUILD)/faultline
	install -D -m 0755 $(BUILD)/faultlined $(DESTDIR)$(SBINDIR)/faultlined
	install -D -m 0755 $(BUILD)/faultline  $(DESTDIR)$(BINDIR)/faultline
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/faultlined|$(SBINDIR)/faultlined|g' systemd/faultlined.service \
		> $(DESTDIR)$(UNITDIR)/faultlined.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/faultlined.service
	install -m 0644 systemd/faultlined.socket $(DESTDIR)$(UNITDIR)/faultlined.socket
	install -D -m 0644 systemd/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/faultline.conf
	install -D -m 0644 systemd/tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/faultline.conf
	install -D -m 0644 systemd/faultlined-metrics.conf $(DESTDIR)$(DOCDIR)/faultlined-metrics.conf
	install -d $(DESTDIR)$(DOCDIR)/prometheus
	install -m 0644 docs/prometheus/faultline-alerts.yml docs/prometheus/faultline-alerts.test.yml \
		docs/prometheus/prometheus.yml $(DESTDIR)$(DOCDIR)/prometheus/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/faultline/faultlined.conf ]; then \
		echo "  keeping $(DESTDIR)$(SYSCONFDIR)/faultline/faultlined.conf (the new default is in $(DOCDIR))"; \
	else \
		install -D -m 0644 systemd/faultlined.conf $(DESTDIR)$(SYSCONFDIR)/faultline/faultlined.conf; \
	fi
	install -m 0644 systemd/faultlined.conf $(DESTDIR)$(DOCDIR)/faultlined.conf.default
	install -D -m 0644 docs/man/faultline.1 $(DESTDIR)$(MANDIR)/man1/faultline.1
	install -D -m 0644 docs/man/faultlined.8 $(DESTDIR)$(MANDIR)/man8/faultlined.8
	install -D -m 0644 docs/man/faultlined.conf.5 $(DESTDIR)$(MANDIR)/man5/faultlined.conf.5
	install -D -m 0644 cli/faultline.bash $(DESTDIR)$(BASHCOMPDIR)/faultline
ifeq ($(DESTDIR),)
	@if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/faultline.conf && \
		systemd-tmpfiles --create $(TMPFILESDIR)/faultline.conf; fi
	@if [ -d /run/systemd/system ]; then systemctl daemon-reload; \
		echo "  installed: systemctl enable --now faultlined; usermod -aG faultline USER to let USER query"; fi
endif

# The hardening figure of the shipped unit (lower is better; make check prints it).
security:
	@systemd-analyze security --offline=true systemd/faultlined.service 2>/dev/null | tail -1

format:
	clang-format -i bpf/*.c bpf/*.h daemon/*.c daemon/*.h cli/*.c cli/*.h tests/unit/*.c tests/fuzz/*.c

clean:
	rm -rf $(BUILD) build-san
