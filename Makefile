# kvmwatch: eBPF observer of KVM host paths.
#
#   make                 build ./kvmwatch (static) for this host
#   make ARCH=arm64      cross-build build/arm64/kvmwatch and kvmload (static)
#   make STATIC=0        link against the shared libraries instead
#   make test            install what is missing, build, run every test
#   make demo            boot the KVM testbed and show kvmwatch top on guests
#   make deps            install the Debian packages the build needs

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/' -e 's/amd64/x86_64/')
ARCH ?= $(HOST_ARCH)
override ARCH := $(subst aarch64,arm64,$(subst amd64,x86_64,$(ARCH)))
STATIC ?= 1
V ?= 0
DEMO_SECONDS ?= 30
KVMWATCH_CACHE ?= $(CURDIR)/.cache
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

CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -I$(BUILD) -Ibpf -Isrc
LDLIBS := -lbpf -lelf -lz -ljansson -lncurses -ltinfo
LDFLAGS := $(if $(filter 1,$(STATIC)),-static)

# Cross builds link the arm64 -dev packages unpacked into the cache.
ifneq ($(CROSS),)
SYSROOT := $(KVMWATCH_CACHE)/arm64/root
SYSROOT_STAMP := $(KVMWATCH_CACHE)/arm64/sysroot.stamp
SYSROOT_PKGS := libbpf-dev libelf-dev zlib1g-dev libzstd-dev libjansson-dev \
	libncurses-dev
CFLAGS += -I$(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
	-Ivmlinux/$(BPF_ARCH) -Ibpf -Wall -Werror \
	$(if $(SYSROOT),-I$(SYSROOT)/usr/include)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

.PHONY: all kvmload deps test unit-tests demo clean
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

$(BUILD)/kvmwatch: $(OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(SKELS) $(wildcard src/*.h bpf/*.h) | $(BUILD)/obj $(SYSROOT_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/$(BPF_ARCH)/vmlinux.h | $(BUILD) $(SYSROOT_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
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

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-tests: $(TESTS)

deps:
	$(Q)tools/deps.sh build cross vm

# The whole suite: unit tests, host smoke tests, then the nested-KVM
# testbed on both arches. It ends with "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-tests
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 all
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(ARCH) $(DEMO_SECONDS)

clean:
	rm -rf build kvmwatch
