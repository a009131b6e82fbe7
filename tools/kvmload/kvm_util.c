// SPDX-License-Identifier: GPL-2.0
/* KVM API helpers shared by kvmload's arch parts; see kvm_util.h. */
#define _GNU_SOURCE
#include "kvm_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("kvmload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int kvm_ioctl_named(int fd, unsigned long req, unsigned long arg,
		    const char *name)
{
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		die("ioctl %s failed: %s", name, strerror(errno));
	return ret;
}

int kvm_check_cap(int fd, long cap)
{
	return kvm_ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

pid_t kvm_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * By number rather than by KVM_EXIT_* macro: the build host's uapi
 * headers may be older than the kernel kvmload runs on.
 */
static const char *const exit_names[] = {
	"UNKNOWN", "EXCEPTION", "IO", "HYPERCALL", "DEBUG", "HLT", "MMIO",
	"IRQ_WINDOW_OPEN", "SHUTDOWN", "FAIL_ENTRY", "INTR", "SET_TPR",
	"TPR_ACCESS", "S390_SIEIC", "S390_RESET", "DCR", "NMI",
	"INTERNAL_ERROR", "OSI", "PAPR_HCALL", "S390_UCONTROL", "WATCHDOG",
	"S390_TSCH", "EPR", "SYSTEM_EVENT", "S390_STSI", "IOAPIC_EOI",
	"HYPERV", "ARM_NISV", "X86_RDMSR", "X86_WRMSR", "DIRTY_RING_FULL",
	"AP_RESET_HOLD", "X86_BUS_LOCK", "XEN", "RISCV_SBI", "RISCV_CSR",
	"NOTIFY", "LOONGARCH_IOCSR", "MEMORY_FAULT", "TDX",
};

_Static_assert(sizeof(exit_names) / sizeof(exit_names[0]) <
	       KVM_UTIL_EXIT_SLOTS, "exit reason table overflows the slots");

static unsigned int exit_slot(uint32_t reason)
{
	return reason < KVM_UTIL_EXIT_SLOTS - 1 ? reason
						: KVM_UTIL_EXIT_SLOTS - 1;
}

const char *kvm_exit_reason_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		return exit_names[reason];
	return "OTHER";
}

void kvm_vm_create(struct kvm_vm *vm, unsigned long type)
{
	int version, size;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die("cannot open /dev/kvm: %s (is KVM available here?)",
		    strerror(errno));
	version = kvm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		die("KVM API version %d, expected %d", version,
		    KVM_API_VERSION);
	size = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((size_t)size < sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE %d is too small", size);
	vm->run_size = (size_t)size;
	vm->fd = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, type);
}

void kvm_vm_close(struct kvm_vm *vm)
{
	close(vm->fd);
	close(vm->kvm_fd);
	vm->fd = vm->kvm_fd = -1;
}

void *kvm_alloc_guest_memory(size_t size, bool no_hugepages)
{
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (mem == MAP_FAILED)
		die("cannot map %zu bytes of guest memory: %s", size,
		    strerror(errno));
	if (no_hugepages && madvise(mem, size, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE) failed: %s", strerror(errno));
	return mem;
}

void kvm_free_guest_memory(void *mem, size_t size)
{
	if (munmap(mem, size))
		die("munmap of guest memory failed: %s", strerror(errno));
}

void kvm_set_memory_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
			 void *host, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int kvm_add_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len,
		      const uint64_t *datamatch, bool pio)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len };
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (efd < 0)
		die("eventfd failed: %s", strerror(errno));
	io.fd = efd;
	if (datamatch) {
		io.datamatch = *datamatch;
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	}
	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	kvm_ioctl(vm->fd, KVM_IOEVENTFD, &io);
	return efd;
}

uint64_t kvm_eventfd_take(int efd)
{
	uint64_t count;
	ssize_t n = read(efd, &count, sizeof(count));

	if (n == sizeof(count))
		return count;
	if (n < 0 && errno == EAGAIN)
		return 0;
	die("read of an ioeventfd failed: %s",
	    n < 0 ? strerror(errno) : "short read");
}

void kvm_vcpu_create(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		     unsigned int id)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = kvm_ioctl(vm->fd, KVM_CREATE_VCPU, id);
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		die("cannot mmap kvm_run of vCPU %u: %s", id, strerror(errno));
}

void kvm_vcpu_close(struct kvm_vcpu *vcpu)
{
	munmap(vcpu->run, vcpu->vm->run_size);
	close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	vcpu->tid = kvm_gettid();

	for (;;) {
		int ret = ioctl(vcpu->fd, KVM_RUN, 0);

		vcpu->run_calls++;
		if (ret < 0) {
			if (errno != EINTR)
				die("ioctl KVM_RUN failed on vCPU %u: %s",
				    vcpu->id, strerror(errno));
			vcpu->intr_errno++;
			continue;
		}
		vcpu->exits[exit_slot(vcpu->run->exit_reason)]++;
		if (vcpu->handle_exit(vcpu) == KVM_VCPU_STOP)
			return NULL;
	}
}

void kvm_vcpus_start(struct kvm_vcpu *vcpus, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int err;

		if (!vcpus[i].handle_exit)
			die("internal error: vCPU %u has no exit handler", i);
		err = pthread_create(&vcpus[i].thread, NULL, vcpu_thread,
				     &vcpus[i]);
		if (err)
			die("cannot start the vCPU %u thread: %s", i,
			    strerror(err));
	}
}

void kvm_vcpus_join(struct kvm_vcpu *vcpus, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int err = pthread_join(vcpus[i].thread, NULL);

		if (err)
			die("cannot join the vCPU %u thread: %s", i,
			    strerror(err));
	}
}

void json_set(json_t *obj, const char *key, json_t *value)
{
	if (!value || json_object_set_new(obj, key, value))
		die("out of memory building JSON (%s)", key);
}

void json_set_uint(json_t *obj, const char *key, uint64_t value)
{
	json_set(obj, key, json_integer((json_int_t)value));
}

json_t *json_new_object(void)
{
	json_t *obj = json_object();

	if (!obj)
		die("out of memory building JSON");
	return obj;
}

json_t *kvm_vcpu_json(const struct kvm_vcpu *vcpu)
{
	json_t *obj = json_object(), *exits = json_object();

	if (!obj || !exits)
		die("out of memory building JSON");
	for (unsigned int i = 0; i < KVM_UTIL_EXIT_SLOTS; i++) {
		const char *name = kvm_exit_reason_name(i);
		char unknown[24];

		if (!vcpu->exits[i])
			continue;
		/* Distinct keys for reasons newer than the name table. */
		if (!strcmp(name, "OTHER") && i < KVM_UTIL_EXIT_SLOTS - 1) {
			snprintf(unknown, sizeof(unknown), "EXIT_%u", i);
			name = unknown;
		}
		json_set(exits, name,
			 json_integer((json_int_t)vcpu->exits[i]));
	}
	if (vcpu->intr_errno)
		json_set(exits, "ERRNO_EINTR",
			 json_integer((json_int_t)vcpu->intr_errno));
	json_set(obj, "vcpu_id", json_integer(vcpu->id));
	json_set(obj, "tid", json_integer(vcpu->tid));
	json_set(obj, "userspace_exits", exits);
	json_set(obj, "kvm_run_calls",
		 json_integer((json_int_t)vcpu->run_calls));
	return obj;
}

static int timer_notify_fd = -1;

void kvmload_set_timer_notify_fd(int fd)
{
	timer_notify_fd = fd;
}

void kvmload_timer_started(void)
{
	char byte = 'S';

	if (timer_notify_fd < 0)
		return;
	if (write(timer_notify_fd, &byte, 1) != 1)
		die("cannot notify the parent of the timer start: %s",
		    strerror(errno));
	close(timer_notify_fd);
	timer_notify_fd = -1;
}
