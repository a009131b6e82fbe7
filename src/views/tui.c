// SPDX-License-Identifier: GPL-2.0
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/kvmwatch.h"
#include "tui.h"

static struct {
	char *text;		/* the report, owned */
	size_t len;
	char status[160];
	int scroll;		/* first report line shown */
	bool active;
	bool help;		/* the keys, until the next key */
} screen;

static const char help_text[] =
	"kvmwatch top: keys (kvm_stat's, where it has one)\n"
	"\n"
	"  q              quit\n"
	"  space          report now\n"
	"  s              set the interval (seconds)   + / -  double / halve it\n"
	"  C              per-interval figures, or since start\n"
	"  r              reset: count from now\n"
	"  f              filter: a regex of exit reasons and detector names\n"
	"  p              only one VMM's VMs (a pid)\n"
	"  g              only the VMs so named (a name or a shell pattern)\n"
	"  c              clear every filter\n"
	"  o  >  <        sort by the next / previous column\n"
	"  x  Enter       one VM in full: its vCPUs, reasons, MMIO, timers\n"
	"  b  Backspace   back to every VM\n"
	"  arrows, j k    scroll a line     PgUp PgDn  a page    Home  the top\n"
	"  h ?            this help\n"
	"\n"
	"Any key returns to the report. kvmwatch(8) describes every column.\n";

int tui_start(void)
{
	SCREEN *term;

	/* newterm, unlike initscr, returns NULL instead of exiting when the
	 * terminal is unknown. */
	term = newterm(NULL, stdout, stdin);
	if (!term)
		return -ENOTTY;
	set_term(term);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	screen.active = true;
	return 0;
}

static int count_lines(const char *text, size_t len)
{
	int lines = 0;
	size_t i;

	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	return lines + (len && text[len - 1] != '\n');
}

static void draw(void)
{
	int rows = LINES - 1, total, row = 0, line = 0;
	const char *p = screen.text, *end = screen.text + screen.len;

	if (screen.help) {
		p = help_text;
		end = help_text + sizeof(help_text) - 1;
	}

	total = count_lines(p, end - p);
	if (screen.scroll > total - rows)
		screen.scroll = total - rows;
	if (screen.scroll < 0)
		screen.scroll = 0;
	erase();
	while (p && p < end && row < rows) {
		const char *nl = memchr(p, '\n', end - p);
		int n = nl ? nl - p : end - p;

		if (line++ >= (screen.help ? 0 : screen.scroll))
			mvaddnstr(row++, 0, p, n < COLS ? n : COLS);
		p = nl ? nl + 1 : end;
	}
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	mvaddnstr(LINES - 1, 0, screen.status, COLS);
	attroff(A_REVERSE);
	refresh();
}

void tui_show(const char *text, size_t len, const char *status)
{
	char *copy = malloc(len + 1);

	if (copy) {
		memcpy(copy, text, len);
		copy[len] = '\0';
		free(screen.text);
		screen.text = copy;
		screen.len = len;
	}
	snprintf(screen.status, sizeof(screen.status), "%s", status);
	draw();
}

static bool stop_pending(const sigset_t *stop)
{
	struct timespec zero = { 0, 0 };

	return sigtimedwait(stop, NULL, &zero) > 0;
}

/* Terminals send Enter as CR or LF, Backspace as DEL or ^H. */
static bool is_enter(int key)
{
	return key == '\n' || key == '\r' || key == KEY_ENTER;
}

static bool is_backspace(int key)
{
	return key == KEY_BACKSPACE || key == 127 || key == 8;
}

enum tui_event tui_wait(uint64_t deadline_ns, const sigset_t *stop)
{
	uint64_t now;
	int key, page = LINES > 2 ? LINES - 2 : 1;

	while ((now = monotonic_ns()) < deadline_ns) {
		if (stop_pending(stop))
			return TUI_QUIT;
		/* Short waits keep signals and the deadline prompt. */
		timeout((deadline_ns - now) / 1000000 < 200 ?
			(int)((deadline_ns - now) / 1000000) : 200);
		key = getch();
		if (key != ERR && key != KEY_RESIZE && screen.help) {
			screen.help = false;
			draw();
			continue;
		}
		if (is_enter(key))
			return TUI_DRILL;
		if (is_backspace(key))
			return TUI_BACK;
		switch (key) {
		case ERR:
			break;
		case 'h':
		case '?':
			screen.help = true;
			draw();
			break;
		case 'q':
		case 'Q':
			return TUI_QUIT;
		case ' ':
			return TUI_REFRESH;
		case '+':
			return TUI_SLOWER;
		case '-':
			return TUI_FASTER;
		case 'C':
			return TUI_TOGGLE_CUMULATIVE;
		case 'c':
			return TUI_CLEAR;
		case 'f':
			return TUI_FILTER;
		case 'p':
			return TUI_PID;
		case 'g':
			return TUI_GUEST;
		case 'o':
		case '>':
			return TUI_SORT_NEXT;
		case '<':
			return TUI_SORT_PREV;
		case 'x':
			return TUI_DRILL;
		case 'b':
			return TUI_BACK;
		case 'r':
			return TUI_RESET;
		case 's':
			return TUI_INTERVAL;
		case KEY_UP:
		case 'k':
			screen.scroll--;
			draw();
			break;
		case KEY_DOWN:
		case 'j':
			screen.scroll++;
			draw();
			break;
		case KEY_PPAGE:
			screen.scroll -= page;
			draw();
			break;
		case KEY_NPAGE:
			screen.scroll += page;
			draw();
			break;
		case KEY_HOME:
			screen.scroll = 0;
			draw();
			break;
		case KEY_RESIZE:
			draw();
			break;
		}
	}
	return TUI_TICK;
}

bool tui_prompt(const char *question, char *buf, size_t len)
{
	size_t n = 0;
	int key;

	buf[0] = '\0';
	timeout(-1);
	curs_set(1);
	for (;;) {
		attron(A_REVERSE);
		mvhline(LINES - 1, 0, ' ', COLS);
		mvprintw(LINES - 1, 0, " %s %s", question, buf);
		attroff(A_REVERSE);
		refresh();
		key = getch();
		if (is_enter(key))
			break;
		if (key == 27) {	/* Escape */
			n = 0;
			buf[0] = '\0';
			break;
		}
		if (is_backspace(key) && n) {
			buf[--n] = '\0';
			continue;
		}
		if (key >= 0x20 && key < 0x7f && n + 1 < len) {
			buf[n++] = key;
			buf[n] = '\0';
		}
	}
	curs_set(0);
	draw();
	return n > 0;
}

int tui_columns(void)
{
	return COLS;
}

void tui_end(void)
{
	if (!screen.active)
		return;
	endwin();
	free(screen.text);
	memset(&screen, 0, sizeof(screen));
}
