/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM API helpers shared by kvmload's arch parts.  Every helper that
 * issues an ioctl exits(1) on failure with
 *	kvmload: ioctl KVM_XXX failed: <strerror>
 * so callers never check return values for errors.
 */
#ifndef KVMLOAD_KVM_UTIL_H
#define KVMLOAD_KVM_UTIL_H

#include <jansson.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* exit_reason values below KVM_UTIL_EXIT_SLOTS - 1 are counted by index;
 * larger ones share the last slot, reported as "OTHER". */
#define KVM_UTIL_EXIT_SLOTS 64

/* Print "kvmload: <fmt>" and a newline on stderr, exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ioctl() that exits(1) naming the request on failure; returns the ioctl
 * result (an fd for the KVM_CREATE_* requests).  Use the macro so the
 * message names the request: kvm_ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0). */
int kvm_ioctl_named(int fd, unsigned long req, unsigned long arg,
		    const char *name);
#define kvm_ioctl(fd, req, arg) \
	kvm_ioctl_named((fd), (req), (unsigned long)(arg), #req)

/* KVM_CHECK_EXTENSION on fd (system or VM); the capability's value. */
int kvm_check_cap(int fd, long cap);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/* Kernel thread id of the caller. */
pid_t kvm_gettid(void);

/* "MMIO" for KVM_EXIT_MMIO, ...: the KVM_EXIT_ name without prefix, or
 * "OTHER" for reasons this build does not know (kvm_vcpu_json() reports
 * those as "EXIT_<n>"). */
const char *kvm_exit_reason_name(uint32_t reason);

struct kvm_vm {
	int kvm_fd;		/* /dev/kvm */
	int fd;			/* the VM */
	size_t run_size;	/* KVM_GET_VCPU_MMAP_SIZE */
};

/* Open /dev/kvm (a missing device is one clear line and exit(1)), check
 * the API version and create a VM of the given machine type (0 on x86,
 * the IPA size on arm64). */
void kvm_vm_create(struct kvm_vm *vm, unsigned long type);
/* Close the VM fd and /dev/kvm.  The VM itself goes away only when the
 * vCPU fds are closed too. */
void kvm_vm_close(struct kvm_vm *vm);

/* Anonymous, page-aligned, zeroed memory for a slot; with no_hugepages
 * madvise(MADV_NOHUGEPAGE) so stage-2 maps it with 4 KiB entries. */
void *kvm_alloc_guest_memory(size_t size, bool no_hugepages);
void kvm_free_guest_memory(void *mem, size_t size);
/* KVM_SET_USER_MEMORY_REGION. */
void kvm_set_memory_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
			 void *host, uint64_t size);

/*
 * Register a new non-blocking, non-semaphore eventfd as ioeventfd on addr.
 * len 0 matches any write to addr (MMIO only: KVM then also puts it on the
 * fast-MMIO bus); with datamatch, only writes of exactly *datamatch with
 * len 1/2/4/8 bytes signal it.  Returns the eventfd.
 */
int kvm_add_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len,
		      const uint64_t *datamatch, bool pio);
/* Read and reset an eventfd's counter: the number of signals since the
 * previous read (0 if none). */
uint64_t kvm_eventfd_take(int efd);

/* What an exit handler tells the run loop. */
enum kvm_vcpu_action { KVM_VCPU_CONTINUE, KVM_VCPU_STOP };

struct kvm_vcpu;
/* Called by the run loop after every KVM_RUN that returned 0 (the exit is
 * already counted).  Handle run->exit_reason, return KVM_VCPU_STOP when
 * the guest is done; on a guest error, die(). */
typedef enum kvm_vcpu_action (*kvm_exit_handler)(struct kvm_vcpu *vcpu);

struct kvm_vcpu {
	struct kvm_vm *vm;
	unsigned int id;		/* vcpu_id given to KVM_CREATE_VCPU */
	int fd;
	struct kvm_run *run;
	kvm_exit_handler handle_exit;	/* set by the arch before starting */
	void *arch;			/* free for the arch part */

	/* Filled by the run loop. */
	pthread_t thread;
	pid_t tid;
	uint64_t run_calls;		/* every KVM_RUN ioctl */
	uint64_t exits[KVM_UTIL_EXIT_SLOTS]; /* KVM_RUN == 0, by exit_reason */
	uint64_t intr_errno;		/* KVM_RUN == -1 with EINTR */
};

/* KVM_CREATE_VCPU with vcpu_id id and mmap its kvm_run.  Zeroes *vcpu. */
void kvm_vcpu_create(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		     unsigned int id);
/* munmap kvm_run and close the vCPU fd. */
void kvm_vcpu_close(struct kvm_vcpu *vcpu);

/*
 * Start one thread per vCPU.  Each names itself "vcpuN" (N = vcpu id)
 * with pthread_setname_np, records its tid, then loops on KVM_RUN counting
 * every return (by exit reason, or intr_errno for EINTR, which just
 * re-enters) and calling handle_exit until it returns KVM_VCPU_STOP.
 * Other KVM_RUN errors die().  kvm_vcpus_join() waits for all of them.
 */
void kvm_vcpus_start(struct kvm_vcpu *vcpus, unsigned int n);
void kvm_vcpus_join(struct kvm_vcpu *vcpus, unsigned int n);

/* New JSON object with the common per-vCPU members: "vcpu_id", "tid",
 * "userspace_exits" (non-zero counts only, by exit reason name, plus
 * "ERRNO_EINTR") and "kvm_run_calls".  The arch adds scenario figures. */
json_t *kvm_vcpu_json(const struct kvm_vcpu *vcpu);

/* json_object_set_new() that dies on allocation failure. */
void json_set(json_t *obj, const char *key, json_t *value);

/* json_set() of an unsigned figure. */
void json_set_uint(json_t *obj, const char *key, uint64_t value);

/* json_object() that dies on allocation failure. */
json_t *json_new_object(void);

/*
 * Timer scenario: call once per VM when the guest timers of all its vCPUs
 * run.  kvmload prints KVMLOAD-TIMER-START on stderr when every VM has
 * called it.
 */
void kvmload_timer_started(void);
/* Set by kvmload.c in each VM child: where kvmload_timer_started() writes. */
void kvmload_set_timer_notify_fd(int fd);

#endif /* KVMLOAD_KVM_UTIL_H */
