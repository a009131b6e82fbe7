# kvmwatch: eBPF observer of KVM host paths.
#
#   make                 build ./kvmwatch (static) for this host
#   make ARCH=arm64      cross-build build/arm64/kvmwatch and kvmload (static)
#   make STATIC=0        link against the shared libraries instead
#   make test            install what is missing, build, run every test
#   make fuzz            fuzz the rules-file parser, the baseline loader and
#                        the command lines for FUZZ_SECONDS each (default
#                        20), or FUZZ_RUNS inputs each when set
#   make demo            boot the KVM testbed and show kvmwatch top on guests
#   make deps            install the Debian packages the build needs

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/' -e 's/amd64/x86_64/')
ARCH ?= $(HOST_ARCH)
override ARCH := $(subst aarch64,arm64,$(subst amd64,x86_64,$(ARCH)))
STATIC ?= 1
V ?= 0
DEMO_SECONDS ?= 30
FUZZ_SECONDS ?= 20
export FUZZ_SECONDS
# Downloads and built artefacts outlive the clone, so a second clone's
# `make test` fetches and builds nothing again.
XDG_CACHE_HOME ?= $(HOME)/.cache
KVMWATCH_CACHE ?= $(XDG_CACHE_HOME)/kvmwatch
export KVMWATCH_CACHE

ifeq ($(V),0)
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

ifeq ($(ARCH),x86_64)
BPF_ARCH := x86
CROSS :=
else ifeq ($(ARCH),arm64)
BPF_ARCH := arm64
CROSS := $(if $(filter arm64,$(HOST_ARCH)),,aarch64-linux-gnu-)
else
$(error ARCH must be x86_64 or arm64, not '$(ARCH)')
endif

BUILD := build/$(ARCH)
CC := $(CROSS)gcc
CLANG ?= clang
BPFTOOL ?= bpftool
# The skeletons embed the objects: DWARF would be megabytes of the
# binary that nothing reads (BTF keeps what libbpf needs).
LLVM_STRIP ?= llvm-strip

# Includes name their folder from src/ ("core/attach.h") or the top
# ("bpf/timer.h"); the skeletons come from $(BUILD).
CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -MMD -MP -I$(BUILD) -I. -Isrc
LDLIBS := -lbpf -lelf -llzma -lzstd -lz -ljansson -lncurses -ltinfo -lyaml \
	-levent_extra -levent_core
LDFLAGS := $(if $(filter 1,$(STATIC)),-static)

# Cross builds link the arm64 -dev packages unpacked into the cache.
ifneq ($(CROSS),)
SYSROOT := $(KVMWATCH_CACHE)/arm64/root
SYSROOT_PKGS := libbpf-dev libelf-dev zlib1g-dev libzstd-dev liblzma-dev \
	libjansson-dev libncurses-dev libyaml-dev libevent-dev
# Named after the package list, so adding a package fetches again.
SYSROOT_STAMP := $(KVMWATCH_CACHE)/arm64/sysroot-$(shell echo $(SYSROOT_PKGS) | cksum | cut -d' ' -f1).stamp
CFLAGS += -I$(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
	-Ivmlinux/$(BPF_ARCH) -Ibpf -Wall -Werror \
	$(if $(SYSROOT),-I$(SYSROOT)/usr/include)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
SRCS := $(sort $(shell find src -name '*.c'))
OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/cmd/main.o,$(OBJS))
TEST_SRCS := $(sort $(shell find tests/unit -name 'test_*.c'))
TESTS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))

.PHONY: all kvmload deps test unit-tests fuzz fuzz-build fuzz-merge demo bench soak clean \
	install uninstall
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/kvmwatch kvmload

# ./kvmwatch is the host's own build, whatever ARCH= said last.
ifeq ($(ARCH),$(HOST_ARCH))
all: kvmwatch-link
kvmwatch-link: $(BUILD)/kvmwatch
	$(Q)ln -sf $< kvmwatch
.PHONY: kvmwatch-link
endif

# A static link of libevent warns that glibc's getaddrinfo and getservbyname
# need the system's NSS libraries at run time. kvmwatch never calls them
# (export --listen takes numeric addresses and binds its own socket), so
# exactly those warnings from libevent's evutil.o are left out; any other
# linker message is shown.
LD_KNOWN := -e 'libevent_core\.a(evutil\.o): in function' \
	-e "warning: Using '\(getaddrinfo\|getprotobynumber\|getservbyname\)' in statically linked"
$(BUILD)/kvmwatch: $(OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) 2>$@.ld.log; rc=$$?; \
		grep -v $(LD_KNOWN) $@.ld.log >&2; rm -f $@.ld.log; exit $$rc

# Every object waits for the skeletons; -MMD's .d files say which headers
# each one really read.
$(BUILD)/obj/%.o: src/%.c $(SKELS) | $(SYSROOT_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d)

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/$(BPF_ARCH)/vmlinux.h | $(BUILD) $(SYSROOT_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD) $(BUILD)/tests:
	$(Q)mkdir -p $@

ifneq ($(CROSS),)
$(SYSROOT_STAMP):
	$(call msg,FETCH,"arm64 libraries into $(SYSROOT)")
	$(Q)tools/apt-fetch.sh arm64 $(KVMWATCH_CACHE)/arm64 $(SYSROOT_PKGS) >/dev/null
	$(Q)touch $@
endif

kvmload: | $(SYSROOT_STAMP)
	$(Q)$(MAKE) --no-print-directory -C tools/kvmload ARCH=$(ARCH) CC=$(CC) \
		OUT=$(CURDIR)/$(BUILD) STATIC=$(STATIC) V=$(V) \
		EXTRA_CFLAGS="$(if $(SYSROOT),-I$(SYSROOT)/usr/include)" \
		EXTRA_LDFLAGS="$(if $(SYSROOT),-L$(SYSROOT)/usr/lib/aarch64-linux-gnu)"

# A unit test links every object but main, so each detector registers.
define unit_test
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $(LIB_OBJS) | $(BUILD)/tests
	$$(call msg,CC,$$@)
	$(Q)$$(CC) $$(CFLAGS) -MF $$@.d -o $$@ $$< $(LIB_OBJS) $$(LDLIBS) -lcmocka
endef
$(foreach t,$(TEST_SRCS),$(eval $(call unit_test,$(t))))
-include $(TESTS:=.d)

unit-tests: $(TESTS)

# The parsers of what a CI job hands kvmwatch, under libFuzzer (clang,
# x86_64 hosts), with ASan and UBSan: the rules file (YAML), the
# baseline loader (a record) and the command lines. Each one's own files
# are compiled instrumented; the rest of the program is linked as built.
# tests/fuzz/run.sh runs each for FUZZ_SECONDS over its kept corpus
# (tests/fuzz/NAME/, read only); `make fuzz-merge` adds what a longer run
# found to those corpora.
FUZZ := build/fuzz
FUZZERS := rules_file record_file cli
FUZZ_SRCS_rules_file := src/gate/rules_file.c $(wildcard src/gate/baseline*.c)
FUZZ_SRCS_record_file := src/gate/record_file.c $(wildcard src/gate/baseline*.c)
FUZZ_SRCS_cli := $(filter-out src/cmd/main.c,$(wildcard src/cmd/*.c)) \
	src/gate/check_baseline.c
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -std=gnu11 -Wall -Wextra -Werror \
	-Ibuild/$(HOST_ARCH) -I. -Isrc
fuzz_link_objs = $(filter-out $(patsubst src/%.c,build/$(HOST_ARCH)/obj/%.o,$(1) src/cmd/main.c),\
	$(patsubst src/%.c,build/$(HOST_ARCH)/obj/%.o,$(SRCS)))

define fuzzer
$(FUZZ)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(call fuzz_link_objs,$$(FUZZ_SRCS_$(1))) $$(wildcard src/*/*.h)
	$$(call msg,FUZZ,$$@)
	$(Q)mkdir -p $(FUZZ)
	$(Q)$$(CLANG) $$(FUZZ_FLAGS) -o $$@ tests/fuzz/fuzz_$(1).c \
		$$(FUZZ_SRCS_$(1)) $$(call fuzz_link_objs,$$(FUZZ_SRCS_$(1))) $$(LDLIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzzer,$(f))))

fuzz-build: $(patsubst %,$(FUZZ)/fuzz_%,$(FUZZERS))

fuzz: fuzz-build
	$(Q)tests/run.sh fuzz

fuzz-merge: fuzz-build
	$(Q)for f in $(FUZZERS); do \
		mkdir -p $(FUZZ)/found-$$f; \
		$(FUZZ)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) \
			$$( [ -e tests/fuzz/$$f.dict ] && echo -dict=tests/fuzz/$$f.dict) \
			$(FUZZ)/found-$$f tests/fuzz/$$f >/dev/null 2>&1; \
		$(FUZZ)/fuzz_$$f -merge=1 tests/fuzz/$$f $(FUZZ)/found-$$f; \
	done

deps:
	$(Q)tools/deps.sh build cross vm fleet

# The whole suite: unit tests, host smoke tests, then the nested-KVM
# testbed on both arches. It ends with "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-tests fuzz-build
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 all
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(ARCH) $(DEMO_SECONDS)

# What observing costs, kvmwatch beside perf and bpftrace, in the testbed
# (docs/performance.md): BENCH_KERNELS="x86_64-6.12 arm64-6.12", and
# BENCH_REPS, BENCH_WRITES, BENCH_TIMER_S, BENCH_OBSERVERS.
BENCH_KERNELS ?= x86_64-6.12
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(if $(filter arm64-%,$(BENCH_KERNELS)),$(MAKE) --no-print-directory ARCH=arm64 all)
	$(Q)python3 tests/bench/bench.py $(BENCH_KERNELS)

# kvmwatch export left attached while VMs come and go, checked per VM
# (docs/reliability.md): DURATION seconds in the testbed (SOAK_KERNEL), or
# on this KVM host as root with SOAK_HOST=1.
DURATION ?= 120
SOAK_KERNEL ?= x86_64-7.3
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(if $(filter arm64-%,$(SOAK_KERNEL)),$(MAKE) --no-print-directory ARCH=arm64 all)
	$(Q)python3 tests/soak/soak.py $(if $(SOAK_HOST),--host) --kernel $(SOAK_KERNEL) $(DURATION)

# The binary, its man page, bash completion, the systemd units and the
# Prometheus rules (docs/fleet.md), under DESTDIR/PREFIX.
PREFIX ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
# Where Debian's node_exporter reads *.prom files.
TEXTFILE_DIR ?= /var/lib/prometheus/node-exporter
UNITS := kvmwatch-export.service kvmwatch-export-textfile.service
RULES := kvmwatch-rules.yml kvmwatch-alerts.yml alertmanager-example.yml
INSTALLED := $(PREFIX)/sbin/kvmwatch $(PREFIX)/share/man/man8/kvmwatch.8 \
	$(PREFIX)/share/bash-completion/completions/kvmwatch \
	$(addprefix $(UNITDIR)/,$(UNITS)) \
	$(addprefix $(PREFIX)/share/kvmwatch/prometheus/,$(RULES))
install: $(BUILD)/kvmwatch
	$(Q)install -D -m 0755 $(BUILD)/kvmwatch $(DESTDIR)$(PREFIX)/sbin/kvmwatch
	$(Q)install -D -m 0644 docs/kvmwatch.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/kvmwatch.8
	$(Q)install -D -m 0644 tools/completion/kvmwatch.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/kvmwatch
	$(Q)install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/kvmwatch/prometheus
	$(Q)for unit in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' \
		    -e 's|@TEXTFILE_DIR@|$(TEXTFILE_DIR)|g' \
		    tools/fleet/$$unit.in > $(DESTDIR)$(UNITDIR)/$$unit && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done
	$(Q)install -m 0644 $(addprefix tools/fleet/,$(RULES)) \
		$(DESTDIR)$(PREFIX)/share/kvmwatch/prometheus/
	$(Q)printf '  INSTALL  %s\n' $(addprefix $(DESTDIR),$(INSTALLED))

uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))

clean:
	rm -rf build kvmwatch
