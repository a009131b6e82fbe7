// SPDX-License-Identifier: GPL-2.0
/* kvmwatch top on a terminal: the keys of kvm_stat and top(1). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "top.h"
#include "views/tui.h"

static void clear_filter(struct top_options *o)
{
	if (o->text.reasons)
		regfree(&o->filter_re);
	o->text.reasons = NULL;
	o->filter[0] = '\0';
}

/* A filter typed at f: of exit reasons and detector names. */
static void set_filter(struct top_options *o, const char *regex, char *note,
		       size_t len)
{
	regex_t re;
	int err;

	if (!*regex) {
		clear_filter(o);
		return;
	}
	err = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB | REG_ICASE);
	if (err) {
		regerror(err, &re, note, len);
		return;
	}
	clear_filter(o);
	o->filter_re = re;
	o->text.reasons = &o->filter_re;
	snprintf(o->filter, sizeof(o->filter), "%s", regex);
}

/* The VM x names: a pid or a name shown, or the busiest one. */
static uint32_t vm_to_drill(const struct runner *r, const char *answer)
{
	const struct exits_view *ev = runner_view(r, DET_EXITS);
	unsigned long pid;
	size_t i;

	if (!ev || !ev->top.nvms)
		return 0;
	if (!*answer)
		return ev->top.vms[0].pid;
	if (parse_uint(answer, UINT32_MAX, &pid))
		return pid;
	for (i = 0; i < ev->top.nvms; i++) {
		const struct vm_view *vm = &ev->top.vms[i];

		if (!fnmatch(answer, vm_name_or(vm->pid, vm->vm_start,
						vm->comm), 0))
			return vm->pid;
	}
	return 0;
}

static void set_view(struct runner *r, uint32_t pid, const char *guest)
{
	char copy[VM_NAME_LEN];

	/* guest may be the runner's own buffer. */
	snprintf(copy, sizeof(copy), "%.*s", VM_NAME_LEN - 1, guest ? guest : "");
	runner_set_view_filter(r, pid, copy);
}

/* What a key asks for; note says what went wrong, for the status line. */
static void on_key(struct top_options *o, struct runner *r,
		   enum tui_event event, char *note, size_t len)
{
	unsigned long number;
	char answer[128];
	double sec;
	uint32_t pid;

	switch (event) {
	case TUI_FASTER:
		if (o->interval_sec > 0.2)
			o->interval_sec /= 2;
		break;
	case TUI_SLOWER:
		if (o->interval_sec < 60)
			o->interval_sec *= 2;
		break;
	case TUI_TOGGLE_CUMULATIVE:
		o->cumulative = !o->cumulative;
		break;
	case TUI_INTERVAL:
		if (!tui_prompt("interval in seconds:", answer, sizeof(answer)))
			break;
		if (parse_seconds(answer, &sec) && sec >= 0.1 && sec <= 3600)
			o->interval_sec = sec;
		else
			snprintf(note, len, "not 0.1 to 3600 seconds: '%.40s'",
				 answer);
		break;
	case TUI_FILTER:
		tui_prompt("filter, a regex of reasons and detectors (Enter: none):",
			   answer, sizeof(answer));
		set_filter(o, answer, note, len);
		break;
	case TUI_PID:
		tui_prompt("pid of the VMM (Enter: every one):", answer,
			   sizeof(answer));
		number = 0;
		if (*answer && !parse_uint(answer, UINT32_MAX, &number)) {
			snprintf(note, len, "not a pid: '%.40s'", answer);
			break;
		}
		pid = number;
		o->drilled = 0;
		o->text.detail = false;
		set_view(r, pid, r->guest);
		break;
	case TUI_GUEST:
		tui_prompt("guest name or shell pattern (Enter: every VM):",
			   answer, sizeof(answer));
		o->drilled = 0;
		o->text.detail = false;
		set_view(r, r->view_pid, answer);
		break;
	case TUI_CLEAR:
		clear_filter(o);
		o->drilled = 0;
		o->text.detail = false;
		set_view(r, 0, NULL);
		break;
	case TUI_SORT_NEXT:
		o->text.sort = (o->text.sort + 1) % EXITS_SORT_COUNT;
		break;
	case TUI_SORT_PREV:
		o->text.sort = (o->text.sort + EXITS_SORT_COUNT - 1) %
			EXITS_SORT_COUNT;
		break;
	case TUI_DRILL:
		if (o->drilled)
			break;
		tui_prompt("VM, a pid or a name (Enter: the busiest):", answer,
			   sizeof(answer));
		pid = vm_to_drill(r, answer);
		if (!pid) {
			snprintf(note, len, "no VM %s%.40s%s in the last report",
				 *answer ? "'" : "", answer, *answer ? "'" : "");
			break;
		}
		o->pid_before = r->view_pid;
		snprintf(o->guest_before, sizeof(o->guest_before), "%s",
			 r->guest ? r->guest : "");
		o->drilled = pid;
		o->text.detail = true;
		set_view(r, pid, NULL);
		break;
	case TUI_BACK:
		if (!o->drilled)
			break;
		o->drilled = 0;
		o->text.detail = false;
		set_view(r, o->pid_before, o->guest_before);
		break;
	case TUI_RESET:
		runner_reset(r);
		break;
	default:
		break;
	}
}

/* " every 1 s, per interval, by exits | VM 1234 | f npf | ... keys" */
static void status_line(char *buf, size_t len, const struct top_options *o,
			const struct runner *r, const char *note)
{
	size_t used;

	used = snprintf(buf, len, " %s%severy %.2g s, %s, by %s", note,
			*note ? " | " : "", o->interval_sec,
			o->cumulative ? "since start" : "per interval",
			exits_sort_name(o->text.sort));
	if (o->drilled && used < len)
		used += snprintf(buf + used, len - used, " | VM %u (b back)",
				 o->drilled);
	else if (r->view_pid && used < len)
		used += snprintf(buf + used, len - used, " | pid %u",
				 r->view_pid);
	if (!o->drilled && r->guest && used < len)
		used += snprintf(buf + used, len - used, " | guest %s",
				 r->guest);
	if (o->filter[0] && used < len)
		used += snprintf(buf + used, len - used, " | f %s", o->filter);
	if (used < len)
		snprintf(buf + used, len - used, " | q quit  h help");
}

/* The interactive view: report every interval until q or a signal. */
int run_tui(struct top_options *o, struct runner *r)
{
	uint64_t next_ns = r->start_ns;
	enum tui_event event = TUI_TICK;
	unsigned long reports = 0;
	char status[256], note[128] = "";
	size_t len;
	char *text;
	FILE *out;
	int err;

	if (tui_start()) {
		kw_warn("top: cannot drive this terminal (TERM=%s): use -b",
			getenv("TERM") ? getenv("TERM") : "unset");
		return KW_EXIT_USAGE;
	}
	snprintf(status, sizeof(status),
		 " first report in %.2g s | q quit  space now  h help",
		 o->interval_sec);
	tui_show("", 0, status);
	for (;;) {
		next_ns += (uint64_t)(o->interval_sec * 1e9);
		event = tui_wait(next_ns, &stop_signals);
		if (event == TUI_QUIT)
			break;
		/* What went wrong stays shown until the next key. */
		if (event != TUI_TICK)
			note[0] = '\0';
		on_key(o, r, event, note, sizeof(note));
		if (event != TUI_TICK)
			next_ns = monotonic_ns();
		err = runner_read(r, !o->cumulative);
		if (err) {
			tui_end();
			kw_warn("reading the BPF maps failed: %s", strerror(-err));
			return KW_EXIT_RUNTIME;
		}
		kw_columns = tui_columns();
		out = open_memstream(&text, &len);
		if (!out || emit_report(o, r, out)) {
			if (out)
				fclose(out);
			tui_end();
			kw_warn("top: out of memory");
			return KW_EXIT_RUNTIME;
		}
		fclose(out);
		status_line(status, sizeof(status), o, r, note);
		tui_show(text, len, status);
		free(text);
		if (o->iterations && ++reports >= o->iterations)
			break;
	}
	tui_end();
	clear_filter(o);
	return KW_EXIT_OK;
}
