/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interactive face of `kvmwatch top` on a terminal (ncurses): the
 * report scrolls, keys change the interval and the counting mode, and
 * resizing redraws. Batch mode (-b), JSON and pipes never come here.
 */
#ifndef KVMWATCH_TUI_H
#define KVMWATCH_TUI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tui_event {
	TUI_TICK,		/* the deadline came */
	TUI_QUIT,		/* q, or SIGINT/SIGTERM */
	TUI_REFRESH,		/* space: report now */
	TUI_FASTER,		/* -: halve the interval */
	TUI_SLOWER,		/* +: double it */
	TUI_TOGGLE_CUMULATIVE,	/* C */
	TUI_FILTER,		/* f: a regex of reasons and detectors */
	TUI_PID,		/* p: one VMM's VMs */
	TUI_GUEST,		/* g: VMs by name */
	TUI_CLEAR,		/* c: every filter off (kvm_stat's c) */
	TUI_SORT_NEXT,		/* o, >: the next sort column */
	TUI_SORT_PREV,		/* < */
	TUI_DRILL,		/* x, Enter: one VM in full */
	TUI_BACK,		/* b, Backspace: out of it */
	TUI_RESET,		/* r: count from now */
	TUI_INTERVAL,		/* s: set the interval */
};

/* 0, or -ENOTTY when the terminal cannot be driven (TERM unknown). */
int tui_start(void);
/* Replace the report shown (text, lines split at '\n'); status is the
 * bottom line. The scroll position is kept. */
void tui_show(const char *text, size_t len, const char *status);
/* Handle keys until deadline_ns (CLOCK_MONOTONIC) or an event; a pending
 * signal of stop ends it as TUI_QUIT. */
enum tui_event tui_wait(uint64_t deadline_ns, const sigset_t *stop);
void tui_end(void);
/* Ask on the bottom line; the answer into buf. False when the user gave
 * none (Enter on nothing, or Escape). */
bool tui_prompt(const char *question, char *buf, size_t len);
/* The terminal's width in columns. */
int tui_columns(void);

#endif
