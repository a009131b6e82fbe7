// SPDX-License-Identifier: GPL-2.0
/* kvmwatch export --listen: GET /metrics over HTTP (libevent's evhttp),
 * reading the detectors again when the last read is older than
 * EXPORT_FRESH_SEC, and every interval. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "export.h"
#include "core/kvmwatch.h"

/* "127.0.0.1:9477", "[::1]:9477", ":9477", "localhost:9477". Numeric only
 * (and localhost): a static binary cannot use the system's resolver. */
static int parse_listen(const char *arg, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	const char *colon = strrchr(arg, ':');
	char host[64];
	unsigned long port;
	size_t hlen;

	if (!colon || !parse_uint(colon + 1, 65535, &port))
		return -EINVAL;
	hlen = colon - arg;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ?
			0 : -EINVAL;
	}
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	*len = sizeof(*in);
	if (!host[0]) {
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct exporter *x = arg;
	struct evbuffer *body;
	char *text;
	size_t len;

	if (export_now() - x->last_read >= EXPORT_FRESH_SEC && export_read(x)) {
		evhttp_send_error(req, HTTP_INTERNAL, "reading the detectors failed");
		event_base_loopbreak(x->base);
		return;
	}
	if (export_render(x, false, &text, &len)) {
		evhttp_send_error(req, HTTP_INTERNAL, "rendering failed");
		return;
	}
	x->store.scrapes++;
	body = evbuffer_new();
	if (!body || evbuffer_add(body, text, len)) {
		free(text);
		if (body)
			evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();

	(void)arg;
	if (body)
		evbuffer_add_printf(body, "kvmwatch exporter: the metrics are at /metrics\n");
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
	if (body)
		evbuffer_free(body);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct exporter *x = arg;

	(void)fd;
	(void)what;
	if (export_read(x) ||
	    (x->o->count && x->store.reads >= x->o->count))
		event_base_loopbreak(x->base);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static int listen_socket(const char *arg, char *shown, size_t shown_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[INET6_ADDRSTRLEN];
	int fd, one = 1;

	if (parse_listen(arg, &ss, &len)) {
		kw_warn("export: --listen takes ADDR:PORT with a numeric address (127.0.0.1:9477, [::1]:9477, :9477), not '%s'",
			arg);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		int err = -errno;

		kw_warn("export: cannot listen on %s: %s", arg, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(shown, shown_len, "[%s]:%u", host,
			 ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(shown, shown_len, "%s:%u", host, ntohs(in->sin_port));
	}
	return fd;
}

int export_serve_http(struct exporter *x)
{
	struct event *tick = NULL, *sigint = NULL, *sigterm = NULL;
	struct timeval tv;
	struct evhttp *http = NULL;
	char shown[96];
	int fd, rc = KW_EXIT_RUNTIME;

	fd = listen_socket(x->o->listen, shown, sizeof(shown));
	if (fd < 0)
		return fd == -EINVAL ? KW_EXIT_USAGE : KW_EXIT_RUNTIME;
	x->base = event_base_new();
	if (x->base)
		http = evhttp_new(x->base);
	if (!http || evhttp_accept_socket(http, fd)) {
		kw_warn("export: cannot start the HTTP server");
		close(fd);
		goto out;
	}
	/* Scrapes are small GETs: bound what a client can make us hold. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, 10);
	evhttp_set_max_headers_size(http, 16384);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_cb(http, "/metrics", on_metrics, x);
	evhttp_set_gencb(http, on_other, x);
	tick = event_new(x->base, -1, EV_PERSIST, on_tick, x);
	sigint = evsignal_new(x->base, SIGINT, on_signal, x->base);
	sigterm = evsignal_new(x->base, SIGTERM, on_signal, x->base);
	if (!tick || !sigint || !sigterm) {
		kw_warn("export: out of memory");
		goto out;
	}
	tv.tv_sec = (time_t)x->o->interval_sec;
	tv.tv_usec = (suseconds_t)((x->o->interval_sec - tv.tv_sec) * 1e6);
	event_add(tick, &tv);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	fprintf(stderr, "kvmwatch: serving http://%s/metrics\n", shown);
	fflush(stderr);
	event_base_dispatch(x->base);
	rc = x->error ? KW_EXIT_RUNTIME : KW_EXIT_OK;
out:
	if (tick)
		event_free(tick);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (http)
		evhttp_free(http);
	if (x->base)
		event_base_free(x->base);
	return rc;
}
