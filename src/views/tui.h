/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interactive face of `kvmwatch top` on a terminal (ncurses): the
 * report scrolls, keys change the interval and the counting mode, and
 * resizing redraws. Batch mode (-b), JSON and pipes never come here.
 */
#ifndef KVMWATCH_TUI_H
#define KVMWATCH_TUI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum tui_event {
	TUI_TICK,		/* the deadline came */
	TUI_QUIT,		/* q, or SIGINT/SIGTERM */
	TUI_REFRESH,		/* space: report now */
	TUI_FASTER,		/* -: halve the interval */
	TUI_SLOWER,		/* +: double it */
	TUI_TOGGLE_CUMULATIVE,	/* c */
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

#endif
