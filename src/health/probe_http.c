/* probe_http.c: the https probe, on libcurl's multi-socket API driven by
 * the libev loop. probe.c hands it only https healthchecks: plain http is
 * probe_http_native.c's own HTTP/1.1 client (the code here still builds an
 * http:// URL for type http, but nothing starts one).
 *
 * One CURLM per probe_env (struct http_env, created with the first https
 * probe): curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION, one
 * ev_io per socket) and when to wake it up (CURLMOPT_TIMERFUNCTION, one
 * ev_timer). Our watchers call curl_multi_socket_action() and then drain
 * curl_multi_info_read(), finishing the probes whose transfer completed -
 * always after curl has returned, never from inside a curl callback.
 *
 * Each probe gets its own easy handle and a fresh connection, created by
 * netns_socket() in the probe's namespace and bound to its source address.
 * The URL names the backend by its address literal (no DNS), or, for https
 * with tls-server-name, by that name with CURLOPT_CONNECT_TO pointing curl
 * at the address: SNI and certificate checks use the name.
 *
 * TLS sessions (tls-resume, the default): each backend's worker owns a
 * struct probe_tls_cache (probe.h), a libcurl share handle that shares SSL
 * sessions only; every probe of the backend attaches it (CURLOPT_SHARE),
 * so the session its last handshake got is offered again and the server
 * may abbreviate the handshake. One share per backend, not one for all:
 * libcurl keys its session cache by the URL's host, the CONNECT_TO target,
 * port and TLS settings, but not by network namespace or source address,
 * so two backends with the same address in two namespaces would get each
 * other's sessions from a common cache (and a resumed session skips the
 * certificate check). The checker frees the cache whenever the worker
 * stops, so a session never outlives the settings it was made with; a
 * probe whose handshake failed or timed out frees it too. Only the loop
 * thread ever uses a share: it has no lock functions. tls-resume: false
 * sets CURLOPT_SSL_SESSIONID_CACHE 0 and attaches no share: a full
 * handshake every time.
 *
 * Only as much of the body as the check needs is read: nothing without a
 * response-regex (the transfer stops at the first body byte, the status is
 * known by then), at most BODY_MAX bytes with one.
 *
 * What a finished transfer means is http_classify.c's, from the facts
 * gathered here; compiled response-regexes are kept in a regex_cache. */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/mem.h"
#include "health/http_classify.h"
#include "health/probe_int.h"
#include "health/regex_cache.h"

#define BODY_MAX   (64 * 1024) /* body bytes kept for the regex */
#define BODY_CHUNK 4096        /* first allocation of the body buffer */

/* An ev_io for one socket curl asked us to watch. */
struct sock_watch {
    ev_io io; /* first: the callback gets &io */
    struct http_env *he;
    curl_socket_t fd;
    struct sock_watch *prev, *next;
};

struct http_env {
    struct probe_env *env;
    CURLM *multi;
    ev_timer timer; /* curl's timeout */
    struct sock_watch *watches;
    struct regex_cache regexes;
};

/* A probe's state (p->impl). */
struct http_probe {
    CURL *easy;
    bool added; /* easy is in the multi handle */
    bool https;
    uint16_t port;
    struct curl_slist *headers;
    struct curl_slist *connect_to; /* curl keeps a pointer, not a copy */
    bool keep_body;                /* a response-regex needs the body */
    char *body;
    size_t body_len, body_cap;
    bool shared;      /* easy uses the backend's TLS session cache */
    bool stopped;     /* the write callback stopped the transfer on purpose */
    bool sockerr;     /* the open-socket callback failed, see err */
    curl_socket_t fd; /* the connection's socket while curl has it open */
    bool tcp_up;      /* fd was seen connected before curl closed it */
    char err[PROBE_DETAIL_MAX];
    char errbuf[CURL_ERROR_SIZE];
};

static bool curl_ready;

/* ---- curl <-> libev ----------------------------------------------------------- */

static void finish_done(struct http_env *he);

static void sock_watch_free(struct http_env *he, struct sock_watch *sw)
{
    ev_io_stop(he->env->loop, &sw->io);
    if (sw->prev)
        sw->prev->next = sw->next;
    else
        he->watches = sw->next;
    if (sw->next)
        sw->next->prev = sw->prev;
    free(sw);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sock_watch *sw = (struct sock_watch *)w;
    struct http_env *he = sw->he;
    int action =
        ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    /* sw may be freed inside (CURL_POLL_REMOVE) */
    CURLMcode mc = curl_multi_socket_action(he->multi, sw->fd, action, &running);
    if (mc != CURLM_OK)
        log_warn("http-multi-error", LOG_STR("error", curl_multi_strerror(mc)));
    finish_done(he);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct http_env *he = w->data;
    int running;
    CURLMcode mc = curl_multi_socket_action(he->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (mc != CURLM_OK)
        log_warn("http-multi-error", LOG_STR("error", curl_multi_strerror(mc)));
    finish_done(he);
}

/* Whether fd is a TCP socket connected to the probe's backend. */
static bool sock_connected(const struct probe *p, curl_socket_t fd)
{
    struct sockaddr_storage want, got;
    const struct http_probe *hp = p->impl;
    socklen_t len = probe_sockaddr(&p->addr, hp->port, &want), glen = sizeof(got);
    if (getpeername(fd, (struct sockaddr *)&got, &glen) < 0 || glen != len)
        return false;
    if (got.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)&got, *b = (const void *)&want;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a = (const void *)&got, *b = (const void *)&want;
    return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

/* curl is about to close s: remember whether it was connected, for the
 * phase of a timeout (CURLINFO_CONNECT_TIME_T stays 0 until TLS is done). */
static void sock_closing(CURL *easy, curl_socket_t s)
{
    char *priv = NULL;
    if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv)
        return;
    struct probe *p = (struct probe *)priv;
    struct http_probe *hp = p->impl;
    if (hp && hp->fd == s) {
        hp->tcp_up = hp->tcp_up || sock_connected(p, s);
        hp->fd = CURL_SOCKET_BAD;
    }
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, or stop. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct http_env *he = userp;
    struct sock_watch *sw = socketp;
    if (what == CURL_POLL_REMOVE) {
        sock_closing(easy, s);
        if (sw) {
            curl_multi_assign(he->multi, s, NULL);
            sock_watch_free(he, sw);
        }
        return 0;
    }
    int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!sw) {
        sw = mem_calloc(1, sizeof(*sw));
        sw->he = he;
        sw->fd = s;
        sw->next = he->watches;
        if (sw->next)
            sw->next->prev = sw;
        he->watches = sw;
        ev_io_init(&sw->io, on_io, s, events);
        curl_multi_assign(he->multi, s, sw);
    } else {
        ev_io_stop(he->env->loop, &sw->io);
        ev_io_set(&sw->io, s, events);
    }
    if (events)
        ev_io_start(he->env->loop, &sw->io);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 means as soon as possible
 * (from the loop, never from here). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_env *he = userp;
    ev_timer_stop(he->env->loop, &he->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&he->timer, (double)timeout_ms / 1000., 0.);
        ev_timer_start(he->env->loop, &he->timer);
    }
    return 0;
}

static struct http_env *http_env_get(struct probe_env *env)
{
    if (env->http)
        return env->http;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    struct http_env *he = mem_calloc(1, sizeof(*he));
    he->env = env;
    he->multi = curl_multi_init();
    if (!he->multi) {
        free(he);
        return NULL;
    }
    curl_multi_setopt(he->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(he->multi, CURLMOPT_SOCKETDATA, he);
    curl_multi_setopt(he->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(he->multi, CURLMOPT_TIMERDATA, he);
    ev_timer_init(&he->timer, on_timeout, 0., 0.);
    he->timer.data = he;
    env->http = he;
    return he;
}

void probe_http_env_free(struct probe_env *env)
{
    struct http_env *he = env ? env->http : NULL;
    if (!he)
        return;
    curl_multi_cleanup(he->multi); /* may still call on_curl_socket/timer */
    ev_timer_stop(env->loop, &he->timer);
    while (he->watches) /* none when every probe was finished or cancelled */
        sock_watch_free(he, he->watches);
    regex_cache_clear(&he->regexes);
    free(he);
    env->http = NULL;
}

/* ---- TLS sessions, per backend ------------------------------------------------ */

struct probe_tls_cache {
    CURLSH *share; /* CURL_LOCK_DATA_SSL_SESSION only; no lock functions */
};

void probe_tls_cache_free(struct probe_tls_cache *c)
{
    if (!c)
        return;
    /* fails (CURLSHE_IN_USE) only while an easy handle uses it, which the
     * owner rules out: probes are released before their cache is freed */
    curl_share_cleanup(c->share);
    free(c);
}

/* The backend's share handle, created on first use; NULL when the probe
 * has no slot or libcurl cannot make one (then: a full handshake). */
static CURLSH *tls_share(struct probe *p)
{
    if (!p->tls_cache)
        return NULL;
    if (!*p->tls_cache) {
        CURLSH *sh = curl_share_init();
        if (!sh)
            return NULL;
        if (curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
            curl_share_cleanup(sh);
            return NULL;
        }
        struct probe_tls_cache *c = mem_calloc(1, sizeof(*c));
        c->share = sh;
        *p->tls_cache = c;
    }
    return (*p->tls_cache)->share;
}

/* ---- easy-handle callbacks ---------------------------------------------------- */

/* CURLOPT_OPENSOCKETFUNCTION: the socket in the probe's namespace, bound to
 * the source address. */
static curl_socket_t on_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct probe *p = clientp;
    struct http_probe *hp = p->impl;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    int fd = netns_socket(p->netns, a->family, a->socktype, a->protocol, &p->hc->source_address,
                          hp->err, sizeof(hp->err));
    if (fd < 0) {
        hp->sockerr = true;
        return CURL_SOCKET_BAD;
    }
    hp->fd = fd;
    return fd;
}

/* CURLOPT_WRITEFUNCTION: returning less than given stops the transfer
 * (CURLE_WRITE_ERROR); with hp->stopped set that is how a check ends early. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct probe *p = userp;
    struct http_probe *hp = p->impl;
    size_t n = size * nmemb;
    if (!hp->keep_body) {
        hp->stopped = true; /* the status is all we need */
        return 0;
    }
    size_t take = BODY_MAX - hp->body_len;
    if (take > n)
        take = n;
    if (hp->body_len + take > hp->body_cap) {
        size_t cap = hp->body_cap ? hp->body_cap : BODY_CHUNK;
        while (cap < hp->body_len + take)
            cap *= 2;
        if (cap > BODY_MAX)
            cap = BODY_MAX;
        hp->body = mem_realloc(hp->body, cap);
        hp->body_cap = cap;
    }
    memcpy(hp->body + hp->body_len, data, take);
    hp->body_len += take;
    if (hp->body_len >= BODY_MAX) {
        hp->stopped = true; /* enough for the regex */
        return 0;
    }
    return n;
}

/* ---- results ----------------------------------------------------------------- */

/* Whether the TCP connection was established. CURLINFO_CONNECT_TIME_T is
 * not enough: curl 7.88 sets it only once the whole connection is set up,
 * TLS included, so ask the socket itself. */
static bool tcp_connected(const struct probe *p)
{
    const struct http_probe *hp = p->impl;
    curl_off_t t = 0;
    if (!hp || !hp->easy)
        return false;
    if (hp->tcp_up)
        return true;
    if (curl_easy_getinfo(hp->easy, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0)
        return true;
    return hp->fd != CURL_SOCKET_BAD && sock_connected(p, hp->fd);
}

static bool tls_done(const struct http_probe *hp)
{
    curl_off_t t = 0;
    return hp && hp->easy &&
           curl_easy_getinfo(hp->easy, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK && t > 0;
}

/* The phase a timed-out probe reached. */
static void timed_out(struct probe *p, struct probe_result *r)
{
    struct http_probe *hp = p->impl;
    http_timeout_result(p->hc->timeout, hp && hp->https, tcp_connected(p), tls_done(hp), r);
}

static long os_errno(const struct http_probe *hp)
{
    long e = 0;
    if (curl_easy_getinfo(hp->easy, CURLINFO_OS_ERRNO, &e) != CURLE_OK)
        e = 0;
    return e;
}

/* What a finished transfer means. */
static void classify(struct probe *p, CURLcode rc, struct probe_result *r)
{
    struct http_probe *hp = p->impl;
    char rxerr[PROBE_DETAIL_MAX * 2];
    struct http_facts f = {
        .hc = p->hc,
        .addr = &p->addr,
        .rc = rc,
        .sockerr = hp->sockerr,
        .sock_err = hp->err,
        .stopped = hp->stopped,
        .https = hp->https,
        .errbuf = hp->errbuf,
        .body = hp->body,
        .body_len = hp->body_len,
    };
    if (!f.sockerr) {
        f.os_errno = os_errno(hp);
        f.tcp_connected = tcp_connected(p);
        f.tls_done = tls_done(hp);
    }
    if (http_response_needed(&f)) {
        curl_easy_getinfo(hp->easy, CURLINFO_RESPONSE_CODE, &f.status);
        if (p->hc->response_regex) {
            rxerr[0] = '\0';
            f.regex = regex_cache_get(&p->env->http->regexes, p->hc, rxerr, sizeof(rxerr));
            f.regex_err = rxerr;
        }
    }
    http_classify(&f, r);
}

/* Finishes every probe whose transfer completed. probe_finish() releases
 * the probe (removing its handle) and runs the checker's callback, which
 * may start or cancel probes: curl_multi_remove_handle() drops a cancelled
 * probe's queued message, so every message read here is live. The callback
 * must not free the env. */
static void finish_done(struct http_env *he)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(he->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        struct probe *p = (struct probe *)priv;
        if (!p)
            continue;
        struct probe_result r;
        memset(&r, 0, sizeof(r));
        classify(p, rc, &r);
        if (log_enabled(LOG_LEVEL_DEBUG)) {
            struct http_probe *hp = p->impl;
            log_debug("http-probe-done", LOG_STR("backend", p->backend),
                      LOG_STR("code", probe_code_name(r.code)), LOG_STR("detail", r.detail),
                      LOG_INT("curl-code", rc), LOG_STR("curl-error", hp->errbuf));
        }
        probe_finish(p, &r);
    }
}

/* ---- the probe type ------------------------------------------------------------ */

/* "[addr]" for IPv6, "addr" for IPv4 (or a name). */
static void host_for_url(char *buf, size_t len, const char *host)
{
    if (strchr(host, ':'))
        snprintf(buf, len, "[%s]", host);
    else
        snprintf(buf, len, "%s", host);
}

/* A formatted string in malloc'd memory. */
static char *str_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t len = n > 0 ? (size_t)n : 0;
    char *s = mem_alloc(len + 1);
    s[0] = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        vsnprintf(s, len + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

#define SETOPT(h, opt, val)                                                                        \
    do {                                                                                           \
        CURLcode rc_ = curl_easy_setopt((h), (opt), (val));                                        \
        if (rc_ != CURLE_OK) {                                                                     \
            failed = #opt;                                                                         \
            frc = rc_;                                                                             \
        }                                                                                          \
    } while (0)

static void start(struct probe *p)
{
    const struct healthcheck_conf *hc = p->hc;
    struct http_env *he = http_env_get(p->env);
    if (!he) { /* curl_global_init or curl_multi_init failed */
        probe_fail_soon(p, PC_SOCKERR, "cannot set up libcurl: out of memory");
        return;
    }
    struct http_probe *hp = mem_calloc(1, sizeof(*hp));
    p->impl = hp;
    hp->fd = CURL_SOCKET_BAD;
    hp->https = hc->type == HC_HTTPS;
    hp->keep_body = hc->response_regex != NULL;
    if (hc->response_regex && !regex_cache_get(&he->regexes, hc, hp->err, sizeof(hp->err))) {
        probe_fail_soon(p, PC_L7RSP, "%s", hp->err);
        return;
    }

    uint16_t port = hc->port ? hc->port : hp->https ? 443 : 80;
    hp->port = port;
    char addr[IP_ADDR_STRLEN], addr_b[IP_ADDR_STRLEN + 2], name_b[300];
    ip_addr_format(&p->addr, addr, sizeof(addr));
    host_for_url(addr_b, sizeof(addr_b), addr);
    const char *path = hc->path && hc->path[0] == '/' ? hc->path : "/";
    bool sni = hp->https && hc->tls_server_name && hc->tls_server_name[0];
    if (sni)
        host_for_url(name_b, sizeof(name_b), hc->tls_server_name);
    char *url =
        str_fmt("%s://%s:%u%s", hp->https ? "https" : "http", sni ? name_b : addr_b, port, path);
    char *host = hc->host ? str_fmt("Host: %s", hc->host) : NULL;
    char *conn_to = sni ? str_fmt("%s:%u:%s:%u", name_b, port, addr_b, port) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Connection: close");
    if (h && host) {
        struct curl_slist *h2 = curl_slist_append(h, host);
        if (!h2) {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    hp->headers = h;
    if (conn_to)
        hp->connect_to = curl_slist_append(NULL, conn_to);
    hp->easy = curl_easy_init();
    if (!hp->easy || !hp->headers || (conn_to && !hp->connect_to)) {
        free(url);
        free(host);
        free(conn_to);
        probe_fail_soon(p, PC_SOCKERR, "cannot set up libcurl: out of memory");
        return;
    }

    const char *failed = NULL;
    CURLcode frc = CURLE_OK;
    CURL *c = hp->easy;
    long timeout_ms = (long)(hc->timeout / DURATION_MS);
    SETOPT(c, CURLOPT_URL, url);
    SETOPT(c, CURLOPT_PRIVATE, p);
    SETOPT(c, CURLOPT_ERRORBUFFER, hp->errbuf);
    SETOPT(c, CURLOPT_NOSIGNAL, 1L);
    SETOPT(c, CURLOPT_PROXY, ""); /* never a proxy, whatever the environment says */
    SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(c, CURLOPT_FRESH_CONNECT, 1L);
    SETOPT(c, CURLOPT_FORBID_REUSE, 1L);
    /* no DNS cache: the host is a literal address, and libcurl walks the whole
     * cache after every transfer (one entry per backend: quadratic at scale) */
    SETOPT(c, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    SETOPT(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(c, CURLOPT_PATH_AS_IS, 1L);
    SETOPT(c, CURLOPT_USERAGENT, p->env->user_agent);
    SETOPT(c, CURLOPT_HTTPHEADER, hp->headers);
    SETOPT(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    SETOPT(c, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    SETOPT(c, CURLOPT_OPENSOCKETDATA, p);
    SETOPT(c, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(c, CURLOPT_WRITEDATA, p);
    if (hp->https) {
        SETOPT(c, CURLOPT_SSL_VERIFYPEER, hc->tls_insecure ? 0L : 1L);
        SETOPT(c, CURLOPT_SSL_VERIFYHOST, hc->tls_insecure ? 0L : 2L);
        CURLSH *sh = hc->tls_resume ? tls_share(p) : NULL;
        if (sh && curl_easy_setopt(c, CURLOPT_SHARE, sh) == CURLE_OK)
            hp->shared = true;
        else
            SETOPT(c, CURLOPT_SSL_SESSIONID_CACHE, 0L); /* a full handshake every time */
    }
    if (hp->connect_to)
        SETOPT(c, CURLOPT_CONNECT_TO, hp->connect_to);
    free(url);
    free(host);
    free(conn_to);
    if (failed) {
        probe_fail_soon(p, PC_SOCKERR, "libcurl %s: %s", failed + strlen("CURLOPT_"),
                        curl_easy_strerror(frc));
        return;
    }
    CURLMcode mc = curl_multi_add_handle(he->multi, c);
    if (mc != CURLM_OK) {
        probe_fail_soon(p, PC_SOCKERR, "libcurl: %s", curl_multi_strerror(mc));
        return;
    }
    hp->added = true;
}

static void release(struct probe *p)
{
    struct http_probe *hp = p->impl;
    if (!hp)
        return;
    /* a handshake that was attempted and did not complete (failed, timed
     * out, cancelled) may have been spoiled by the session offered: the
     * next probe starts from a full handshake */
    bool drop = hp->shared && !tls_done(hp) && tcp_connected(p);
    if (hp->easy) {
        /* closes the connection: its ev_io goes with CURL_POLL_REMOVE */
        if (hp->added && p->env->http)
            curl_multi_remove_handle(p->env->http->multi, hp->easy);
        curl_easy_cleanup(hp->easy);
    }
    if (drop && p->tls_cache) { /* no easy handle uses the share now */
        probe_tls_cache_free(*p->tls_cache);
        *p->tls_cache = NULL;
    }
    curl_slist_free_all(hp->headers);
    curl_slist_free_all(hp->connect_to);
    free(hp->body);
    free(hp);
    p->impl = NULL;
}

const struct probe_ops probe_http_ops = { start, timed_out, release };
