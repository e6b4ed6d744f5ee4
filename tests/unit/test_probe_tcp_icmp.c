/* Unit tests for the tcp and icmp probes: a real libev loop, loopback only.
 *
 * Every test checks that no probe is left live and that no file descriptor
 * leaked. Tests that need a network namespace of their own (ICMP timeouts
 * and errors, ping vs raw sockets, unreachable networks) create one with
 * unshare(CLONE_NEWNET) and hand it to the probes as /proc/self/fd/N; they
 * are skipped when that is not permitted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "common/duration.h"
#include "health/probe_int.h"

#define NS_PATH_LEN 64

struct box {
    int calls;
    struct probe_result r;
};

struct fixture {
    struct ev_loop *loop;
    struct probe_env *env;
    int fds_before;
};

static int g_calls; /* callbacks of all boxes */

static void on_result(void *ctx, const struct probe_result *r)
{
    struct box *b = ctx;
    b->calls++;
    b->r = *r;
    g_calls++;
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
    return n - 1; /* the directory's own fd */
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->fds_before = count_fds();
    f->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(f->loop);
    f->env = probe_env_new(f->loop);
    assert_non_null(f->env);
    g_calls = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->env->live, 0);
    probe_env_free(f->env);
    ev_loop_destroy(f->loop);
    assert_int_equal(count_fds(), f->fds_before);
    free(f);
    return 0;
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    *(bool *)w->data = true;
}

/* Runs the loop until g_calls reaches want or max_s seconds pass. */
static void run_until(struct fixture *f, int want, double max_s)
{
    bool expired = false;
    ev_timer guard;
    ev_timer_init(&guard, on_guard, max_s, 0.);
    guard.data = &expired;
    ev_timer_start(f->loop, &guard);
    while (g_calls < want && !expired)
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &guard);
}

static void run_for(struct fixture *f, double s)
{
    run_until(f, INT32_MAX, s);
}

static struct healthcheck_conf make_hc(enum hc_type type, uint16_t port, int64_t timeout)
{
    struct healthcheck_conf hc;
    memset(&hc, 0, sizeof(hc));
    hc.name = (char *)"test";
    hc.type = type;
    hc.port = port;
    hc.interval = DURATION_SEC;
    hc.timeout = timeout;
    hc.rise = hc.fall = 1;
    return hc;
}

static void set_source(struct healthcheck_conf *hc, const char *src)
{
    assert_int_equal(ip_addr_parse(src, &hc->source_address), 0);
}

static struct probe *start(struct fixture *f, const struct healthcheck_conf *hc, const char *addr,
                           const char *netns, struct box *b)
{
    struct probe_req req;
    memset(&req, 0, sizeof(req));
    req.hc = hc;
    req.netns = netns;
    req.backend = "b1";
    assert_int_equal(ip_addr_parse(addr, &req.addr), 0);
    memset(b, 0, sizeof(*b));
    struct probe *p = probe_start(f->env, &req, on_result, b);
    assert_non_null(p);
    assert_int_equal(b->calls, 0); /* never from inside probe_start */
    return p;
}

static void expect(const struct box *b, enum probe_code code, const char *detail)
{
    assert_int_equal(b->calls, 1);
    if (b->r.code != code || strcmp(b->r.detail, detail) != 0)
        print_error("got %s \"%s\", want %s \"%s\"\n", probe_code_name(b->r.code), b->r.detail,
                    probe_code_name(code), detail);
    assert_string_equal(probe_code_name(b->r.code), probe_code_name(code));
    assert_string_equal(b->r.detail, detail);
    assert_true(b->r.duration_us >= 0);
}

/* ---- sockets for the tests -------------------------------------------- */

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
    struct ip_addr a;
    assert_int_equal(ip_addr_parse(family == AF_INET ? "127.0.0.1" : "::1", &a), 0);
    return probe_sockaddr(&a, port, ss);
}

static uint16_t port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A TCP socket bound to loopback; listening with backlog unless it is
 * negative (then connects to it are refused). */
static int tcp_socket_on_loopback(int family, int backlog, uint16_t *port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    socklen_t len = loopback(family, 0, &ss);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    if (backlog >= 0)
        assert_int_equal(listen(fd, backlog), 0);
    *port = port_of(fd);
    return fd;
}

/* A listener whose accept queue is full: new SYNs are dropped. */
static int tcp_full_listener(uint16_t *port, int *client)
{
    int lfd = tcp_socket_on_loopback(AF_INET, 0, port);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(*client >= 0);
    struct sockaddr_storage ss;
    socklen_t len = loopback(AF_INET, *port, &ss);
    int rc = connect(*client, (struct sockaddr *)&ss, len);
    assert_true(rc == 0 || errno == EINPROGRESS);
    struct pollfd pfd = { .fd = *client, .events = POLLOUT };
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    int err = -1;
    socklen_t elen = sizeof(err);
    assert_int_equal(getsockopt(*client, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
    assert_int_equal(err, 0); /* established, and now the one queued connection */
    return lfd;
}

/* ---- network namespaces of our own ------------------------------------ */

struct test_ns {
    int fd;
    char path[NS_PATH_LEN];
};

static void write_proc(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, value, strlen(value)), (ssize_t)strlen(value));
    close(fd);
}

/* A fresh namespace: lo up or down, ping sockets allowed or not, echo
 * requests answered or ignored. Returns false when not permitted. */
static bool test_ns_new(struct test_ns *ns, bool lo_up, bool ping_sockets, bool ignore_echo)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(self >= 0);
    if (unshare(CLONE_NEWNET) < 0) {
        close(self);
        return false;
    }
    if (lo_up) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
        ifr.ifr_flags |= IFF_UP;
        assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
        close(s);
    }
    write_proc("/proc/sys/net/ipv4/ping_group_range", ping_sockets ? "0 2147483647" : "1 0");
    write_proc("/proc/sys/net/ipv4/icmp_echo_ignore_all", ignore_echo ? "1" : "0");
    write_proc("/proc/sys/net/ipv6/icmp/echo_ignore_all", ignore_echo ? "1" : "0");
    ns->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(ns->fd >= 0);
    assert_int_equal(setns(self, CLONE_NEWNET), 0);
    close(self);
    snprintf(ns->path, sizeof(ns->path), "/proc/self/fd/%d", ns->fd);
    return true;
}

static void test_ns_free(struct test_ns *ns)
{
    close(ns->fd);
}

/* A socket inside ns. */
static int ns_socket(const struct test_ns *ns, int domain, int type, int proto)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(self >= 0);
    assert_int_equal(setns(ns->fd, CLONE_NEWNET), 0);
    int fd = socket(domain, type | SOCK_CLOEXEC, proto);
    assert_int_equal(setns(self, CLONE_NEWNET), 0);
    close(self);
    assert_true(fd >= 0);
    return fd;
}

#define NEED_NS(ns, ...)                                                                           \
    do {                                                                                           \
        if (!test_ns_new((ns), __VA_ARGS__))                                                       \
            skip();                                                                                \
    } while (0)

/* Whether this process may open ICMP sockets at all (ping sockets or
 * CAP_NET_RAW); ICMP tests in the daemon's namespace are skipped if not. */
static bool icmp_allowed(void)
{
    int types[] = { SOCK_DGRAM, SOCK_RAW };
    for (size_t i = 0; i < 2; i++) {
        int fd = socket(AF_INET, types[i] | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd >= 0) {
            close(fd);
            return true;
        }
    }
    return false;
}

#define NEED_ICMP()                                                                                \
    do {                                                                                           \
        if (!icmp_allowed())                                                                       \
            skip();                                                                                \
    } while (0)

/* The type (SOCK_DGRAM = ping, SOCK_RAW) of the one open ICMP socket of
 * family other than the test's own (up to two, -1 = none); 0 when there is
 * none. */
static int icmp_socket_type(int family, int mine1, int mine2)
{
    int found = 0;
    for (int fd = 0; fd < 1024; fd++) {
        if (fd == mine1 || fd == mine2)
            continue;
        int dom = 0, proto = 0, type = 0;
        socklen_t len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) < 0 || dom != family)
            continue;
        len = sizeof(int);
        getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
        len = sizeof(int);
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        if (proto == (family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
            assert_int_equal(found, 0); /* only one */
            found = type;
        }
    }
    return found;
}

/* ---- tcp --------------------------------------------------------------- */

static void tcp_ok(void **state, int family, const char *addr)
{
    struct fixture *f = *state;
    uint16_t port;
    int lfd = tcp_socket_on_loopback(family, 16, &port);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, DURATION_SEC);
    struct box b;
    start(f, &hc, addr, NULL, &b);
    assert_int_equal(f->env->live, 1);
    run_until(f, 1, 5.);
    expect(&b, PC_L4OK, "connected");
    assert_true(b.r.duration_us < 1000000);
    close(lfd);
}

static void test_tcp_ok_v4(void **state)
{
    tcp_ok(state, AF_INET, "127.0.0.1");
}

static void test_tcp_ok_v6(void **state)
{
    tcp_ok(state, AF_INET6, "::1");
}

static void tcp_refused(void **state, int family, const char *addr)
{
    struct fixture *f = *state;
    uint16_t port;
    int fd = tcp_socket_on_loopback(family, -1, &port); /* bound, not listening */
    struct healthcheck_conf hc = make_hc(HC_TCP, port, DURATION_SEC);
    struct box b;
    start(f, &hc, addr, NULL, &b);
    run_until(f, 1, 5.);
    expect(&b, PC_L4CON, "connection refused");
    close(fd);
}

static void test_tcp_refused_v4(void **state)
{
    tcp_refused(state, AF_INET, "127.0.0.1");
}

static void test_tcp_refused_v6(void **state)
{
    tcp_refused(state, AF_INET6, "::1");
}

static void test_tcp_timeout(void **state)
{
    struct fixture *f = *state;
    uint16_t port;
    int client;
    int lfd = tcp_full_listener(&port, &client);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, 200 * DURATION_MS);
    struct box b;
    start(f, &hc, "127.0.0.1", NULL, &b);
    run_until(f, 1, 5.);
    expect(&b, PC_L4TOUT, "no connection within 200ms");
    assert_true(b.r.duration_us >= 190000);
    assert_true(b.r.duration_us < 1000000);

    hc.timeout = DURATION_SEC + 500 * DURATION_MS; /* the format of the detail */
    start(f, &hc, "127.0.0.1", NULL, &b);
    run_until(f, 2, 5.);
    expect(&b, PC_L4TOUT, "no connection within 1.5s");
    close(client);
    close(lfd);
}

static void test_tcp_cancel(void **state)
{
    struct fixture *f = *state;
    uint16_t port, lport;
    int client;
    int lfd = tcp_full_listener(&port, &client);
    int ok = tcp_socket_on_loopback(AF_INET, 16, &lport);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, 300 * DURATION_MS);
    struct healthcheck_conf hc_ok = make_hc(HC_TCP, lport, DURATION_SEC);
    struct healthcheck_conf hc_bad = make_hc(HC_TCP, lport, DURATION_SEC);
    set_source(&hc_bad, "192.0.2.1");
    struct box b1, b2, b3, b4;

    /* in flight, after the loop ran for a while */
    struct probe *p1 = start(f, &hc, "127.0.0.1", NULL, &b1);
    run_for(f, 0.05);
    assert_int_equal(b1.calls, 0);
    probe_cancel(p1);
    /* at once, before the loop saw the connect finish */
    probe_cancel(start(f, &hc_ok, "127.0.0.1", NULL, &b2));
    /* with its (deferred) failure pending */
    probe_cancel(start(f, &hc_bad, "127.0.0.1", NULL, &b3));
    /* a connected probe that nobody cancels still reports */
    start(f, &hc_ok, "127.0.0.1", NULL, &b4);
    probe_cancel(NULL);
    run_for(f, 0.4);
    assert_int_equal(b1.calls + b2.calls + b3.calls, 0);
    expect(&b4, PC_L4OK, "connected");
    assert_int_equal(f->env->live, 0);
    close(ok);
    close(client);
    close(lfd);
    assert_int_equal(count_fds(), f->fds_before + 1); /* + the loop's */
}

static void test_tcp_source(void **state)
{
    struct fixture *f = *state;
    uint16_t port;
    int lfd = tcp_socket_on_loopback(AF_INET, 16, &port);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, DURATION_SEC);
    struct box b;

    set_source(&hc, "127.0.0.1");
    start(f, &hc, "127.0.0.1", NULL, &b);
    run_until(f, 1, 5.);
    expect(&b, PC_L4OK, "connected");

    /* the connection really comes from the source address */
    set_source(&hc, "127.0.0.2");
    start(f, &hc, "127.0.0.1", NULL, &b);
    run_until(f, 2, 5.);
    expect(&b, PC_L4OK, "connected");
    int n = 0;
    assert_int_equal(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int c = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            break;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
        assert_string_equal(a, n == 0 ? "127.0.0.1" : "127.0.0.2");
        close(c);
        n++;
    }
    assert_int_equal(n, 2);
    close(lfd);
}

static void test_tcp_source_not_local(void **state)
{
    struct fixture *f = *state;
    uint16_t port;
    int lfd = tcp_socket_on_loopback(AF_INET, 16, &port);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, DURATION_SEC);
    set_source(&hc, "192.0.2.1");
    struct box b;
    start(f, &hc, "127.0.0.1", NULL, &b);
    run_until(f, 1, 5.);
    expect(&b, PC_SOCKERR, "bind to source 192.0.2.1: Cannot assign requested address");
    /* at once, not at the timeout (1 s): half of it leaves a busy machine room */
    assert_true(b.r.duration_us < 500000);
    close(lfd);
}

static void test_tcp_netns_missing(void **state)
{
    struct fixture *f = *state;
    struct healthcheck_conf hc = make_hc(HC_TCP, 80, DURATION_SEC);
    struct box b;
    start(f, &hc, "127.0.0.1", "no-such-ns-xyz", &b);
    run_until(f, 1, 5.);
    expect(&b, PC_SOCKERR, "netns no-such-ns-xyz: No such file or directory");
}

/* In a namespace whose lo is down nothing is reachable; in one whose lo
 * is up a listener of the daemon's namespace is not there. */
static void test_tcp_netns(void **state)
{
    struct fixture *f = *state;
    struct test_ns down, up;
    NEED_NS(&down, false, false, false);
    if (!test_ns_new(&up, true, false, false)) {
        test_ns_free(&down);
        skip();
    }
    uint16_t port;
    int lfd = tcp_socket_on_loopback(AF_INET, 16, &port);
    struct healthcheck_conf hc = make_hc(HC_TCP, port, DURATION_SEC);
    uint16_t port6;
    int lfd6 = tcp_socket_on_loopback(AF_INET6, 16, &port6);
    struct healthcheck_conf hc6 = make_hc(HC_TCP, port6, DURATION_SEC);
    struct box b1, b2, b3, b4;
    start(f, &hc, "127.0.0.1", down.path, &b1);
    start(f, &hc, "127.0.0.1", up.path, &b2);
    start(f, &hc, "127.0.0.1", NULL, &b3);
    start(f, &hc6, "::1", down.path, &b4);
    run_until(f, 4, 5.);
    expect(&b1, PC_L4CON, "network unreachable");
    expect(&b2, PC_L4CON, "connection refused");
    expect(&b3, PC_L4OK, "connected");
    expect(&b4, PC_SOCKERR, "connect: Cannot assign requested address");
    close(lfd6);
    close(lfd);
    test_ns_free(&down);
    test_ns_free(&up);
}

/* ---- icmp -------------------------------------------------------------- */

static void test_icmp_ok(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct box b4, b6;
    start(f, &hc, "127.0.0.1", NULL, &b4);
    start(f, &hc, "::1", NULL, &b6);
    assert_int_equal(count_fds(), f->fds_before + 1 + 2); /* the loop, one socket each */
    run_until(f, 2, 5.);
    expect(&b4, PC_L4OK, "echo reply");
    expect(&b6, PC_L4OK, "echo reply");
    /* the last probe to leave closed the sockets */
    assert_int_equal(count_fds(), f->fds_before + 1);
}

static void test_icmp_concurrent(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    enum { N = 200 };
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, 2 * DURATION_SEC);
    struct box *b = calloc(2 * N, sizeof(*b));
    assert_non_null(b);
    for (int i = 0; i < N; i++) {
        start(f, &hc, "127.0.0.1", NULL, &b[i]);
        start(f, &hc, "::1", NULL, &b[N + i]);
    }
    assert_int_equal(count_fds(), f->fds_before + 1 + 2); /* one socket per family */
    assert_int_equal(f->env->live, 2 * N);
    run_until(f, 2 * N, 5.);
    for (int i = 0; i < 2 * N; i++)
        expect(&b[i], PC_L4OK, "echo reply");
    free(b);
}

static void test_icmp_many(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    enum { ROUNDS = 10, PER_ROUND = 100 };
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, 2 * DURATION_SEC);
    struct box b[PER_ROUND];
    int fds = count_fds();
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < PER_ROUND; i++)
            start(f, &hc, i % 2 ? "::1" : "127.0.0.1", NULL, &b[i]);
        run_until(f, (round + 1) * PER_ROUND, 5.);
        for (int i = 0; i < PER_ROUND; i++)
            expect(&b[i], PC_L4OK, "echo reply");
        assert_int_equal(count_fds(), fds);
    }
    assert_int_equal(g_calls, ROUNDS * PER_ROUND);
}

static void test_icmp_cancel(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    enum { N = 300 }; /* the table grows past its first sizes */
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct box *b = calloc(N, sizeof(*b));
    struct probe **p = calloc(N, sizeof(*p));
    assert_non_null(b);
    assert_non_null(p);
    for (int i = 0; i < N; i++)
        p[i] = start(f, &hc, "127.0.0.1", NULL, &b[i]);
    /* every third, in a scattered order: holes all over the table, whose
     * replies are already on their way and must be ignored */
    int cancelled = 0;
    for (int k = 0; k < N; k++) {
        int i = (k * 7919) % N;
        if (i % 3 == 0) {
            probe_cancel(p[i]);
            cancelled++;
        }
    }
    run_until(f, N - cancelled, 5.);
    run_for(f, 0.05);
    for (int i = 0; i < N; i++) {
        if (i % 3)
            expect(&b[i], PC_L4OK, "echo reply");
        else
            assert_int_equal(b[i].calls, 0);
    }
    free(p);
    free(b);
}

static void test_icmp_source(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    struct healthcheck_conf hc4 = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct healthcheck_conf hc6 = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct healthcheck_conf bad4 = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct healthcheck_conf bad6 = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct healthcheck_conf mixed = make_hc(HC_ICMP, 0, DURATION_SEC);
    set_source(&hc4, "127.0.0.2");
    set_source(&hc6, "::1");
    set_source(&bad4, "192.0.2.1");
    set_source(&bad6, "2001:db8::1");
    set_source(&mixed, "127.0.0.1");
    struct box b[5];
    start(f, &hc4, "127.0.0.1", NULL, &b[0]);
    start(f, &hc6, "::1", NULL, &b[1]);
    start(f, &bad4, "127.0.0.1", NULL, &b[2]);
    start(f, &bad6, "::1", NULL, &b[3]);
    start(f, &mixed, "::1", NULL, &b[4]);
    run_until(f, 5, 5.);
    expect(&b[0], PC_L4OK, "echo reply");
    expect(&b[1], PC_L4OK, "echo reply");
    expect(&b[2], PC_SOCKERR, "bind to source 192.0.2.1: Cannot assign requested address");
    expect(&b[3], PC_SOCKERR, "bind to source 2001:db8::1: Cannot assign requested address");
    expect(&b[4], PC_SOCKERR, "source-address 127.0.0.1 is not ipv6");
}

static void test_icmp_netns_missing(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct box b[3];
    start(f, &hc, "127.0.0.1", NULL, &b[0]);
    start(f, &hc, "127.0.0.1", "no-such-ns-xyz", &b[1]);
    start(f, &hc, "::1", "no-such-ns-xyz", &b[2]);
    run_until(f, 3, 5.);
    expect(&b[0], PC_L4OK, "echo reply");
    expect(&b[1], PC_SOCKERR, "netns no-such-ns-xyz: No such file or directory");
    expect(&b[2], PC_SOCKERR, "netns no-such-ns-xyz: No such file or directory");
}

static void test_icmp_timeout(void **state)
{
    struct fixture *f = *state;
    struct test_ns ns;
    NEED_NS(&ns, true, false, true);
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, 200 * DURATION_MS);
    struct box b[3];
    start(f, &hc, "127.0.0.1", ns.path, &b[0]);
    start(f, &hc, "::1", ns.path, &b[1]);
    start(f, &hc, "127.0.0.1", NULL, &b[2]); /* the daemon's namespace answers */
    assert_int_equal(count_fds(), f->fds_before + 1 + 1 + 3);
    run_until(f, 3, 5.);
    expect(&b[0], PC_L4TOUT, "no echo reply within 200ms");
    expect(&b[1], PC_L4TOUT, "no echo reply within 200ms");
    expect(&b[2], PC_L4OK, "echo reply");
    assert_true(b[0].r.duration_us >= 190000);
    test_ns_free(&ns);
}

static void test_icmp_unreachable(void **state)
{
    struct fixture *f = *state;
    struct test_ns ns;
    NEED_NS(&ns, false, false, false); /* lo down: no route to anything */
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct box b[2];
    start(f, &hc, "127.0.0.1", ns.path, &b[0]);
    start(f, &hc, "::1", ns.path, &b[1]);
    run_until(f, 2, 5.);
    expect(&b[0], PC_L4CON, "network unreachable");
    /* IPv6 finds no source address for ::1 */
    expect(&b[1], PC_SOCKERR, "send: Cannot assign requested address");
    assert_true(b[0].r.duration_us < 500000); /* at once, not at the timeout (1 s) */
    test_ns_free(&ns);
}

/* Ping sockets where ping_group_range allows them, raw sockets otherwise. */
static void icmp_socket_kind(void **state, bool ping)
{
    struct fixture *f = *state;
    struct test_ns ns;
    NEED_NS(&ns, true, ping, false);
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct box b[2];
    start(f, &hc, "127.0.0.1", ns.path, &b[0]);
    start(f, &hc, "::1", ns.path, &b[1]);
    assert_int_equal(icmp_socket_type(AF_INET, -1, -1), ping ? SOCK_DGRAM : SOCK_RAW);
    assert_int_equal(icmp_socket_type(AF_INET6, -1, -1), ping ? SOCK_DGRAM : SOCK_RAW);
    run_until(f, 2, 5.);
    expect(&b[0], PC_L4OK, "echo reply");
    expect(&b[1], PC_L4OK, "echo reply");
    test_ns_free(&ns);
}

static void test_icmp_ping_socket(void **state)
{
    icmp_socket_kind(state, true);
}

static void test_icmp_raw_socket(void **state)
{
    icmp_socket_kind(state, false);
}

/* Waits for an echo request to target on the sniffer; returns its ICMP
 * part (and for IPv4 the IP header before it) in buf. */
static size_t sniff_request(int sniffer, int family, uint8_t *buf, size_t len, size_t *icmp_off)
{
    for (;;) {
        struct pollfd pfd = { .fd = sniffer, .events = POLLIN };
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        ssize_t n = recv(sniffer, buf, len, 0);
        assert_true(n > 0);
        size_t off = family == AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : 0;
        if ((size_t)n >= off + 8 && buf[off] == (family == AF_INET ? 8 : 128)) {
            *icmp_off = off;
            return (size_t)n;
        }
    }
}

static void bind_to(int fd, const char *addr)
{
    struct ip_addr a;
    struct sockaddr_storage ss;
    assert_int_equal(ip_addr_parse(addr, &a), 0);
    socklen_t len = probe_sockaddr(&a, 0, &ss);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
}

static uint16_t test_cksum(const uint8_t *b, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An ICMP "host unreachable" quoting the probe's request, sent back on
 * loopback by a raw socket in the namespace (whose echo replies are off). */
static void icmp_error(void **state, int family, bool ping)
{
    struct fixture *f = *state;
    struct test_ns ns;
    NEED_NS(&ns, true, ping, true);
    bool v4 = family == AF_INET;
    int proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    int sniffer = ns_socket(&ns, family, SOCK_RAW, proto);
    int sender = ns_socket(&ns, family, SOCK_RAW, proto);
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (v4) /* the error comes from another address than the target */
        bind_to(sender, "127.0.0.2");
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, 2 * DURATION_SEC);
    struct box b;
    start(f, &hc, v4 ? "127.0.0.1" : "::1", ns.path, &b);
    assert_int_equal(icmp_socket_type(family, sniffer, sender), ping ? SOCK_DGRAM : SOCK_RAW);

    uint8_t req[256], err[512];
    size_t off, n = sniff_request(sniffer, family, req, sizeof(req), &off);
    memset(err, 0, sizeof(err));
    size_t elen;
    if (v4) {
        err[0] = 3; /* destination unreachable */
        err[1] = 1; /* host unreachable */
        memcpy(err + 8, req, n);
        elen = 8 + n;
        uint16_t c = test_cksum(err, elen);
        err[2] = (uint8_t)(c >> 8);
        err[3] = (uint8_t)c;
    } else {
        err[0] = 1; /* destination unreachable */
        err[1] = 3; /* address unreachable; the kernel does the checksum */
        uint8_t *ip6 = err + 8;
        ip6[0] = 0x60;
        ip6[4] = (uint8_t)(n >> 8);
        ip6[5] = (uint8_t)n;
        ip6[6] = IPPROTO_ICMPV6;
        ip6[7] = 64;
        ip6[23] = 1; /* ::1 -> ::1 */
        ip6[39] = 1;
        memcpy(ip6 + 40, req, n);
        elen = 8 + 40 + n;
    }
    sslen = loopback(family, 0, &ss);
    assert_int_equal(sendto(sender, err, elen, 0, (struct sockaddr *)&ss, sslen), (ssize_t)elen);
    run_until(f, 1, 5.);
    expect(&b, PC_L4CON, v4 ? "host unreachable (from 127.0.0.2)" : "host unreachable");
    assert_true(b.r.duration_us < 1000000);
    close(sender);
    close(sniffer);
    test_ns_free(&ns);
}

static void test_icmp_error_ping_v4(void **state)
{
    icmp_error(state, AF_INET, true);
}

static void test_icmp_error_ping_v6(void **state)
{
    icmp_error(state, AF_INET6, true);
}

static void test_icmp_error_raw_v4(void **state)
{
    icmp_error(state, AF_INET, false);
}

static void test_icmp_error_raw_v6(void **state)
{
    icmp_error(state, AF_INET6, false);
}

/* An echo reply to the IPv4 request req (its ICMP part, len bytes). */
static size_t make_reply(uint8_t *rep, const uint8_t *req, size_t len)
{
    memmove(rep, req, len);
    rep[0] = 0; /* echo reply */
    rep[2] = rep[3] = 0;
    uint16_t c = test_cksum(rep, len);
    rep[2] = (uint8_t)(c >> 8);
    rep[3] = (uint8_t)c;
    return len;
}

/* Replies with another cookie, identifier or sequence number, or from
 * another address, are not ours: that probe times out while the genuine
 * reply to another probe on the same socket passes. */
static void test_icmp_foreign_replies(void **state)
{
    struct fixture *f = *state;
    struct test_ns ns;
    NEED_NS(&ns, true, false, true); /* raw sockets: identifiers are ours */
    int sniffer = ns_socket(&ns, AF_INET, SOCK_RAW, IPPROTO_ICMP);
    int other = ns_socket(&ns, AF_INET, SOCK_RAW, IPPROTO_ICMP);
    bind_to(other, "127.0.0.2");
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, 300 * DURATION_MS);
    struct box b[2];
    uint8_t req[2][256], rep[64];
    size_t off[2], n[2];
    for (int i = 0; i < 2; i++) {
        start(f, &hc, "127.0.0.1", ns.path, &b[i]);
        n[i] = sniff_request(sniffer, AF_INET, req[i], sizeof(req[i]), &off[i]);
    }
    struct sockaddr_storage ss;
    socklen_t sslen = loopback(AF_INET, 0, &ss);
    const uint8_t *req0 = req[0] + off[0];
    size_t len0 = n[0] - off[0];
    assert_int_equal(len0, 24);
    for (int bad = 0; bad < 3; bad++) { /* cookie, identifier, sequence */
        memcpy(rep, req0, len0);
        rep[bad == 0 ? len0 - 1 : bad == 1 ? 4 : 7] ^= 0x55;
        make_reply(rep, rep, len0);
        assert_int_equal(sendto(sniffer, rep, len0, 0, (struct sockaddr *)&ss, sslen),
                         (ssize_t)len0);
    }
    make_reply(rep, req0, len0); /* right reply, wrong sender */
    assert_int_equal(sendto(other, rep, len0, 0, (struct sockaddr *)&ss, sslen), (ssize_t)len0);
    size_t len1 = make_reply(rep, req[1] + off[1], n[1] - off[1]);
    assert_int_equal(sendto(sniffer, rep, len1, 0, (struct sockaddr *)&ss, sslen), (ssize_t)len1);

    run_until(f, 2, 5.);
    expect(&b[0], PC_L4TOUT, "no echo reply within 300ms");
    expect(&b[1], PC_L4OK, "echo reply");
    assert_true(b[1].r.duration_us < 300000);
    close(other);
    close(sniffer);
    test_ns_free(&ns);
}

/* A callback that starts the next probe (as the scheduler will) and
 * cancels another: the shared socket stays consistent. */
struct chain {
    struct fixture *f;
    const struct healthcheck_conf *hc;
    struct probe *victim;
    int left, ok;
    struct box box;
};

static void on_chain(void *ctx, const struct probe_result *r)
{
    struct chain *c = ctx;
    if (r->code == PC_L4OK)
        c->ok++;
    if (c->victim) {
        probe_cancel(c->victim);
        c->victim = NULL;
    }
    if (--c->left > 0) {
        struct probe_req req;
        memset(&req, 0, sizeof(req));
        req.hc = c->hc;
        req.backend = "chain";
        assert_int_equal(ip_addr_parse(c->left % 2 ? "::1" : "127.0.0.1", &req.addr), 0);
        assert_non_null(probe_start(c->f->env, &req, on_chain, c));
    } else {
        g_calls++;
    }
}

static void test_icmp_restart_from_callback(void **state)
{
    struct fixture *f = *state;
    NEED_ICMP();
    struct healthcheck_conf hc = make_hc(HC_ICMP, 0, DURATION_SEC);
    struct chain c = { .f = f, .hc = &hc, .left = 50 };
    struct box vb;
    struct probe_req req;
    memset(&req, 0, sizeof(req));
    req.hc = &hc;
    req.backend = "chain";
    assert_int_equal(ip_addr_parse("127.0.0.1", &req.addr), 0);
    assert_non_null(probe_start(f->env, &req, on_chain, &c));
    /* its reply arrives after the chain's first one, whose callback
     * cancels it: the reply must then be ignored */
    c.victim = start(f, &hc, "127.0.0.1", NULL, &vb);
    run_until(f, 1, 5.);
    assert_int_equal(c.left, 0);
    assert_int_equal(c.ok, 50);
    assert_int_equal(vb.calls, 0);
}

int main(int argc, char **argv)
{
    /* netns.c keeps the daemon's own namespace open while a probe env
     * holds it: hold it for the whole run and open it now, so that the
     * tests' fd counts do not see it */
    netns_hold();
    char err[PROBE_DETAIL_MAX];
    assert_true(netns_socket("no-such-ns-xyz", AF_INET, SOCK_STREAM, 0, NULL, err, sizeof(err)) <
                0);
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_ok_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_ok_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_refused_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_refused_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_source_not_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_netns_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_netns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_netns_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_ping_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_raw_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_error_ping_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_error_ping_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_error_raw_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_error_raw_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_foreign_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_restart_from_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
