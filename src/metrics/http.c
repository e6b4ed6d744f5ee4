/* http.c: the metrics endpoint's HTTP side — listeners, libmicrohttpd on
 * the libev loop, /metrics and /healthz (see metrics.h).
 *
 * libmicrohttpd runs with no thread of its own (MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD): its epoll descriptor is watched by an
 * ev_io, MHD_run() is called when it is readable and when the ev_timer
 * set from MHD_get_timeout() fires. MHD calls on_request from MHD_run, so
 * on the loop thread: the collectors read the daemon's state directly.
 * Other paths go to the route another module set (the dashboard); the
 * daemons allow suspend/resume; a route that resumes a connection calls
 * metrics_wake, which runs MHD at the next loop iteration (MHD's ITC does
 * not wake its epoll descriptor in this mode). */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "metrics/metrics_int.h"

#define MAX_LISTENERS  METRICS_MAX_LISTENERS
#define MAX_CONNS      64  /* per listener */
#define CONN_TIMEOUT_S 10  /* an idle or slow connection is closed */
#define HEARTBEAT_S    1.0 /* /healthz: the loop's heartbeat */
#define HEARTBEAT_LATE 5.0 /* ... 503 when older than this */

struct listener {
    int fd;
    char name[80]; /* as given, for logs */
};

struct metrics_listeners {
    struct listener v[MAX_LISTENERS];
    size_t n;
};

/* ---- listeners ---- */

void metrics_listeners_free(struct metrics_listeners *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].fd >= 0)
            close(l->v[i].fd);
    free(l);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address, IPv4 and IPv6). */
static int split(const char *a, char *host, size_t hl, char *port, size_t pl, char *err,
                 size_t errlen)
{
    const char *colon;
    if (a[0] == '[') {
        const char *close_ = strchr(a, ']');
        if (!close_ || close_[1] != ':') {
            snprintf(err, errlen, "\"%s\": an IPv6 address is written [ADDR]:PORT, e.g. [::1]:9091",
                     a);
            return -EINVAL;
        }
        snprintf(host, hl, "%.*s", (int)(close_ - a - 1), a + 1);
        colon = close_ + 1;
    } else {
        colon = strrchr(a, ':');
        if (!colon || memchr(a, ':', (size_t)(colon - a))) {
            snprintf(err, errlen, "\"%s\": give HOST:PORT, e.g. 127.0.0.1:9091 (IPv6: [::1]:9091)",
                     a);
            return -EINVAL;
        }
        snprintf(host, hl, "%.*s", (int)(colon - a), a);
    }
    const char *p = colon + 1;
    char *end = NULL;
    long n = strtol(p, &end, 10);
    if (!*p || *end || n < 0 || n > 65535 || strspn(p, "0123456789") != strlen(p)) {
        snprintf(err, errlen, "\"%s\": port \"%s\" is not a number from 0 to 65535", a, p);
        return -EINVAL;
    }
    snprintf(port, pl, "%ld", n);
    return 0;
}

static int bind_one(const char *a, int *out, char *err, size_t errlen)
{
    char host[64], port[8];
    int rc = split(a, host, sizeof(host), port, sizeof(port), err, errlen);
    if (rc < 0)
        return rc;
    bool any = !*host;
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    /* numeric only: no name lookup (and no wait on DNS) at start */
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST,
                              .ai_family = any ? AF_INET6 : AF_UNSPEC };
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(any ? NULL : host, port, &hints, &ai);
    if (g == EAI_FAMILY || (g == 0 && any && !ai)) { /* no IPv6: every IPv4 address */
        hints.ai_family = AF_INET;
        g = getaddrinfo(NULL, port, &hints, &ai);
    }
    if (g != 0) {
        snprintf(err, errlen, "\"%s\": \"%s\" is not an IP address (%s): give e.g. 127.0.0.1:9091",
                 a, host, gai_strerror(g));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && any && ai->ai_family == AF_INET6) { /* IPv6 disabled: IPv4 */
        freeaddrinfo(ai);
        hints.ai_family = AF_INET;
        if (getaddrinfo(NULL, port, &hints, &ai) != 0 || !ai) {
            snprintf(err, errlen, "\"%s\": no address to listen on", a);
            return -EINVAL;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "\"%s\": socket: %s", a, strerror(errno));
        freeaddrinfo(ai);
        return rc;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) /* ":PORT" takes IPv4 too; "[::]" only IPv6 */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        rc = -errno;
        snprintf(err, errlen, "\"%s\": %s%s", a, strerror(errno),
                 errno == EADDRINUSE      ? " (another process listens there: give another port, "
                                            "or \"\" for no metrics endpoint)"
                 : errno == EADDRNOTAVAIL ? " (not an address of this host)"
                 : errno == EACCES        ? " (a port below 1024 needs CAP_NET_BIND_SERVICE)"
                                          : "");
        close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    *out = fd;
    return 0;
}

int metrics_listen(const char *addrs, struct metrics_listeners **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!addrs || !*addrs)
        return 0;
    size_t alen = strlen(addrs);
    if (addrs[alen - 1] == ',') {
        snprintf(err, errlen, "\"%s\": an empty address in the list: give HOST:PORT[,HOST:PORT...]",
                 addrs);
        return -EINVAL;
    }
    struct metrics_listeners *l = mem_calloc(1, sizeof(*l));
    const char *p = addrs;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (l->n == MAX_LISTENERS || n == 0 || n >= sizeof(l->v[0].name)) {
            snprintf(err, errlen, "\"%s\": %s", addrs,
                     n == 0 ? "an empty address in the list: give HOST:PORT[,HOST:PORT...]"
                     : n >= sizeof(l->v[0].name) ? "an address is too long"
                                                 : "more than 16 addresses");
            metrics_listeners_free(l);
            return -EINVAL;
        }
        struct listener *li = &l->v[l->n];
        snprintf(li->name, sizeof(li->name), "%.*s", (int)n, p);
        li->fd = -1;
        int rc = bind_one(li->name, &li->fd, err, errlen);
        if (rc < 0) {
            metrics_listeners_free(l);
            return rc;
        }
        l->n++;
        p += n;
        if (*p == ',')
            p++;
    }
    *out = l;
    return 0;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *ctype,
                             char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *b = mem_strdup(text);
    return reply(conn, status, "text/plain; charset=utf-8", b, strlen(b));
}

static enum MHD_Result healthz(struct metrics *m, struct MHD_Connection *conn)
{
    double age = ev_time() - m->beat;
    if (age <= HEARTBEAT_LATE)
        return reply_text(conn, MHD_HTTP_OK, "ok\n");
    char msg[128];
    snprintf(msg, sizeof(msg), "maglevd's event loop stalled: its last heartbeat was %.1f s ago\n",
             age);
    return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
}

/* The body of a scrape, chunked: the text of one slice at a time, at
 * most one slice per MHD_run (so per loop iteration). */
static ssize_t read_scrape(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct metrics_scrape *s = cls;
    if (s->off == s->w.len) {
        if (s->done)
            return s->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        if (!s->m->slice_ok) { /* MHD asks again at its next run */
            s->m->want_slice = true;
            return 0;
        }
        s->m->slice_ok = false;
        s->w.len = s->off = 0; /* the text handed out is dropped */
        metrics_scrape_slice(s, METRICS_SLICE_US);
        if (s->failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->off == s->w.len)
            return s->done ? MHD_CONTENT_READER_END_OF_STREAM : 0;
    }
    size_t n = s->w.len - s->off < max ? s->w.len - s->off : max;
    memcpy(buf, s->w.buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void free_scrape(void *cls)
{
    struct metrics_scrape *s = cls;
    metrics_scrape_clear(s);
    free(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    static int first;
    struct metrics *m = cls;
    if (!*con_cls) { /* headers only: answer on the next call */
        *con_cls = &first;
        return MHD_YES;
    }
    if (*upload_data_size) { /* a body: not wanted, dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
    if (!strcmp(url, "/healthz"))
        return healthz(m, conn);
    if (strcmp(url, "/metrics")) {
        int r =
            m->route.handle ? m->route.handle(m->route.ctx, conn, url, method) : METRICS_ROUTE_NONE;
        if (r != METRICS_ROUTE_NONE)
            return (enum MHD_Result)r;
        return reply_text(conn, MHD_HTTP_NOT_FOUND,
                          m->route.handle ? "not found: try /, /metrics or /healthz\n"
                                          : "not found: try /metrics or /healthz\n");
    }
    bool om = mx_accepts_openmetrics(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    struct metrics_scrape *sc = mem_calloc(1, sizeof(*sc));
    metrics_scrape_init(m, sc, om);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024,
                                                               read_scrape, sc, free_scrape);
    if (!r) {
        free_scrape(sc);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            om ? MX_CONTENT_TYPE_OM : MX_CONTENT_TYPE_TEXT);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Runs MHD's work and sets the timer from what MHD wants next. */
static void run(struct metrics_server *s)
{
    int64_t t0 = clock_mono_us();
    s->m->slice_ok = true;
    s->m->want_slice = false;
    MHD_run(s->d);
    s->m->loop_s += (double)(clock_mono_us() - t0) / 1e6;
    MHD_UNSIGNED_LONG_LONG to = 0;
    ev_timer_stop(s->m->loop, &s->timer);
    if (s->m->want_slice) { /* a scrape's next slice: at the next iteration */
        ev_timer_set(&s->timer, 0., 0.);
        ev_timer_start(s->m->loop, &s->timer);
    } else if (MHD_get_timeout(s->d, &to) == MHD_YES) {
        ev_timer_set(&s->timer, (double)to / 1000., 0.);
        ev_timer_start(s->m->loop, &s->timer);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    run(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    run(w->data);
}

static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct metrics *m = w->data;
    m->beat = ev_time();
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[256];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = 0;
    log_debug("metrics-http", LOG_STR("message", buf));
}

static int serve_one(struct metrics *m, struct listener *li, char *err, size_t errlen)
{
    struct metrics_server *s = &m->srv[m->n_srv];
    s->m = m;
    snprintf(s->name, sizeof(s->name), "%s", li->name);
    s->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                            NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, li->fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "\"%s\": libmicrohttpd could not start", li->name);
        return -EIO;
    }
    li->fd = -1; /* MHD's now: MHD_stop_daemon closes it */
    const union MHD_DaemonInfo *in = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    ev_io_init(&s->io, on_io, in->epoll_fd, EV_READ);
    s->io.data = s;
    ev_io_start(m->loop, &s->io);
    ev_timer_init(&s->timer, on_timer, 0., 0.);
    s->timer.data = s;
    m->n_srv++;
    log_info("metrics-listening", LOG_STR("addr", li->name));
    return 0;
}

int metrics_serve(struct metrics *m, struct metrics_listeners *l, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; l && i < l->n && rc == 0; i++)
        rc = serve_one(m, &l->v[i], err, errlen);
    metrics_listeners_free(l);
    if (rc == 0 && m->n_srv && !ev_is_active(&m->heartbeat)) {
        ev_timer_init(&m->heartbeat, on_heartbeat, HEARTBEAT_S, HEARTBEAT_S);
        m->heartbeat.data = m;
        ev_timer_start(m->loop, &m->heartbeat);
        ev_unref(m->loop); /* the heartbeat alone does not keep the loop running */
    }
    return rc;
}

void metrics_set_route(struct metrics *m, const struct metrics_route *r)
{
    m->route = *r;
}

void metrics_wake(struct metrics *m)
{
    for (size_t i = 0; i < m->n_srv; i++) {
        struct metrics_server *s = &m->srv[i];
        ev_timer_stop(m->loop, &s->timer);
        ev_timer_set(&s->timer, 0., 0.);
        ev_timer_start(m->loop, &s->timer);
    }
}

void metrics_stop(struct metrics *m)
{
    if (!m)
        return;
    if (m->route.stop) /* resumes what it suspended: MHD_stop_daemon needs that */
        m->route.stop(m->route.ctx);
    if (ev_is_active(&m->heartbeat)) {
        ev_ref(m->loop);
        ev_timer_stop(m->loop, &m->heartbeat);
    }
    for (size_t i = 0; i < m->n_srv; i++) {
        ev_io_stop(m->loop, &m->srv[i].io);
        ev_timer_stop(m->loop, &m->srv[i].timer);
        MHD_stop_daemon(m->srv[i].d);
    }
    free(m->v);
    free(m);
}
