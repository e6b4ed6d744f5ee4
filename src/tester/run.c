/* run.c: maglevt's I/O. libcurl's multi-socket API on a libev loop, as
 * src/health/probe_http.c does it: curl says which sockets to watch (one
 * ev_io each) and when to wake it (one ev_timer); finished transfers are
 * read from curl_multi_info_read() after curl returns, never inside a curl
 * callback.
 *
 * A tick every --interval starts a round: one request per target, each an
 * easy handle of its own on a fresh connection (FRESH_CONNECT and
 * FORBID_REUSE, "Connection: close"), so every request is a new TCP flow
 * that the load balancer hashes anew: the kernel gives each a new source
 * port, or --spread binds them round-robin to N fixed ports. Results go to
 * the tally (tally.c); its timeline events are printed as they come when
 * the live view is a pipe, and the view is redrawn once a second when it
 * is a terminal. */
#include <curl/curl.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/mem.h"
#include "common/version.h"
#include "tester/tester.h"

#define BODY_MAX (64 * 1024) /* body bytes kept for --body-regex */

struct sock_watch {
    ev_io io; /* first: the callback gets &io */
    struct run *run;
    curl_socket_t fd;
    struct sock_watch *prev, *next;
};

struct req {
    struct run *run;
    CURL *easy;
    size_t target;
    uint64_t round;
    char backend[TESTER_NAME_MAX + 1];
    bool have_backend;
    char *body;
    size_t body_len;
    char errbuf[CURL_ERROR_SIZE];
    char *url;
    struct req *prev, *next;
};

struct run {
    const struct tester_opts *o;
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer curl_timer, tick, view, deadline;
    ev_signal sigint, sigterm;
    struct sock_watch *watches;
    struct req *reqs; /* in flight */
    struct tester_tally tally;
    pcre2_code *re;
    struct curl_slist *headers;
    char user_agent[64];
    uint64_t round, seq;
    int64_t start_us, end_us;
    bool stopping, aborted;
    int view_fd; /* -1: no live view */
    bool tty;
};

static int64_t now_rel(const struct run *r)
{
    return clock_mono_us() - r->start_us;
}

/* ---- output ------------------------------------------------------------------- */

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Timeline events as lines on a pipe; a terminal shows them in the view. */
static void drain_events(struct run *r)
{
    struct tester_event e;
    struct strbuf sb = STRBUF_INIT;
    while (tester_tally_event(&r->tally, &e)) {
        if (r->view_fd < 0 || r->tty)
            continue;
        tester_event_line(&sb, &e);
        strbuf_addc(&sb, '\n');
    }
    if (sb.len)
        write_all(r->view_fd, sb.buf, sb.len);
    strbuf_free(&sb);
}

/* Redraws in place: home, each line cleared to its end, the rest cleared. */
static void draw(struct run *r)
{
    struct strbuf screen = STRBUF_INIT, sb = STRBUF_INIT;
    if (r->tty) {
        tester_live_screen(&screen, &r->tally, r->o, now_rel(r));
        strbuf_adds(&sb, "\033[H");
        for (const char *p = strbuf_str(&screen); *p; p++) {
            if (*p == '\n')
                strbuf_adds(&sb, "\033[K");
            strbuf_addc(&sb, *p);
        }
        strbuf_adds(&sb, "\033[J");
    } else {
        tester_live_line(&sb, &r->tally, now_rel(r));
        strbuf_addc(&sb, '\n');
    }
    write_all(r->view_fd, sb.buf, sb.len);
    strbuf_free(&screen);
    strbuf_free(&sb);
}

static void on_view(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    draw(w->data);
}

/* ---- curl <-> libev ----------------------------------------------------------- */

static void finish_done(struct run *r);

static void sock_watch_free(struct run *r, struct sock_watch *sw)
{
    ev_io_stop(r->loop, &sw->io);
    if (sw->prev)
        sw->prev->next = sw->next;
    else
        r->watches = sw->next;
    if (sw->next)
        sw->next->prev = sw->prev;
    free(sw);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sock_watch *sw = (struct sock_watch *)w;
    struct run *r = sw->run;
    int action =
        ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(r->multi, sw->fd, action, &running); /* may free sw */
    finish_done(r);
}

static void on_curl_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct run *r = w->data;
    int running;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    finish_done(r);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct run *r = userp;
    struct sock_watch *sw = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sw) {
            curl_multi_assign(r->multi, s, NULL);
            sock_watch_free(r, sw);
        }
        return 0;
    }
    int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!sw) {
        sw = mem_calloc(1, sizeof(*sw));
        sw->run = r;
        sw->fd = s;
        sw->next = r->watches;
        if (sw->next)
            sw->next->prev = sw;
        r->watches = sw;
        ev_io_init(&sw->io, on_io, s, events);
        curl_multi_assign(r->multi, s, sw);
    } else {
        ev_io_stop(r->loop, &sw->io);
        ev_io_set(&sw->io, s, events);
    }
    if (events)
        ev_io_start(r->loop, &sw->io);
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct run *r = userp;
    ev_timer_stop(r->loop, &r->curl_timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&r->curl_timer, (double)timeout_ms / 1000., 0.);
        ev_timer_start(r->loop, &r->curl_timer);
    }
    return 0;
}

/* ---- one request -------------------------------------------------------------- */

/* A new response starts at its status line (after a 1xx, say): only the
 * final one's header counts. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct req *q = userp;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
        q->have_backend = false;
    else if (q->run->o->header && !q->have_backend)
        q->have_backend = tester_header_value(data, n, q->run->o->header, q->backend);
    return n;
}

/* The body is read to its end (latency is to the last byte); only the
 * first BODY_MAX bytes are kept, for --body-regex. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct req *q = userp;
    size_t n = size * nmemb;
    if (!q->run->re || q->body_len >= BODY_MAX)
        return n;
    size_t take = BODY_MAX - q->body_len < n ? BODY_MAX - q->body_len : n;
    if (!q->body)
        q->body = mem_alloc(BODY_MAX);
    memcpy(q->body + q->body_len, data, take);
    q->body_len += take;
    return n;
}

/* --spread binds source ports that a connection just closed may still
 * hold in TIME_WAIT. */
static int on_sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)clientp;
    (void)purpose;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    return CURL_SOCKOPT_OK;
}

static void req_free(struct run *r, struct req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        r->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    if (q->easy) {
        curl_multi_remove_handle(r->multi, q->easy);
        curl_easy_cleanup(q->easy);
    }
    free(q->body);
    free(q->url);
    free(q);
}

static void req_done(struct run *r, struct req *q, CURLcode rc)
{
    long status = 0, os_errno = 0;
    curl_off_t total = 0;
    curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(q->easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(q->easy, CURLINFO_TOTAL_TIME_T, &total);
    struct tester_sample s = {
        .target = q->target,
        .round = q->round,
        .outcome = tester_classify((int)rc, os_errno, status),
        .latency_us = (int64_t)total,
    };
    if (s.outcome == TO_OK || s.outcome == TO_HTTP_4XX || s.outcome == TO_HTTP_5XX) {
        s.status = status;
        if (r->re)
            q->have_backend = tester_body_match(r->re, q->body, q->body_len, q->backend);
        s.backend = q->have_backend ? q->backend : NULL;
    }
    tester_tally_add(&r->tally, &s);
    req_free(r, q);
}

/* A request that could not even start counts as failed ("other"). */
static void req_failed(struct run *r, size_t target, uint64_t round)
{
    struct tester_sample s = { .target = target, .round = round, .outcome = TO_OTHER };
    tester_tally_add(&r->tally, &s);
}

static void stop_if_idle(struct run *r)
{
    if (r->stopping && !r->reqs)
        ev_break(r->loop, EVBREAK_ALL);
}

static void finish_done(struct run *r)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv)
            req_done(r, (struct req *)priv, m->data.result);
    }
    drain_events(r);
    stop_if_idle(r);
}

static char *target_url(const struct tester_target *t)
{
    char a[IP_ADDR_STRLEN];
    ip_addr_format(&t->addr, a, sizeof(a));
    bool v6 = t->addr.family == AF_INET6;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s://%s%s%s:%u%s", t->https ? "https" : "http", v6 ? "[" : "", a,
                v6 ? "]" : "", t->port, t->path);
    return strbuf_detach(&sb);
}

static int req_setup(struct run *r, struct req *q)
{
    const struct tester_opts *o = r->o;
    CURL *c = q->easy;
    long timeout_ms = (long)(o->timeout_ns / DURATION_MS);
    int bad = 0;
    bad |= curl_easy_setopt(c, CURLOPT_URL, q->url);
    bad |= curl_easy_setopt(c, CURLOPT_PRIVATE, q);
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, q->errbuf);
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(c, CURLOPT_PROXY, ""); /* whatever the environment says */
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    bad |= curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    bad |= curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    bad |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    bad |= curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, r->user_agent);
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    /* a fresh connection is a full handshake: no session is resumed */
    bad |= curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->spread) {
        bad |= curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
        bad |= curl_easy_setopt(c, CURLOPT_LOCALPORT, (long)(o->spread_base + r->seq % o->spread));
        /* a port still busy: curl tries the following ones */
        bad |= curl_easy_setopt(c, CURLOPT_LOCALPORTRANGE, (long)o->spread);
    }
    r->seq++;
    return bad ? -1 : 0;
}

static void req_start(struct run *r, size_t target, uint64_t round)
{
    struct req *q = mem_calloc(1, sizeof(*q));
    q->run = r;
    q->target = target;
    q->round = round;
    q->url = target_url(&r->o->targets[target]);
    q->easy = curl_easy_init();
    q->next = r->reqs;
    if (q->next)
        q->next->prev = q;
    r->reqs = q;
    if (!q->easy || req_setup(r, q) < 0 || curl_multi_add_handle(r->multi, q->easy) != CURLM_OK) {
        if (q->easy)
            curl_easy_cleanup(q->easy);
        q->easy = NULL;
        req_free(r, q);
        req_failed(r, target, round);
    }
}

/* ---- rounds, the end ---------------------------------------------------------- */

static void stop(struct run *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    r->end_us = now_rel(r);
    ev_timer_stop(r->loop, &r->tick);
    ev_timer_stop(r->loop, &r->deadline);
    stop_if_idle(r);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct run *r = w->data;
    int64_t t = now_rel(r);
    if (r->o->duration_ns && t * 1000 >= r->o->duration_ns) {
        stop(r);
        return;
    }
    uint64_t round = r->round++;
    tester_tally_round(&r->tally, round, t, (unsigned)r->o->n_targets);
    for (size_t i = 0; i < r->o->n_targets; i++)
        req_start(r, i, round);
    finish_done(r); /* a request that failed to start may complete a round */
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    stop(w->data);
}

/* First signal: no new rounds, wait for the requests in flight (at most
 * --timeout). Second: abandon them. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct run *r = w->data;
    if (r->stopping) {
        r->aborted = true;
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    stop(r);
}

static int setup(struct run *r)
{
    const struct tester_opts *o = r->o;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(r->multi = curl_multi_init())) {
        fprintf(stderr, "maglevt: cannot set up libcurl\n");
        return -1;
    }
    if (o->body_regex) {
        int rc;
        PCRE2_SIZE off;
        r->re = pcre2_compile((PCRE2_SPTR)o->body_regex, PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
        if (!r->re) {
            fprintf(stderr, "maglevt: --body-regex: does not compile\n");
            return -1;
        }
        (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
    }
    r->headers = curl_slist_append(NULL, "Connection: close");
    if (o->host) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "Host: %s", o->host);
        r->headers = curl_slist_append(r->headers, strbuf_str(&sb));
        strbuf_free(&sb);
    }
    snprintf(r->user_agent, sizeof(r->user_agent), "maglevt/%s", version_string());
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    return r->headers ? 0 : -1;
}

static void teardown(struct run *r)
{
    while (r->reqs) /* abandoned by a second signal: not counted */
        req_free(r, r->reqs);
    if (r->multi)
        curl_multi_cleanup(r->multi);
    ev_timer_stop(r->loop, &r->curl_timer);
    while (r->watches)
        sock_watch_free(r, r->watches);
    curl_slist_free_all(r->headers);
    pcre2_code_free(r->re);
    curl_global_cleanup();
}

static void print_summary(struct run *r)
{
    struct strbuf sb = STRBUF_INIT;
    int64_t elapsed = r->end_us ? r->end_us : now_rel(r);
    if (r->o->json)
        tester_report_json(&sb, &r->tally, r->o, elapsed);
    else
        tester_report_text(&sb, &r->tally, r->o, elapsed);
    if (r->view_fd == STDOUT_FILENO && !r->tty)
        write_all(STDOUT_FILENO, "\n", 1);
    write_all(STDOUT_FILENO, sb.buf, sb.len);
    strbuf_free(&sb);
}

int tester_run(const struct tester_opts *o)
{
    struct run run = { .o = o, .loop = ev_default_loop(0), .view_fd = -1 };
    struct run *r = &run;
    if (!r->loop || setup(r) < 0) {
        teardown(r);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t iv_us = o->interval_ns / 1000;
    size_t window = (size_t)((o->window_ns / 1000 + iv_us - 1) / (iv_us ? iv_us : 1));
    tester_tally_init(&r->tally, o->n_targets, iv_us, window);
    if (!o->quiet) {
        r->view_fd = o->json ? STDERR_FILENO : STDOUT_FILENO;
        r->tty = isatty(r->view_fd);
        if (r->tty)
            write_all(r->view_fd, "\033[H\033[2J", 7);
    }
    double iv = (double)o->interval_ns / 1e9;
    ev_timer_init(&r->curl_timer, on_curl_timeout, 0., 0.);
    ev_timer_init(&r->tick, on_tick, 0., iv);
    ev_timer_init(&r->view, on_view, 1., 1.);
    ev_timer_init(&r->deadline, on_deadline, (double)o->duration_ns / 1e9, 0.);
    ev_signal_init(&r->sigint, on_signal, SIGINT);
    ev_signal_init(&r->sigterm, on_signal, SIGTERM);
    r->curl_timer.data = r->tick.data = r->view.data = r->deadline.data = r;
    r->sigint.data = r->sigterm.data = r;
    ev_signal_start(r->loop, &r->sigint);
    ev_signal_start(r->loop, &r->sigterm);
    ev_now_update(r->loop);
    r->start_us = clock_mono_us();
    ev_timer_start(r->loop, &r->tick);
    if (o->duration_ns)
        ev_timer_start(r->loop, &r->deadline);
    if (r->view_fd >= 0)
        ev_timer_start(r->loop, &r->view);
    ev_run(r->loop, 0);
    ev_timer_stop(r->loop, &r->view);
    ev_timer_stop(r->loop, &r->tick);
    ev_timer_stop(r->loop, &r->deadline);
    ev_signal_stop(r->loop, &r->sigint);
    ev_signal_stop(r->loop, &r->sigterm);
    teardown(r);
    tester_tally_flush(&r->tally);
    drain_events(r);
    if (r->view_fd >= 0)
        draw(r); /* the last state, before the summary */
    print_summary(r);
    int rc = r->tally.failed ? 1 : 0;
    tester_tally_free(&r->tally);
    return rc;
}
