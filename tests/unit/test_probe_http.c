/* Unit tests for src/health/probe_http_native.c (http, https): real probes on a real libev loop
 * against servers on loopback.
 *
 * The plain HTTP servers run inside this process on the same loop (their
 * watchers are ev_unref'd, so an idle loop proves the probe code left
 * nothing behind); HTTPS uses nginx as a child process with a self-signed
 * certificate made by openssl (those tests are skipped when nginx or
 * openssl cannot be started). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "health/probe_int.h"
#include "health/tls_client.h"

#define BIG_SIZE  (10 * 1024 * 1024)
#define BODY_OK   "hello world\nstatus: green\n"
#define TIMEOUT_S 10.0 /* upper bound for any single wait */

static struct ev_loop *loop;
static struct probe_env *env;

/* ---- loop helpers ------------------------------------------------------------- */

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

/* Runs the loop until cond(arg) holds or max_s passed; returns cond(arg). */
static bool run_until(bool (*cond)(void *), void *arg, double max_s)
{
    ev_timer tick; /* bounds each ev_run(EVRUN_ONCE) */
    double t = max_s < 0.02 ? max_s : 0.02;
    ev_timer_init(&tick, tick_cb, t, t);
    ev_timer_start(loop, &tick);
    ev_now_update(loop);
    int64_t end = clock_mono_us() + (int64_t)(max_s * 1e6);
    while (!cond(arg) && clock_mono_us() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &tick);
    return cond(arg);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void run_for(double s)
{
    run_until(never, NULL, s);
}

static void watchdog_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    *(bool *)w->data = true;
    ev_break(l, EVBREAK_ALL);
}

/* The probe code has no active watcher left: ev_run(0) returns at once
 * (the test servers' watchers are unref'd and do not count). */
static void assert_loop_idle(void)
{
    bool fired = false;
    ev_timer wd;
    ev_timer_init(&wd, watchdog_cb, 2., 0.);
    wd.data = &fired;
    ev_timer_start(loop, &wd);
    ev_unref(loop);
    ev_run(loop, 0);
    ev_ref(loop);
    ev_timer_stop(loop, &wd);
    assert_false(fired);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ---- in-process HTTP servers -------------------------------------------------- */

enum srv_mode {
    SRV_HTTP,  /* answers by path, see respond() */
    SRV_CLOSE, /* accepts and closes at once */
    SRV_QUIET, /* listens, never accepts: the kernel completes the handshake */
};

struct srv {
    int fd;
    ev_io w;
    enum srv_mode mode;
    int family;
    uint16_t port;
    int conns_open;
    unsigned long accepted;
    char last_req[4096];
    char last_peer[IP_ADDR_STRLEN];
    size_t big_sent;
    bool big_complete, big_aborted;
};

struct conn {
    ev_io w;
    int fd;
    struct srv *s;
    char in[8192];
    size_t in_len;
    char out[1024];
    size_t out_len, out_off;
    bool big;
    size_t big_off;
    bool close_after_partial;
};

static struct srv srv_http, srv_close, srv_quiet, srv_http6;
static bool have_ipv6;

static void io_ref_stop(ev_io *w)
{
    ev_ref(loop);
    ev_io_stop(loop, w);
}

static void io_start_unref(ev_io *w)
{
    ev_io_start(loop, w);
    ev_unref(loop);
}

static void conn_close(struct conn *c)
{
    io_ref_stop(&c->w);
    close(c->fd);
    c->s->conns_open--;
    free(c);
}

static void big_chunk(char *buf, size_t off, size_t len)
{
    static const char early[] = "marker-early", late[] = "marker-late";
    memset(buf, 'x', len);
    for (size_t i = 0; i < len; i++) {
        size_t at = off + i;
        if (at < sizeof(early) - 1)
            buf[i] = early[at];
        else if (at >= BIG_SIZE - (sizeof(late) - 1))
            buf[i] = late[at - (BIG_SIZE - (sizeof(late) - 1))];
    }
}

static void conn_write(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->close_after_partial) {
        conn_close(c);
        return;
    }
    while (c->big && c->big_off < BIG_SIZE) {
        char buf[16384];
        size_t len = BIG_SIZE - c->big_off < sizeof(buf) ? BIG_SIZE - c->big_off : sizeof(buf);
        big_chunk(buf, c->big_off, len);
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            c->s->big_aborted = true;
            conn_close(c);
            return;
        }
        c->big_off += (size_t)n;
        c->s->big_sent += (size_t)n;
    }
    if (c->big)
        c->s->big_complete = true;
    shutdown(c->fd, SHUT_WR);
    conn_close(c);
}

static void out_fmt(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->out, sizeof(c->out), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(c->out));
    c->out_len = (size_t)n;
}

static void respond(struct conn *c)
{
    char path[256] = "";
    if ((unsigned char)c->in[0] == 0x16) { /* a TLS ClientHello */
        out_fmt(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    snprintf(c->s->last_req, sizeof(c->s->last_req), "%.*s", (int)c->in_len, c->in);
    sscanf(c->in, "GET %255s ", path);
    if (strncmp(path, "/ok", 3) == 0) {
        out_fmt(c, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(BODY_OK), BODY_OK);
    } else if (strcmp(path, "/503") == 0) {
        out_fmt(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\ndown\n");
    } else if (strcmp(path, "/big") == 0) {
        /* a small send buffer keeps what the kernel can absorb small */
        int sndbuf = 32768;
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        out_fmt(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_SIZE);
        c->big = true;
    } else if (strcmp(path, "/garbage") == 0) {
        out_fmt(c, "this is not http at all\r\n\r\n");
    } else if (strcmp(path, "/partial") == 0) {
        out_fmt(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus: gr");
        c->close_after_partial = true;
    } else {
        out_fmt(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
}

static void on_conn(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    struct conn *c = (struct conn *)w;
    if (revents & EV_WRITE) {
        conn_write(c);
        return;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        if ((unsigned char)c->in[0] == 0x16 || strstr(c->in, "\r\n\r\n"))
            break;
        if (c->in_len == sizeof(c->in) - 1) {
            conn_close(c);
            return;
        }
    }
    respond(c);
    io_ref_stop(&c->w);
    ev_io_set(&c->w, c->fd, EV_WRITE);
    io_start_unref(&c->w);
    conn_write(c);
}

static void on_accept(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    (void)revents;
    struct srv *s = w->data;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(s->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        s->accepted++;
        if (s->mode == SRV_CLOSE) {
            close(fd);
            continue;
        }
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, s->last_peer,
                      sizeof(s->last_peer));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, s->last_peer,
                      sizeof(s->last_peer));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        assert_non_null(c);
        c->fd = fd;
        c->s = s;
        s->conns_open++;
        ev_io_init(&c->w, on_conn, fd, EV_READ);
        io_start_unref(&c->w);
    }
}

/* Listens on 127.0.0.1 or ::1, port chosen by the kernel; false when the
 * family is not available. */
static bool srv_open(struct srv *s, enum srv_mode mode, int family, int backlog)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->family = family;
    s->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return false;
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct ip_addr a;
    ip_addr_parse(family == AF_INET ? "127.0.0.1" : "::1", &a);
    struct sockaddr_storage ss;
    socklen_t len = probe_sockaddr(&a, 0, &ss);
    if (bind(s->fd, (struct sockaddr *)&ss, len) < 0 || listen(s->fd, backlog) < 0) {
        close(s->fd);
        s->fd = -1;
        return false;
    }
    len = sizeof(ss);
    getsockname(s->fd, (struct sockaddr *)&ss, &len);
    s->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    if (mode != SRV_QUIET) {
        ev_io_init(&s->w, on_accept, s->fd, EV_READ);
        s->w.data = s;
        io_start_unref(&s->w);
    }
    return true;
}

static void srv_close_(struct srv *s)
{
    if (s->fd < 0)
        return;
    if (s->mode != SRV_QUIET)
        io_ref_stop(&s->w);
    close(s->fd);
    s->fd = -1;
}

static bool srv_idle(void *arg)
{
    return ((struct srv *)arg)->conns_open == 0;
}

/* A port on 127.0.0.1 nobody listens on. */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, len), 0);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

/* ---- nginx for HTTPS ------------------------------------------------------------ */

static char tls_dir[64];
static pid_t nginx_pid = -1;
static uint16_t tls_port, tls12_port;

static bool port_open(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

static bool nginx_start(void)
{
    char cmd[512], path[128];
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/maglev-test-http-XXXXXX");
    if (!mkdtemp(tls_dir))
        return false;
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=test.example "
             "-addext subjectAltName=DNS:test.example -days 1 -keyout %s/key.pem "
             "-out %s/cert.pem >/dev/null 2>&1",
             tls_dir, tls_dir);
    if (system(cmd) != 0)
        return false;
    tls_port = closed_port();
    tls12_port = closed_port();
    snprintf(path, sizeof(path), "%s/nginx.conf", tls_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f,
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid %1$s/nginx.pid;\n"
            "error_log %1$s/error.log warn;\nevents { worker_connections 256; }\n"
            "http {\n"
            "  log_format probe "
            "'$ssl_server_name|$host|$http_user_agent|$request|$ssl_session_reused';\n"
            "  access_log %1$s/access.log probe;\n"
            "  client_body_temp_path %1$s/t1; proxy_temp_path %1$s/t2;\n"
            "  fastcgi_temp_path %1$s/t3; uwsgi_temp_path %1$s/t4; scgi_temp_path %1$s/t5;\n"
            "  server {\n"
            "    listen 127.0.0.1:%2$u ssl;\n"
            "    ssl_certificate %1$s/cert.pem; ssl_certificate_key %1$s/key.pem;\n"
            /* nginx 1.22 offers TLS 1.2 at most by default, and without a
             * session cache resumes no TLS 1.2 session: TLS 1.3 tickets */
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    location / { return 200 \"tls ok\\n\"; }\n"
            "    location = /503 { return 503 \"down\\n\"; }\n"
            "  }\n"
            "  server {\n" /* TLS 1.2, sessions by id from nginx's cache */
            "    listen 127.0.0.1:%3$u ssl;\n"
            "    ssl_certificate %1$s/cert.pem; ssl_certificate_key %1$s/key.pem;\n"
            "    ssl_protocols TLSv1.2; ssl_session_cache shared:t12:1m;\n"
            "    location / { return 200 \"tls ok\\n\"; }\n"
            "  }\n"
            "}\n",
            tls_dir, tls_port, tls12_port);
    fclose(f);
    nginx_pid = fork();
    if (nginx_pid < 0)
        return false;
    if (nginx_pid == 0) {
        char errlog[128];
        snprintf(errlog, sizeof(errlog), "%s/error.log", tls_dir);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execlp("nginx", "nginx", "-e", errlog, "-p", tls_dir, "-c", path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (port_open(tls_port) && port_open(tls12_port))
            return true;
        if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
            nginx_pid = -1;
            return false;
        }
        usleep(10000);
    }
    return false;
}

static void nginx_stop(void)
{
    if (nginx_pid > 0) {
        kill(nginx_pid, SIGTERM);
        waitpid(nginx_pid, NULL, 0);
        nginx_pid = -1;
    }
    if (tls_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tls_dir);
    }
}

/* The access-log line of the request for path (nginx may log it just after
 * the client got the response). */
static bool nginx_log_line(const char *path, char *out, size_t len)
{
    char file[128], line[1024], needle[300];
    snprintf(file, sizeof(file), "%s/access.log", tls_dir);
    snprintf(needle, sizeof(needle), "|GET %s HTTP/1.1", path);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(file, "r");
        while (f && fgets(line, sizeof(line), f)) {
            if (strstr(line, needle)) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(out, len, "%s", line);
                fclose(f);
                return true;
            }
        }
        if (f)
            fclose(f);
        usleep(5000);
    }
    return false;
}

/* ---- probes ------------------------------------------------------------------- */

static struct code_range codes_default[] = { { 200, 399 } };
static bool in_start;

struct outcome {
    int calls;
    struct probe_result r;
};

static void on_result(void *ctx, const struct probe_result *r)
{
    assert_false(in_start); /* never from inside probe_start() */
    struct outcome *o = ctx;
    o->calls++;
    o->r = *r;
}

static bool outcome_done(void *arg)
{
    return ((struct outcome *)arg)->calls > 0;
}

static struct healthcheck_conf make_hc(enum hc_type type, uint16_t port, const char *path)
{
    struct healthcheck_conf hc;
    memset(&hc, 0, sizeof(hc));
    hc.name = "hc";
    hc.type = type;
    hc.port = port;
    hc.timeout = 2 * DURATION_SEC;
    hc.path = (char *)path;
    hc.codes = codes_default;
    hc.n_codes = 1;
    return hc;
}

static struct probe *start_probe(const struct healthcheck_conf *hc, const char *addr,
                                 const char *netns, struct outcome *o)
{
    struct probe_req req = { .hc = hc, .netns = netns, .backend = "b1" };
    assert_int_equal(ip_addr_parse(addr, &req.addr), 0);
    in_start = true;
    struct probe *p = probe_start(env, &req, on_result, o);
    in_start = false;
    assert_non_null(p);
    assert_int_equal(o->calls, 0);
    return p;
}

static struct probe_result run_probe_ns(const struct healthcheck_conf *hc, const char *addr,
                                        const char *netns)
{
    struct outcome o = { 0 };
    start_probe(hc, addr, netns, &o);
    assert_true(run_until(outcome_done, &o, TIMEOUT_S));
    run_for(0.001); /* a second callback would show up here */
    assert_int_equal(o.calls, 1);
    assert_true(o.r.duration_us >= 0);
    assert_true(strlen(o.r.detail) < 100);
    assert_null(strchr(o.r.detail, '\n'));
    return o.r;
}

static struct probe_result run_probe(const struct healthcheck_conf *hc, const char *addr)
{
    return run_probe_ns(hc, addr, NULL);
}

#define assert_result(r, c, d)                                                                     \
    do {                                                                                           \
        struct probe_result r_ = (r);                                                              \
        if (r_.code != (c) || strcmp(r_.detail, (d)) != 0)                                         \
            fail_msg("got %s \"%s\", want %s \"%s\"", probe_code_name(r_.code), r_.detail,         \
                     probe_code_name(c), (d));                                                     \
    } while (0)

#define assert_code(r, c)                                                                          \
    do {                                                                                           \
        struct probe_result r_ = (r);                                                              \
        if (r_.code != (c))                                                                        \
            fail_msg("got %s \"%s\", want %s", probe_code_name(r_.code), r_.detail,                \
                     probe_code_name(c));                                                          \
    } while (0)

/* ---- fixtures ------------------------------------------------------------------ */

static bool have_nginx;

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_WARN, LOG_FORMAT_TEXT, 2);
    loop = ev_default_loop(0);
    assert_non_null(loop);
    assert_true(srv_open(&srv_http, SRV_HTTP, AF_INET, 1024));
    assert_true(srv_open(&srv_close, SRV_CLOSE, AF_INET, 1024));
    assert_true(srv_open(&srv_quiet, SRV_QUIET, AF_INET, 1024));
    have_ipv6 = srv_open(&srv_http6, SRV_HTTP, AF_INET6, 1024);
    have_nginx = nginx_start();
    if (!have_nginx)
        fprintf(stderr, "nginx/openssl not available: HTTPS tests are skipped\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nginx_stop();
    srv_close_(&srv_http);
    srv_close_(&srv_close);
    srv_close_(&srv_quiet);
    srv_close_(&srv_http6);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    env = probe_env_new(loop);
    assert_non_null(env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(env->live, 0);
    run_until(srv_idle, &srv_http, TIMEOUT_S);
    probe_env_free(env);
    env = NULL;
    return 0;
}

/* ---- tests: plain HTTP ------------------------------------------------------------- */

static void test_http_200(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_result(r, PC_L7OK, "HTTP 200");
    assert_true(r.duration_us > 0 && r.duration_us < 1000000);
    assert_loop_idle();
}

static void test_http_503(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/503");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 503");
    /* 503 allowed */
    struct code_range codes[] = { { 200, 299 }, { 500, 503 } };
    hc.codes = codes;
    hc.n_codes = 2;
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 503");
    hc.path = "/nothing-here";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 404");
}

static void test_regex(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    hc.response_regex = "status: (green|yellow)";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    hc.response_regex = "status: red";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7RSP, "HTTP 200, regex did not match");
    /* the same conf with its first pattern again: the cache must not mix them up */
    hc.response_regex = "^hello world$";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7RSP, "HTTP 200, regex did not match");
    hc.response_regex = "(?m)^hello world$";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    /* a second conf with another pattern, used in turns */
    struct healthcheck_conf hc2 = make_hc(HC_HTTP, srv_http.port, "/ok");
    hc2.response_regex = "nope";
    for (int i = 0; i < 3; i++) {
        assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
        assert_result(run_probe(&hc2, "127.0.0.1"), PC_L7RSP, "HTTP 200, regex did not match");
    }
    /* the status is checked before the body */
    hc.path = "/503";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 503");
}

static void test_bad_regex(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    hc.response_regex = "(unclosed";
    unsigned long before = srv_http.accepted;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_code(r, PC_L7RSP);
    assert_non_null(strstr(r.detail, "response-regex: "));
    assert_int_equal(srv_http.accepted, before); /* decided before any I/O */
}

static void test_request(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok/health?full=1&x=%20y");
    hc.host = "svc.example.com";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    const char *req = srv_http.last_req;
    assert_true(strncmp(req, "GET /ok/health?full=1&x=%20y HTTP/1.1\r\n", 39) == 0);
    assert_non_null(strstr(req, "\r\nHost: svc.example.com\r\n"));
    char ua[200];
    snprintf(ua, sizeof(ua), "\r\nUser-Agent: %s\r\n", env->user_agent);
    assert_non_null(strstr(req, ua));
    assert_non_null(strstr(req, "\r\nUser-Agent: vpp-maglev/"));
    assert_non_null(strstr(req, "\r\nConnection: close\r\n"));
    assert_null(strstr(req, "Accept-Encoding"));
    /* without host: the address and port */
    hc.host = NULL;
    hc.path = "/ok/../ok";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    char want[64];
    snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%u\r\n", srv_http.port);
    assert_non_null(strstr(srv_http.last_req, want));
    /* the path is sent as configured */
    assert_true(strncmp(srv_http.last_req, "GET /ok/../ok HTTP/1.1\r\n", 24) == 0);
    /* no path: "/" */
    hc.path = NULL;
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 404");
    assert_true(strncmp(srv_http.last_req, "GET / HTTP/1.1\r\n", 16) == 0);
}

static void test_no_proxy(void **state)
{
    (void)state;
    /* a proxy in the environment must not be used */
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("ALL_PROXY");
    assert_result(r, PC_L7OK, "HTTP 200");
}

static void test_closed_port(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, closed_port(), "/ok");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L4CON, "connection refused");
    hc.type = HC_HTTPS;
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L4CON, "connection refused");
    assert_loop_idle();
}

static void test_never_answers(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_quiet.port, "/ok");
    hc.timeout = 300 * DURATION_MS;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_result(r, PC_L7TOUT, "no complete response within 300ms");
    assert_true(r.duration_us >= 290000 && r.duration_us < 1000000);
    assert_loop_idle();
}

static void test_closes_at_once(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_close.port, "/ok");
    for (int i = 0; i < 5; i++) {
        struct probe_result r = run_probe(&hc, "127.0.0.1");
        assert_code(r, PC_L7RSP);
        if (strcmp(r.detail, "empty response") != 0 &&
            strcmp(r.detail, "receive error: Connection reset by peer") != 0 &&
            strcmp(r.detail, "send error: Connection reset by peer") != 0)
            fail_msg("unexpected detail \"%s\"", r.detail);
    }
    /* https: the handshake fails */
    hc.type = HC_HTTPS;
    hc.tls_insecure = true;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_code(r, PC_L6RSP);
    assert_non_null(strstr(r.detail, "TLS handshake failed: "));
}

static void test_bad_responses(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/garbage");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7RSP, "invalid HTTP response");
    /* a truncated body: fine without a regex (the status is all that is
     * needed), not with one */
    hc.path = "/partial";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    hc.response_regex = "status";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7RSP, "incomplete response");
}

static void test_big_body(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/big");
    const char *regexes[] = { "^marker-early", "marker-late", NULL };
    for (int i = 0; regexes[i] || i == 2; i++) {
        hc.response_regex = (char *)regexes[i];
        srv_http.big_sent = 0;
        srv_http.big_complete = srv_http.big_aborted = false;
        struct probe_result r = run_probe(&hc, "127.0.0.1");
        if (i == 1)
            assert_result(r, PC_L7RSP, "HTTP 200, regex did not match");
        else
            assert_result(r, PC_L7OK, "HTTP 200");
        assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
        print_message("10 MB body, regex %s: decided in %.1f ms, server sent %zu bytes\n",
                      regexes[i] ? regexes[i] : "(none)", r.duration_us / 1000., srv_http.big_sent);
        assert_false(srv_http.big_complete);
        assert_true(srv_http.big_aborted);
        assert_true(srv_http.big_sent < BIG_SIZE / 2);
        if (i == 2)
            break;
    }
}

static void test_source_address(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    ip_addr_parse("127.0.0.2", &hc.source_address);
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    assert_string_equal(srv_http.last_peer, "127.0.0.2");
    ip_addr_parse("192.0.2.1", &hc.source_address);
    assert_result(run_probe(&hc, "127.0.0.1"), PC_SOCKERR,
                  "bind to source 192.0.2.1: Cannot assign requested address");
}

static void test_netns_missing(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200"); /* warm up */
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    int fds = count_fds();
    assert_result(run_probe_ns(&hc, "127.0.0.1", "maglev-test-no-such-ns"), PC_SOCKERR,
                  "netns maglev-test-no-such-ns: No such file or directory");
    assert_int_equal(count_fds(), fds + 1); /* netns.c keeps its own namespace open */
    assert_result(run_probe_ns(&hc, "127.0.0.1", "maglev-test-no-such-ns"), PC_SOCKERR,
                  "netns maglev-test-no-such-ns: No such file or directory");
    assert_int_equal(count_fds(), fds + 1);
    assert_loop_idle();
}

static void test_ipv6(void **state)
{
    (void)state;
    if (!have_ipv6)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http6.port, "/ok");
    hc.response_regex = "green";
    assert_result(run_probe(&hc, "::1"), PC_L7OK, "HTTP 200");
    char want[64];
    snprintf(want, sizeof(want), "\r\nHost: [::1]:%u\r\n", srv_http6.port);
    assert_non_null(strstr(srv_http6.last_req, want));
    assert_string_equal(srv_http6.last_peer, "::1");
    hc.port = closed_port(); /* most likely closed on ::1 too */
    assert_result(run_probe(&hc, "::1"), PC_L4CON, "connection refused");
    assert_true(run_until(srv_idle, &srv_http6, TIMEOUT_S));
}

static void test_l4_timeout(void **state)
{
    (void)state;
    /* a listener whose accept queue is full drops further SYNs */
    struct srv full;
    assert_true(srv_open(&full, SRV_QUIET, AF_INET, 0));
    int fillers[4];
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(full.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
    }
    usleep(50000);
    ev_now_update(loop); /* probe.c times out from the loop's idea of now */
    struct healthcheck_conf hc = make_hc(HC_HTTP, full.port, "/ok");
    hc.timeout = 200 * DURATION_MS;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    srv_close_(&full);
    assert_result(r, PC_L4TOUT, "no connection within 200ms");
    assert_true(r.duration_us >= 190000 && r.duration_us < 1000000);
    assert_loop_idle();
}

/* Starts the next probe from the callback of the previous one. */
struct chain {
    const struct healthcheck_conf *hc;
    int left, ok, calls;
    struct probe_result last;
};

static void on_chain(void *ctx, const struct probe_result *r)
{
    assert_false(in_start);
    struct chain *ch = ctx;
    ch->calls++;
    if (r->code == PC_L7OK)
        ch->ok++;
    else
        ch->last = *r;
    if (ch->left > 0) {
        ch->left--;
        struct probe_req req = { .hc = ch->hc, .backend = "b" };
        ip_addr_parse("127.0.0.1", &req.addr);
        in_start = true;
        assert_non_null(probe_start(env, &req, on_chain, ch));
        in_start = false;
    }
}

static bool chain_done(void *arg)
{
    struct chain *ch = arg;
    return ch->left == 0 && env->live == 0;
}

/* ---- tests: HTTPS ---------------------------------------------------------------- */

static void test_https_insecure(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/ok-insecure");
    hc.tls_insecure = true;
    hc.response_regex = "^tls ok$";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    hc.path = "/503";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 503");
    char line[1024];
    assert_true(nginx_log_line("/ok-insecure", line, sizeof(line)));
    /* no SNI for an address; Host is the address */
    char want[64];
    snprintf(want, sizeof(want), "|127.0.0.1|vpp-maglev/");
    assert_non_null(strstr(line, want));
    assert_loop_idle();
}

static void test_https_verify(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/ok");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L6RSP,
                  "certificate verify failed: self-signed certificate");
    hc.tls_server_name = "test.example";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L6RSP,
                  "certificate verify failed: self-signed certificate");
}

static void test_https_sni(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/sni-check");
    hc.tls_server_name = "test.example";
    hc.tls_insecure = true;
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    char line[1024];
    assert_true(nginx_log_line("/sni-check", line, sizeof(line)));
    assert_true(strncmp(line, "test.example|test.example|vpp-maglev/", 37) == 0);
    /* an explicit Host wins for the header; SNI stays */
    hc.host = "other.example";
    hc.path = "/sni-host";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    assert_true(nginx_log_line("/sni-host", line, sizeof(line)));
    assert_true(strncmp(line, "test.example|other.example|vpp-maglev/", 38) == 0);
}

static void test_https_wrong_protocol(void **state)
{
    (void)state;
    /* https against a plain HTTP server */
    struct healthcheck_conf hc = make_hc(HC_HTTPS, srv_http.port, "/ok");
    hc.tls_insecure = true;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_result(r, PC_L6RSP, "TLS handshake failed: wrong version number");
    if (!have_nginx)
        return;
    /* http against an HTTPS server: nginx answers 400 */
    hc = make_hc(HC_HTTP, tls_port, "/ok");
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 400");
}

static void test_tls_handshake_timeout(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTPS, srv_quiet.port, "/ok");
    hc.timeout = 300 * DURATION_MS;
    hc.tls_insecure = true;
    struct probe_result r = run_probe(&hc, "127.0.0.1");
    assert_result(r, PC_L6TOUT, "TLS handshake not finished within 300ms");
    assert_true(r.duration_us >= 290000 && r.duration_us < 1000000);
    assert_loop_idle();
}

static void test_https_sequential(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/ok-seq");
    hc.tls_insecure = true;
    hc.tls_server_name = "test.example";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    int fds = count_fds();
    enum { N = 300 };
    struct chain ch = { .hc = &hc, .left = N - 1 };
    struct probe_req req = { .hc = &hc, .backend = "b" };
    ip_addr_parse("127.0.0.1", &req.addr);
    int64_t t0 = clock_mono_us();
    assert_non_null(probe_start(env, &req, on_chain, &ch));
    assert_true(run_until(chain_done, &ch, 60));
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    if (ch.ok != N)
        fail_msg("%d of %d failed, last %s \"%s\"", N - ch.ok, N, probe_code_name(ch.last.code),
                 ch.last.detail);
    print_message("%d sequential https probes (nginx, RSA 2048) in %.2f s: %.0f probes/s\n", N,
                  secs, N / secs);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(env->live, 0);
    assert_loop_idle();
}

/* ---- tests: TLS session resumption ------------------------------------------------ */

/* A probe of 127.0.0.1 with the backend's TLS session slot. */
static struct probe_result run_probe_tls(const struct healthcheck_conf *hc,
                                         struct probe_tls_cache **slot)
{
    struct outcome o = { 0 };
    struct probe_req req = { .hc = hc, .backend = "b1", .tls_cache = slot };
    assert_int_equal(ip_addr_parse("127.0.0.1", &req.addr), 0);
    in_start = true;
    assert_non_null(probe_start(env, &req, on_result, &o));
    in_start = false;
    assert_true(run_until(outcome_done, &o, TIMEOUT_S));
    run_for(0.001);
    assert_int_equal(o.calls, 1);
    return o.r;
}

/* What nginx says of the handshake that carried the request for path:
 * 'r' resumed, '.' full ($ssl_session_reused). */
static char handshake_of(const char *path)
{
    char line[1024];
    if (!nginx_log_line(path, line, sizeof(line)))
        fail_msg("no request for %s in nginx's log", path);
    const char *bar = strrchr(line, '|');
    assert_non_null(bar);
    return bar[1];
}

/* One probe to path with slot; returns nginx's 'r' or '.' for it. */
static char tls_probe(struct healthcheck_conf *hc, struct probe_tls_cache **slot, const char *path)
{
    hc->path = (char *)path;
    assert_result(run_probe_tls(hc, slot), PC_L7OK, "HTTP 200");
    return handshake_of(path);
}

static void test_https_resume(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/");
    hc.tls_insecure = true;
    hc.tls_resume = true;
    hc.tls_server_name = "test.example";
    struct probe_tls_cache *a = NULL, *b = NULL, *c = NULL;
    /* the first handshake is full, every later one resumed */
    assert_int_equal(tls_probe(&hc, &a, "/resume-a0"), '.');
    assert_non_null(a);
    struct probe_tls_cache *a0 = a;
    char path[32];
    for (int i = 1; i <= 4; i++) {
        snprintf(path, sizeof(path), "/resume-a%d", i);
        assert_int_equal(tls_probe(&hc, &a, path), 'r');
    }
    assert_ptr_equal(a, a0);
    /* another backend, same address, port and name: a's session is never
     * offered to it */
    assert_int_equal(tls_probe(&hc, &b, "/resume-b0"), '.');
    assert_int_equal(tls_probe(&hc, &b, "/resume-b1"), 'r');
    assert_ptr_not_equal(a, b);
    /* the bare address (no SNI) resumes as well */
    struct healthcheck_conf hc_addr = hc;
    hc_addr.tls_server_name = NULL;
    assert_int_equal(tls_probe(&hc_addr, &c, "/resume-c0"), '.');
    assert_int_equal(tls_probe(&hc_addr, &c, "/resume-c1"), 'r');
    /* TLS 1.2: the session id nginx keeps */
    struct healthcheck_conf hc12 = hc;
    hc12.port = tls12_port;
    struct probe_tls_cache *d = NULL;
    assert_int_equal(tls_probe(&hc12, &d, "/resume-d0"), '.');
    assert_int_equal(tls_probe(&hc12, &d, "/resume-d1"), 'r');
    assert_int_equal(tls_probe(&hc12, &d, "/resume-d2"), 'r');
    probe_tls_cache_free(d);
    /* an HTTP failure after the handshake keeps the session */
    hc.path = "/503?resume";
    assert_result(run_probe_tls(&hc, &a), PC_L7STS, "HTTP 503");
    assert_ptr_equal(a, a0);
    assert_int_equal(handshake_of("/503?resume"), 'r');
    /* a failed handshake drops it: the next probe is a full handshake */
    struct healthcheck_conf bad = hc;
    bad.port = srv_http.port; /* plain HTTP: "wrong version number" */
    assert_code(run_probe_tls(&bad, &a), PC_L6RSP);
    assert_false(probe_tls_cache_has_session(a));
    assert_int_equal(tls_probe(&hc, &a, "/resume-a5"), '.');
    assert_int_equal(tls_probe(&hc, &a, "/resume-a6"), 'r');
    /* so does a handshake that timed out */
    bad.port = srv_quiet.port;
    bad.timeout = 300 * DURATION_MS;
    assert_code(run_probe_tls(&bad, &b), PC_L6TOUT);
    assert_false(probe_tls_cache_has_session(b));
    /* a connection refused attempted no handshake: the session stays */
    bad.port = closed_port();
    assert_code(run_probe_tls(&bad, &c), PC_L4CON);
    assert_true(probe_tls_cache_has_session(c));
    assert_int_equal(tls_probe(&hc_addr, &c, "/resume-c2"), 'r');
    probe_tls_cache_free(a);
    probe_tls_cache_free(b);
    probe_tls_cache_free(c);
    assert_int_equal(tls_ctx_count(), 0);
    probe_tls_cache_free(NULL);
    assert_loop_idle();
}

static void test_https_no_resume(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/");
    hc.tls_insecure = true;
    hc.tls_resume = false;
    hc.tls_server_name = "test.example";
    struct probe_tls_cache *slot = NULL;
    char path[32];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/full-%d", i);
        assert_int_equal(tls_probe(&hc, &slot, path), '.');
    }
    /* the slot keeps the shared context, never a session */
    assert_non_null(slot);
    assert_false(probe_tls_cache_has_session(slot));
    probe_tls_cache_free(slot);
    /* nor without a slot, resumption on */
    hc.tls_resume = true;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/noslot-%d", i);
        assert_int_equal(tls_probe(&hc, NULL, path), '.');
    }
    assert_loop_idle();
}

/* ---- tests: lifecycle ------------------------------------------------------------- */

static void test_cancel(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_quiet.port, "/ok");
    struct healthcheck_conf hc_tls = make_hc(HC_HTTPS, srv_quiet.port, "/ok");
    struct healthcheck_conf hc_ok = make_hc(HC_HTTP, srv_http.port, "/ok");
    hc_tls.tls_insecure = true;
    /* warm up: OpenSSL may keep files open once initialised (an
     * https probe: http does not use them), and so does netns.c (its own
     * namespace, once a probe names one: http opens its socket at start) */
    assert_result(run_probe(&hc_ok, "127.0.0.1"), PC_L7OK, "HTTP 200");
    struct healthcheck_conf hc_tls_warm = hc_tls;
    hc_tls_warm.port = srv_http.port;
    assert_code(run_probe(&hc_tls_warm, "127.0.0.1"), PC_L6RSP);
    assert_code(run_probe_ns(&hc_ok, "127.0.0.1", "maglev-test-no-such-ns"), PC_SOCKERR);
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    int fds = count_fds();

    /* in flight, connected, waiting for the response */
    struct outcome o = { 0 };
    struct probe *p = start_probe(&hc, "127.0.0.1", NULL, &o);
    run_for(0.1);
    assert_true(count_fds() > fds);
    probe_cancel(p);
    assert_int_equal(count_fds(), fds);
    /* in the TLS handshake */
    p = start_probe(&hc_tls, "127.0.0.1", NULL, &o);
    run_for(0.1);
    assert_true(count_fds() > fds);
    probe_cancel(p);
    assert_int_equal(count_fds(), fds);
    /* before the loop ran at all */
    p = start_probe(&hc_ok, "127.0.0.1", NULL, &o);
    probe_cancel(p);
    /* with a failure pending (delivered on the next loop iteration) */
    p = start_probe(&hc_ok, "127.0.0.1", "maglev-test-no-such-ns", &o);
    probe_cancel(p);
    assert_int_equal(env->live, 0);
    /* several in flight: the ones that never get an answer are cancelled,
     * last started first; the others complete */
    struct probe *ps[8];
    for (int i = 0; i < 8; i++)
        ps[i] = start_probe(i % 2 ? &hc : &hc_ok, "127.0.0.1", NULL, &o);
    run_for(0.01);
    for (int i = 7; i >= 0; i--)
        if (i % 2)
            probe_cancel(ps[i]);
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    run_for(0.1);
    assert_int_equal(env->live, 0);
    assert_int_equal(o.calls, 4);
    assert_int_equal(o.r.code, PC_L7OK);
    assert_int_equal(count_fds(), fds);
    assert_loop_idle();
}

/* Cancels another probe from inside a result callback: two probes race,
 * the first result cancels the other one. */
struct race {
    struct probe *ps[2];
    int calls;
};

struct racer {
    struct race *race;
    int i;
};

static void on_race(void *ctx, const struct probe_result *r)
{
    struct racer *rc = ctx;
    struct race *race = rc->race;
    assert_int_equal(r->code, PC_L7OK);
    race->calls++;
    race->ps[rc->i] = NULL; /* gone */
    if (race->ps[!rc->i]) {
        probe_cancel(race->ps[!rc->i]);
        race->ps[!rc->i] = NULL;
    }
}

static bool race_done(void *arg)
{
    return ((struct race *)arg)->calls > 0;
}

static void test_cancel_from_callback(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    struct probe_req req = { .hc = &hc, .backend = "b" };
    ip_addr_parse("127.0.0.1", &req.addr);
    for (int round = 0; round < 100; round++) {
        struct race race = { 0 };
        struct racer r0 = { &race, 0 }, r1 = { &race, 1 };
        race.ps[0] = probe_start(env, &req, on_race, &r0);
        race.ps[1] = probe_start(env, &req, on_race, &r1);
        assert_non_null(race.ps[0]);
        assert_non_null(race.ps[1]);
        assert_true(run_until(race_done, &race, TIMEOUT_S));
        run_for(0.002);
        assert_int_equal(race.calls, 1);
        assert_int_equal(env->live, 0);
    }
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    assert_loop_idle();
}

static void test_sequential(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    hc.response_regex = "green";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    int fds = count_fds();
    unsigned long live = env->live;
    enum { N = 2000 };
    struct chain ch = { .hc = &hc, .left = N - 1 };
    struct probe_req req = { .hc = &hc, .backend = "b" };
    ip_addr_parse("127.0.0.1", &req.addr);
    int64_t t0 = clock_mono_us();
    assert_non_null(probe_start(env, &req, on_chain, &ch));
    assert_true(run_until(chain_done, &ch, 60));
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    if (ch.ok != N)
        fail_msg("%d of %d failed, last %s \"%s\"", N - ch.ok, N, probe_code_name(ch.last.code),
                 ch.last.detail);
    assert_int_equal(ch.calls, N);
    print_message("%d sequential http probes in %.2f s: %.0f probes/s\n", N, secs, N / secs);
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    assert_int_equal(count_fds(), fds);
    assert_int_equal(env->live, live);
    assert_loop_idle();
}

struct many {
    int calls, ok;
    struct probe_result last;
};

static void on_many(void *ctx, const struct probe_result *r)
{
    struct many *m = ctx;
    m->calls++;
    if (r->code == PC_L7OK)
        m->ok++;
    else
        m->last = *r;
}

static bool many_ok_done(void *arg)
{
    return ((struct many *)arg)->calls == 200;
}

static bool many_done(void *arg)
{
    (void)arg;
    return env->live == 0;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct healthcheck_conf hc = make_hc(HC_HTTP, srv_http.port, "/ok");
    struct healthcheck_conf hc_quiet = make_hc(HC_HTTP, srv_quiet.port, "/ok");
    hc_quiet.timeout = 300 * DURATION_MS;
    enum { N = 200 };
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    int fds = count_fds();
    struct many m = { 0 }, mq = { 0 };
    struct probe_req req = { .hc = &hc, .backend = "b" };
    ip_addr_parse("127.0.0.1", &req.addr);
    int64_t t0 = clock_mono_us();
    for (int i = 0; i < N; i++)
        assert_non_null(probe_start(env, &req, on_many, &m));
    req.hc = &hc_quiet; /* and some that time out meanwhile */
    for (int i = 0; i < 20; i++)
        assert_non_null(probe_start(env, &req, on_many, &mq));
    assert_true(run_until(many_ok_done, &m, 30));
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    assert_true(run_until(many_done, NULL, 30));
    if (m.ok != N)
        fail_msg("%d of %d failed, last %s \"%s\"", N - m.ok, N, probe_code_name(m.last.code),
                 m.last.detail);
    assert_int_equal(m.calls, N);
    assert_int_equal(mq.calls, 20);
    assert_int_equal(mq.last.code, PC_L7TOUT);
    print_message("%d concurrent http probes done in %.3f s (20 more timed out meanwhile)\n", N,
                  secs);
    assert_true(run_until(srv_idle, &srv_http, TIMEOUT_S));
    assert_int_equal(count_fds(), fds);
    assert_loop_idle();
}

static void test_regex_cache(void **state)
{
    (void)state;
    /* more confs than the cache holds, in turns: entries are evicted and
     * compiled again, never confused */
    enum { N = 70 };
    static struct healthcheck_conf hcs[N];
    static char pats[N][32];
    for (int i = 0; i < N; i++) {
        hcs[i] = make_hc(HC_HTTP, srv_http.port, "/ok");
        snprintf(pats[i], sizeof(pats[i]), i % 2 ? "status: gr(e)+n|%d" : "status: red|%d", i);
        hcs[i].response_regex = pats[i];
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            struct probe_result r = run_probe(&hcs[i], "127.0.0.1");
            if (i % 2)
                assert_result(r, PC_L7OK, "HTTP 200");
            else
                assert_result(r, PC_L7RSP, "HTTP 200, regex did not match");
        }
}

/* One SSL_CTX per set of TLS settings, shared by the backends using it and
 * freed with the last of their slots. */
static void test_tls_contexts(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    assert_int_equal(tls_ctx_count(), 0);
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/ctx");
    hc.tls_insecure = true;
    hc.tls_resume = true;
    /* a probe without a slot holds its context only while it runs */
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    assert_int_equal(tls_ctx_count(), 0);
    struct probe_tls_cache *a = NULL, *b = NULL, *c = NULL;
    assert_result(run_probe_tls(&hc, &a), PC_L7OK, "HTTP 200");
    assert_result(run_probe_tls(&hc, &b), PC_L7OK, "HTTP 200");
    assert_int_equal(tls_ctx_count(), 1); /* a and b share it */
    struct healthcheck_conf verify = hc;
    verify.tls_insecure = false;
    assert_code(run_probe_tls(&verify, &c), PC_L6RSP);
    assert_int_equal(tls_ctx_count(), 2);
    assert_false(probe_tls_cache_has_session(c));
    probe_tls_cache_free(a);
    assert_int_equal(tls_ctx_count(), 2);
    probe_tls_cache_free(b); /* the last insecure user */
    assert_int_equal(tls_ctx_count(), 1);
    /* a slot moved to other settings (a test; the checker makes a new
     * worker) lets go of the old context */
    assert_result(run_probe_tls(&hc, &c), PC_L7OK, "HTTP 200");
    assert_int_equal(tls_ctx_count(), 1);
    assert_true(probe_tls_cache_has_session(c));
    probe_tls_cache_free(c);
    assert_int_equal(tls_ctx_count(), 0);
}

static void test_https_regex(void **state)
{
    (void)state;
    if (!have_nginx)
        skip();
    struct healthcheck_conf hc = make_hc(HC_HTTPS, tls_port, "/rx");
    hc.tls_insecure = true;
    hc.response_regex = "^tls ok";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7OK, "HTTP 200");
    hc.response_regex = "sick";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7RSP, "HTTP 200, regex did not match");
    hc.path = "/503";
    assert_result(run_probe(&hc, "127.0.0.1"), PC_L7STS, "HTTP 503");
    hc.response_regex = "(";
    assert_code(run_probe(&hc, "127.0.0.1"), PC_L7RSP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netns_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l4_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_insecure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_wrong_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_sequential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_no_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_contexts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_regex, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
