/* accept.c: maglevd's own accept for the unix and plaintext TCP listeners
 * (see accept.h).
 *
 * A connection is first "pending": watched for the 24-byte HTTP/2 client
 * preface (peeked, so gRPC reads it again) until the handshake timeout. A
 * client that sent only part of it moves to the "partial" list, polled
 * every 100 ms (level-triggered readiness would spin on the peeked bytes).
 * With the preface it becomes "live": gRPC gets the descriptor, and we keep
 * a duplicate so that the socket stays the one we know (its inode cannot be
 * reused) until we see gRPC has closed its descriptor (the sweep, every
 * second: fstat of the number gRPC holds, a slice every 100 ms so that the
 * loop never stalls on thousands at once) — and so that we can shut an idle
 * connection down. Every held connection counts against its listener's cap
 * and the total one; a connection over a cap is closed at once. */
#include "api/accept.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server_setup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"

#define H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define ACCEPT_BURST   64
#define RETRY_S        0.25 /* a paused listener tries again */
#define PARTIAL_S      0.1
#define SWEEP_TICK_S   0.1 /* a slice of the live connections per tick, */
#define SWEEP_ROUNDS   10  /* all of them in this many ticks (1 s) */
#define SWEEP_MIN      16
#define REFUSED_LOG_US (10 * 1000000LL)
#define TRIM_MIN_PEAK  32
#define LATE_TRIMS     7       /* after a crowd left, trims this many more times, */
#define LATE_TRIM_US   1000000 /* 1, 2, 4 ... 64 s apart: gRPC frees some of it late */

enum conn_state { C_PENDING, C_PARTIAL, C_LIVE };

struct conn {
    struct acceptor *ac;
    enum conn_state state;
    int fd;    /* the number gRPC knows */
    int dupfd; /* live: our hold on the socket */
    ino_t ino;
    ev_io io; /* pending */
    int64_t accepted_us;
    bool reaped; /* shut down for idleness */
    struct conn *prev, *next;
    /* under a->mu once live */
    uint32_t gen;
    unsigned active; /* calls in flight */
    int64_t last_us; /* the last call's end (or the hand-over) */
    bool cred, named;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    char *peer;
};

struct clist {
    struct conn *head, *tail;
};

struct acceptor {
    struct api_accept *a;
    struct api_listener *l;
    int fd;
    ev_io io;
    ev_timer retry;
    bool paused;
    int64_t paused_us;
};

struct api_accept {
    struct ev_loop *loop;
    grpc_server *server;
    grpc_server_credentials *insecure;
    unsigned max_conns, n_conns, n_live, peak_live;
    unsigned late_trims; /* trims still due after a crowd left */
    int64_t late_trim_us;
    int64_t handshake_us, idle_us;
    struct acceptor *acc;
    size_t n_acc;
    struct clist pending, partial, live;
    struct conn *cursor; /* the sweep's next live connection (NULL: the head) */
    unsigned slice;      /* connections per sweep tick in this pass */
    ev_timer handshake_timer, partial_timer, sweep_timer;
    unsigned refused;
    int64_t refused_logged_us;
    pthread_mutex_t mu;
    /* under mu */
    struct conn **by_fd; /* live connections by the number gRPC knows */
    size_t by_fd_len;
    uint32_t next_gen;
};

static void list_add(struct clist *l, struct conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_del(struct clist *l, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static struct clist *list_of(struct api_accept *a, const struct conn *c)
{
    return c->state == C_PENDING ? &a->pending : c->state == C_PARTIAL ? &a->partial : &a->live;
}

static void conn_free(struct api_accept *a, struct conn *c)
{
    list_del(list_of(a, c), c);
    a->n_conns--;
    c->ac->l->n_conns--;
    free(c->peer);
    free(c);
}

/* A connection not handed to gRPC yet: closed. */
static void drop(struct api_accept *a, struct conn *c, const char *reason)
{
    log_debug("api-conn-closed", LOG_STR("listener", c->ac->l->addr), LOG_STR("peer", c->peer),
              LOG_STR("reason", reason));
    ev_io_stop(a->loop, &c->io);
    close(c->fd);
    conn_free(a, c);
}

/* gRPC has closed its descriptor of a live connection: let the socket go. */
static void gone(struct api_accept *a, struct conn *c)
{
    if (a->cursor == c)
        a->cursor = c->next;
    pthread_mutex_lock(&a->mu);
    if ((size_t)c->fd < a->by_fd_len && a->by_fd[c->fd] == c)
        a->by_fd[c->fd] = NULL;
    pthread_mutex_unlock(&a->mu);
    close(c->dupfd);
    a->n_live--;
    conn_free(a, c);
}

static void describe(struct conn *c, const char *user)
{
    const struct api_listener *l = c->ac->l;
    char buf[512];
    if (c->cred && user)
        snprintf(buf, sizeof(buf), "%s uid=%u(%s) gid=%u pid=%d", l->addr, (unsigned)c->uid, user,
                 (unsigned)c->gid, (int)c->pid);
    else if (c->cred)
        snprintf(buf, sizeof(buf), "%s uid=%u gid=%u pid=%d", l->addr, (unsigned)c->uid,
                 (unsigned)c->gid, (int)c->pid);
    else
        return;
    free(c->peer);
    c->peer = mem_strdup(buf);
}

/* The peer as gRPC would name it: "ipv4:1.2.3.4:5", "ipv6:[::1]:5". */
static char *tcp_peer(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], serv[NI_MAXSERV], buf[NI_MAXHOST + NI_MAXSERV + 16];
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return mem_strdup("tcp:?");
    if (ss.ss_family == AF_INET6)
        snprintf(buf, sizeof(buf), "ipv6:[%s]:%s", host, serv);
    else
        snprintf(buf, sizeof(buf), "ipv4:%s:%s", host, serv);
    return mem_strdup(buf);
}

static void refuse(struct acceptor *ac, int fd, const char *reason, unsigned cap)
{
    struct api_accept *a = ac->a;
    close(fd);
    a->refused++;
    int64_t now = clock_mono_us();
    if (a->refused_logged_us && now - a->refused_logged_us < REFUSED_LOG_US)
        return;
    log_warn("api-conn-refused", LOG_STR("listener", ac->l->addr), LOG_STR("reason", reason),
             LOG_UINT("cap", cap), LOG_UINT("refused", a->refused),
             LOG_STR("fix", "connections over a cap are closed at once: raise "
                            "--grpc-max-connections or the listener's ?max-conns=N, or find "
                            "who holds them (this message at most every 10 s)"));
    a->refused = 0;
    a->refused_logged_us = now;
}

static void on_preface(struct ev_loop *loop, ev_io *w, int revents);

static void admit(struct acceptor *ac, int fd)
{
    struct api_accept *a = ac->a;
    const struct api_listener *l = ac->l;
    /* (connections gRPC has closed count until the sweep sees them: at
     * most about a second) */
    bool lfull = l->max_conns && l->n_conns >= l->max_conns;
    if (lfull || a->n_conns >= a->max_conns) {
        refuse(ac, fd, lfull ? "listener-cap" : "total-cap", lfull ? l->max_conns : a->max_conns);
        return;
    }
    pthread_mutex_lock(&a->mu);
    struct conn *stale = (size_t)fd < a->by_fd_len ? a->by_fd[fd] : NULL;
    pthread_mutex_unlock(&a->mu);
    if (stale) /* the kernel reused the number: gRPC closed it */
        gone(a, stale);
    struct conn *c = mem_calloc(1, sizeof(*c));
    c->ac = ac;
    c->fd = c->dupfd = -1;
    c->fd = fd;
    c->accepted_us = clock_mono_us();
    if (l->unix_path) {
        struct ucred uc;
        socklen_t len = sizeof(uc);
        c->peer = mem_strdup(l->addr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
            c->cred = true;
            c->uid = uc.uid;
            c->gid = uc.gid;
            c->pid = uc.pid;
            describe(c, NULL);
        }
    } else {
        c->peer = tcp_peer(fd);
    }
    c->state = C_PENDING;
    list_add(&a->pending, c);
    a->n_conns++;
    ac->l->n_conns++;
    ev_io_init(&c->io, on_preface, fd, EV_READ);
    c->io.data = c;
    ev_io_start(a->loop, &c->io);
    if (!ev_is_active(&a->handshake_timer)) {
        ev_timer_set(&a->handshake_timer, (double)a->handshake_us / 1e6, 0.);
        ev_timer_start(a->loop, &a->handshake_timer);
    }
}

static void grow_by_fd_locked(struct api_accept *a, int fd)
{
    if ((size_t)fd < a->by_fd_len)
        return;
    size_t n = a->by_fd_len ? a->by_fd_len : 256;
    while (n <= (size_t)fd)
        n *= 2;
    a->by_fd = mem_realloc(a->by_fd, n * sizeof(*a->by_fd));
    memset(a->by_fd + a->by_fd_len, 0, (n - a->by_fd_len) * sizeof(*a->by_fd));
    a->by_fd_len = n;
}

static void hand_over(struct api_accept *a, struct conn *c)
{
    struct stat st;
    int d = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0 || fstat(c->fd, &st) < 0) {
        if (d >= 0)
            close(d);
        drop(a, c, "no descriptor left to hold it");
        return;
    }
    ev_io_stop(a->loop, &c->io);
    list_del(list_of(a, c), c);
    c->state = C_LIVE;
    list_add(&a->live, c);
    c->dupfd = d;
    c->ino = st.st_ino;
    pthread_mutex_lock(&a->mu);
    grow_by_fd_locked(a, c->fd);
    a->by_fd[c->fd] = c;
    c->gen = ++a->next_gen;
    c->last_us = clock_mono_us();
    pthread_mutex_unlock(&a->mu);
    if (++a->n_live > a->peak_live)
        a->peak_live = a->n_live;
    log_debug("api-conn-open", LOG_STR("listener", c->ac->l->addr), LOG_STR("peer", c->peer),
              LOG_INT("fd", c->fd));
    grpc_server_add_channel_from_fd(a->server, c->fd, a->insecure);
    if (!ev_is_active(&a->sweep_timer))
        ev_timer_again(a->loop, &a->sweep_timer);
}

/* Looks at what the client sent so far: hands it over, drops it or waits. */
static void check_preface(struct api_accept *a, struct conn *c)
{
    char buf[H2_PREFACE_LEN];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(a, c, n == 0 ? "closed by the peer" : strerror(errno));
        return;
    }
    if (memcmp(buf, H2_PREFACE, (size_t)n) != 0) {
        drop(a, c, "not HTTP/2 (no client preface)");
        return;
    }
    if (n == H2_PREFACE_LEN) {
        hand_over(a, c);
        return;
    }
    if (c->state == C_PENDING) {
        ev_io_stop(a->loop, &c->io);
        list_del(&a->pending, c);
        c->state = C_PARTIAL;
        list_add(&a->partial, c);
        if (!ev_is_active(&a->partial_timer))
            ev_timer_again(a->loop, &a->partial_timer);
    }
}

static void on_preface(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = w->data;
    check_preface(c->ac->a, c);
}

static void on_partial(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct api_accept *a = w->data;
    int64_t now = clock_mono_us();
    for (struct conn *c = a->partial.head, *next; c; c = next) {
        next = c->next;
        if (now - c->accepted_us >= a->handshake_us)
            drop(a, c, "handshake timeout");
        else
            check_preface(a, c);
    }
    if (!a->partial.head)
        ev_timer_stop(loop, w);
}

static void on_handshake_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct api_accept *a = w->data;
    int64_t now = clock_mono_us();
    while (a->pending.head && now - a->pending.head->accepted_us >= a->handshake_us)
        drop(a, a->pending.head, "handshake timeout");
    if (a->pending.head) {
        int64_t left = a->pending.head->accepted_us + a->handshake_us - now;
        ev_timer_set(w, (double)left / 1e6 + 0.001, 0.);
        ev_timer_start(loop, w);
    }
}

/* One live connection: reclaimed when gRPC has closed it, shut down when
 * idle too long. */
static void sweep_one(struct api_accept *a, struct conn *c, int64_t now)
{
    struct stat st;
    if (fstat(c->fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_ino != c->ino) {
        gone(a, c);
        return;
    }
    if (c->reaped)
        return;
    pthread_mutex_lock(&a->mu); /* c->peer may change on the CQ thread */
    if (c->active == 0 && now - c->last_us >= a->idle_us) {
        c->reaped = true;
        log_debug("api-conn-closed", LOG_STR("listener", c->ac->l->addr), LOG_STR("peer", c->peer),
                  LOG_STR("reason", "idle timeout"));
        shutdown(c->dupfd, SHUT_RDWR); /* gRPC sees the end and closes */
    }
    pthread_mutex_unlock(&a->mu);
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct api_accept *a = w->data;
    int64_t now = clock_mono_us();
    /* a pass takes at most SWEEP_ROUNDS ticks: its slice grows with the
     * connections but does not shrink as it reclaims them (that would make
     * reclaiming a crowd decay instead of finish) */
    unsigned s = (a->n_live + SWEEP_ROUNDS - 1) / SWEEP_ROUNDS;
    s = s < SWEEP_MIN ? SWEEP_MIN : s;
    if (!a->cursor || s > a->slice)
        a->slice = s;
    for (unsigned n = a->slice; n > 0 && a->live.head; n--) {
        struct conn *c = a->cursor ? a->cursor : a->live.head;
        a->cursor = c->next;
        sweep_one(a, c, now);
        if (!a->cursor)
            break; /* the pass is over; the next tick begins another */
    }
    if (a->peak_live >= TRIM_MIN_PEAK && a->n_live <= a->peak_live / 4) {
        malloc_trim(0); /* give back what a crowd of connections grew */
        a->peak_live = a->n_live;
        /* and again later: gRPC's threads free the rest of a connection
         * after it is closed, on a busy machine seconds later (what they
         * free in the middle of the heap stays there until a trim) */
        a->late_trims = LATE_TRIMS;
        a->late_trim_us = now + LATE_TRIM_US;
    } else if (a->late_trims && now >= a->late_trim_us) {
        malloc_trim(0);
        a->late_trims--;
        a->late_trim_us = now + ((int64_t)LATE_TRIM_US << (LATE_TRIMS - a->late_trims));
    }
    if (!a->live.head && !a->late_trims)
        ev_timer_stop(loop, w);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct acceptor *ac = w->data;
    ev_io_start(loop, &ac->io); /* on_accept says whether it works again */
}

static void pause_acceptor(struct acceptor *ac, int e)
{
    struct api_accept *a = ac->a;
    ev_io_stop(a->loop, &ac->io);
    ev_timer_set(&ac->retry, RETRY_S, 0.);
    ev_timer_start(a->loop, &ac->retry);
    if (ac->paused)
        return;
    ac->paused = true;
    ac->paused_us = clock_mono_us();
    log_warn("api-accept-paused", LOG_STR("listener", ac->l->addr), LOG_STR("error", strerror(e)),
             LOG_INT("retry-ms", (int)(RETRY_S * 1000)),
             LOG_STR("fix", "maglevd is out of descriptors (or memory): the listener waits "
                            "and accepts again when some are free"));
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct acceptor *ac = w->data;
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(ac->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EPROTO))
            continue;
        if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            pause_acceptor(ac, errno);
            return;
        }
        if (ac->paused) {
            ac->paused = false;
            log_info("api-accept-resumed", LOG_STR("listener", ac->l->addr),
                     LOG_INT("paused-ms", (clock_mono_us() - ac->paused_us) / 1000));
        }
        if (fd < 0)
            return;
        admit(ac, fd);
    }
}

struct api_accept *api_accept_new(struct ev_loop *loop, const struct api_accept_limits *lim)
{
    struct api_accept *a = mem_calloc(1, sizeof(*a));
    a->loop = loop;
    a->max_conns = lim->max_conns;
    a->handshake_us = (int64_t)lim->handshake_ms * 1000;
    a->idle_us = (int64_t)lim->idle_ms * 1000;
    pthread_mutex_init(&a->mu, NULL);
    ev_init(&a->handshake_timer, on_handshake_timer);
    a->handshake_timer.data = a;
    ev_init(&a->partial_timer, on_partial);
    a->partial_timer.repeat = PARTIAL_S;
    a->partial_timer.data = a;
    ev_init(&a->sweep_timer, on_sweep);
    a->sweep_timer.repeat = SWEEP_TICK_S;
    a->sweep_timer.data = a;
    return a;
}

static struct acceptor *add_acceptor(struct api_accept *a, struct api_listener *l, int fd)
{
    a->acc = mem_realloc(a->acc, (a->n_acc + 1) * sizeof(*a->acc));
    struct acceptor *ac = &a->acc[a->n_acc++];
    *ac = (struct acceptor){ .a = a, .l = l, .fd = fd };
    return ac;
}

static int listen_unix(struct api_accept *a, struct api_listener *l, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->unix_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: socket: %s", l->addr, strerror(e));
        return -e;
    }
    mode_t um = umask(0177); /* born 0600 until api_listener_set_perms */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(um);
    if (rc == 0) {
        api_listener_bound(l);
        rc = listen(fd, SOMAXCONN);
    }
    if (rc < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "%s: cannot listen (address in use or not valid): %s", l->addr,
                 strerror(e));
        return -e;
    }
    add_acceptor(a, l, fd);
    return 0;
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" (every address), "ipv4:"/"ipv6:" ahead. */
static int split_hostport(const char *addr, char *host, size_t hostlen, const char **port)
{
    if (strncmp(addr, "ipv4:", 5) == 0 || strncmp(addr, "ipv6:", 5) == 0)
        addr += 5;
    const char *end, *colon;
    if (addr[0] == '[') {
        addr++;
        end = strchr(addr, ']');
        colon = end && end[1] == ':' ? end + 1 : NULL;
    } else {
        end = colon = strrchr(addr, ':');
    }
    if (!end || !colon || !colon[1] || (size_t)(end - addr) >= hostlen)
        return -EINVAL;
    memcpy(host, addr, (size_t)(end - addr));
    host[end - addr] = '\0';
    *port = colon + 1;
    return 0;
}

static int listen_tcp(struct api_accept *a, struct api_listener *l, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (split_hostport(l->addr, host, sizeof(host), &port) < 0) {
        snprintf(err, errlen,
                 "%s: cannot listen (address in use or not valid): give HOST:PORT, "
                 "[IPV6]:PORT or :PORT",
                 l->addr);
        return -EINVAL;
    }
    struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int g = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s: cannot listen (address in use or not valid): %s", l->addr,
                 gai_strerror(g));
        return -EINVAL;
    }
    int bound = 0, e = 0;
    bool several = res && res->ai_next;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1, v6only = several;
        if (fd < 0) {
            e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
            e = errno;
            close(fd);
            if (e == EADDRINUSE)
                break; /* all or nothing: someone else has the port */
            continue;  /* e.g. localhost's ::1 without IPv6 */
        }
        add_acceptor(a, l, fd);
        bound++;
    }
    freeaddrinfo(res);
    if (bound == 0 || e == EADDRINUSE) {
        for (; bound > 0; bound--) /* ours are the last ones added */
            close(a->acc[--a->n_acc].fd);
        snprintf(err, errlen, "%s: cannot listen (address in use or not valid): %s", l->addr,
                 strerror(e ? e : EADDRNOTAVAIL));
        return -(e ? e : EADDRNOTAVAIL);
    }
    return 0;
}

int api_accept_listen(struct api_accept *a, struct api_listener *l, char *err, size_t errlen)
{
    return l->unix_path ? listen_unix(a, l, err, errlen) : listen_tcp(a, l, err, errlen);
}

void api_accept_start(struct api_accept *a, grpc_server *server)
{
    a->server = server;
    a->insecure = grpc_insecure_server_credentials_create();
    for (size_t i = 0; i < a->n_acc; i++) {
        struct acceptor *ac = &a->acc[i];
        ev_io_init(&ac->io, on_accept, ac->fd, EV_READ);
        ac->io.data = ac;
        ev_init(&ac->retry, on_retry);
        ac->retry.data = ac;
        ev_io_start(a->loop, &ac->io);
    }
}

void api_accept_stop(struct api_accept *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_acc; i++) {
        ev_io_stop(a->loop, &a->acc[i].io);
        ev_timer_stop(a->loop, &a->acc[i].retry);
        if (a->acc[i].fd >= 0)
            close(a->acc[i].fd);
        a->acc[i].fd = -1;
    }
    while (a->pending.head)
        drop(a, a->pending.head, "server stopping");
    while (a->partial.head)
        drop(a, a->partial.head, "server stopping");
    ev_timer_stop(a->loop, &a->handshake_timer);
    ev_timer_stop(a->loop, &a->partial_timer);
    ev_timer_stop(a->loop, &a->sweep_timer);
}

void api_accept_free(struct api_accept *a)
{
    if (!a)
        return;
    api_accept_stop(a);
    while (a->live.head)
        gone(a, a->live.head);
    if (a->insecure)
        grpc_server_credentials_release(a->insecure);
    pthread_mutex_destroy(&a->mu);
    free(a->by_fd);
    free(a->acc);
    free(a);
}

static struct conn *find_locked(struct api_accept *a, uint64_t token)
{
    size_t fd = (size_t)(token & 0xffffffffu);
    struct conn *c = fd < a->by_fd_len ? a->by_fd[fd] : NULL;
    return c && c->gen == (uint32_t)(token >> 32) ? c : NULL;
}

char *api_accept_call_start(struct api_accept *a, const char *grpc_peer, bool *ro, uint64_t *token)
{
    if (!a || strncmp(grpc_peer, "fd:", 3) != 0)
        return NULL;
    char *end;
    unsigned long fd = strtoul(grpc_peer + 3, &end, 10);
    if (*end || end == grpc_peer + 3)
        return NULL;
    pthread_mutex_lock(&a->mu);
    struct conn *c = fd < a->by_fd_len ? a->by_fd[fd] : NULL;
    if (!c) {
        pthread_mutex_unlock(&a->mu);
        return NULL;
    }
    c->active++;
    *ro = c->ac->l->ro;
    *token = (uint64_t)c->gen << 32 | fd;
    bool lookup = c->cred && !c->named;
    uid_t uid = c->uid;
    char *peer = mem_strdup(c->peer);
    pthread_mutex_unlock(&a->mu);
    if (!lookup)
        return peer;
    /* the user name, once per connection, off the loop thread (NSS may be slow) */
    struct passwd pw, *found = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0)
        found = NULL;
    pthread_mutex_lock(&a->mu);
    if ((c = find_locked(a, *token)) != NULL && !c->named) {
        c->named = true;
        if (found)
            describe(c, found->pw_name);
        free(peer);
        peer = mem_strdup(c->peer);
    }
    pthread_mutex_unlock(&a->mu);
    return peer;
}

void api_accept_call_end(struct api_accept *a, uint64_t token)
{
    pthread_mutex_lock(&a->mu);
    struct conn *c = find_locked(a, token);
    if (c && c->active) {
        c->active--;
        c->last_us = clock_mono_us();
    }
    pthread_mutex_unlock(&a->mu);
}
