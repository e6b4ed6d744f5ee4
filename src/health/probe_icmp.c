/* probe_icmp.c: the icmp probe, ICMP (v4) and ICMPv6 echo.
 *
 * Probes share one socket per (family, namespace), kept in the env's
 * struct icmp_env and opened when the first probe needs it; it is closed
 * again when its last probe leaves, so an idle checker holds no ICMP
 * socket (and a raw socket does not get a copy of every ICMP packet of
 * its namespace while nothing is in flight). Each socket has one read
 * watcher and an open-addressed table of the probes in flight, keyed by
 * the 16-bit echo sequence number; a new probe takes the next sequence
 * number not in use.
 *
 * Sockets: ping sockets first (SOCK_DGRAM + IPPROTO_ICMP/ICMPV6, allowed by
 * net.ipv4.ping_group_range): the kernel owns the identifier, delivers
 * only our replies, without IP header, and with IP_RECVERR/IPV6_RECVERR
 * queues ICMP errors about our requests on the error queue. Without them,
 * raw sockets (CAP_NET_RAW): the identifier is ours, replies of every
 * process arrive (filtered by identifier), IPv4 ones with their IP header,
 * and ICMP errors arrive as ordinary packets quoting our request.
 *
 * A reply matches a probe by sequence number, identifier (raw sockets),
 * source address == the probe's target, and the 16-byte random cookie
 * carried as payload. An ICMP error matches by the quoted request: its
 * destination, identifier (raw) and sequence number (and the cookie when
 * the error quotes it).
 *
 * The packets themselves, their parsing and the table are icmp_packet.c's. */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h> /* after time.h: it needs struct timespec */

#include "common/clock.h"
#include "common/duration.h"
#include "common/mem.h"
#include "health/icmp_packet.h"
#include "health/probe_int.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER 1 /* linux/icmp.h, which clashes with netinet/ip_icmp.h */
#endif

#define ICMP_READ_BATCH   64    /* datagrams per wakeup; the watcher fires again */
#define ICMP_BUF_LEN      512   /* enough for an error quoting our request */
#define ICMP_MAX_INFLIGHT 32768 /* per socket; half the sequence numbers stay free */
#define ICMP_RCVBUF       (1 << 20)

struct icmp_sock;

struct icmp_probe {
    struct probe *p;
    struct icmp_sock *sock; /* NULL when not in a socket's table */
    uint16_t seq;
    uint8_t cookie[ICMP_COOKIE_LEN];
};

struct icmp_sock {
    struct icmp_sock *next;
    struct probe_env *env;
    int family;
    char *netns; /* NULL = the daemon's */
    int fd;
    bool raw;
    bool dispatching; /* inside the read callback: do not close yet */
    uint16_t ident;   /* raw sockets only; the kernel picks it for ping sockets */
    uint16_t next_seq;
    ev_io io;
    struct icmp_seq_table probes; /* of struct icmp_probe, by seq */
};

struct icmp_env {
    struct icmp_sock *socks;
    uint64_t rng; /* splitmix64 state for cookies, identifiers, sequences */
    unsigned counter;
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(struct icmp_env *ie)
{
    uint64_t z = (ie->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static bool same_ns(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The address of a sockaddr, or family 0 when it is not IPv4/IPv6. */
static struct ip_addr addr_of(const void *sa, socklen_t len)
{
    struct ip_addr a;
    memset(&a, 0, sizeof(a));
    sa_family_t fam = 0;
    if (len >= sizeof(fam))
        memcpy(&fam, sa, sizeof(fam));
    if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        a.family = AF_INET;
        a.u.v4 = sin.sin_addr;
    } else if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        a.family = AF_INET6;
        a.u.v6 = sin6.sin6_addr;
    }
    return a;
}

/* ---- sockets ---------------------------------------------------------- */

static void icmp_on_read(struct ev_loop *loop, ev_io *w, int revents);

static void sock_close(struct icmp_sock *s)
{
    struct icmp_env *ie = s->env->icmp;
    ev_io_stop(s->env->loop, &s->io);
    close(s->fd);
    for (struct icmp_sock **pp = &ie->socks; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    for (uint32_t i = 0; i < s->probes.cap; i++) { /* only if probes were not cancelled first */
        struct icmp_probe *ip = s->probes.slots[i].item;
        if (ip)
            ip->sock = NULL;
    }
    icmp_seq_free(&s->probes);
    free(s->netns);
    free(s);
}

static void sock_close_if_idle(struct icmp_sock *s)
{
    if (s->probes.n == 0 && !s->dispatching)
        sock_close(s);
}

/* Options; all best effort: without them the socket still works, only
 * with less filtering in the kernel or without ICMP error reports. */
static void sock_setup(int fd, int family, bool raw)
{
    int one = 1, rcvbuf = ICMP_RCVBUF;
    /* many replies may arrive at once; beyond net.core.rmem_max if allowed */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (!raw && family == AF_INET) {
        setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
    } else if (!raw) {
        setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
    } else if (family == AF_INET) {
        /* a mask of the types to block */
        uint32_t block = ~(1u << ICMP4_ECHO_REPLY | 1u << ICMP4_DEST_UNREACH |
                           1u << ICMP4_TIME_EXCEED | 1u << ICMP4_PARAM_PROB);
        setsockopt(fd, SOL_RAW, ICMP_FILTER, &block, sizeof(block));
    } else {
        struct icmp6_filter f;
        ICMP6_FILTER_SETBLOCKALL(&f);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
        ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
        ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
        ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
        ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
        setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
    }
}

static struct icmp_sock *sock_open(struct probe_env *env, int family, const char *netns, char *err,
                                   size_t errlen)
{
    struct icmp_env *ie = env->icmp;
    int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    bool raw = false;
    int fd = netns_socket(netns, family, SOCK_DGRAM, proto, NULL, err, errlen);
    if (fd == -EACCES || fd == -EPERM || fd == -EPROTONOSUPPORT) {
        raw = true;
        fd = netns_socket(netns, family, SOCK_RAW, proto, NULL, err, errlen);
        if (fd == -EACCES || fd == -EPERM) { /* "socket: Operation not permitted" */
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, " (ICMP needs ping_group_range or CAP_NET_RAW)");
        }
    }
    if (fd < 0)
        return NULL;
    struct icmp_sock *s = mem_calloc(1, sizeof(*s));
    s->netns = mem_strdup(netns);
    sock_setup(fd, family, raw);
    s->env = env;
    s->family = family;
    s->fd = fd;
    s->raw = raw;
    s->ident = (uint16_t)(((unsigned)getpid() & 0xffff) ^ (ie->counter++ * 0x9e37u));
    s->next_seq = (uint16_t)rng_next(ie);
    ev_io_init(&s->io, icmp_on_read, fd, EV_READ);
    s->io.data = s;
    ev_io_start(env->loop, &s->io);
    s->next = ie->socks;
    ie->socks = s;
    return s;
}

static struct icmp_sock *sock_get(struct probe_env *env, int family, const char *netns, char *err,
                                  size_t errlen)
{
    if (!env->icmp) {
        struct icmp_env *ie = mem_calloc(1, sizeof(*ie));
        if (getrandom(&ie->rng, sizeof(ie->rng), GRND_NONBLOCK) != sizeof(ie->rng))
            ie->rng = (uint64_t)time(NULL) << 32 ^ (uint64_t)getpid() ^ (uint64_t)clock_mono_us();
        env->icmp = ie;
    }
    for (struct icmp_sock *s = env->icmp->socks; s; s = s->next)
        if (s->family == family && same_ns(s->netns, netns))
            return s;
    return sock_open(env, family, netns, err, errlen);
}

/* Puts ip into s's table under a free sequence number; -EBUSY when
 * ICMP_MAX_INFLIGHT probes use s already. */
static int sock_attach(struct icmp_sock *s, struct icmp_probe *ip)
{
    if (s->probes.n >= ICMP_MAX_INFLIGHT)
        return -EBUSY;
    uint16_t seq = s->next_seq;
    while (icmp_seq_find(&s->probes, seq))
        seq++;
    icmp_seq_put(&s->probes, seq, ip);
    s->next_seq = (uint16_t)(seq + 1);
    ip->seq = seq;
    ip->sock = s;
    return 0;
}

static void sock_detach(struct icmp_probe *ip)
{
    struct icmp_sock *s = ip->sock;
    if (!s)
        return;
    icmp_seq_remove(&s->probes, ip->seq);
    ip->sock = NULL;
    sock_close_if_idle(s);
}

/* ---- sending ---------------------------------------------------------- */

/* Sends ip's echo request; the source address per packet (the socket is
 * shared). Returns 0 or -errno. */
static int icmp_send(const struct icmp_sock *s, const struct icmp_probe *ip,
                     const struct ip_addr *dst, const struct ip_addr *src)
{
    uint8_t pkt[ICMP_ECHO_LEN];
    /* ping sockets put their own identifier */
    icmp_echo_build(pkt, s->family, s->raw ? s->ident : 0, ip->seq, ip->cookie);

    struct sockaddr_storage ss;
    struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
    struct msghdr mh = { .msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1 };
    mh.msg_namelen = probe_sockaddr(dst, 0, &ss);
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    memset(&cbuf, 0, sizeof(cbuf));
    if (ip_addr_is_set(src)) {
        struct cmsghdr *c = &cbuf.align;
        mh.msg_control = cbuf.buf;
        if (s->family == AF_INET) {
            struct in_pktinfo pi = { .ipi_spec_dst = src->u.v4 };
            mh.msg_controllen = CMSG_SPACE(sizeof(pi));
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        } else {
            struct in6_pktinfo pi6 = { .ipi6_addr = src->u.v6 };
            mh.msg_controllen = CMSG_SPACE(sizeof(pi6));
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi6));
            memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
        }
    }
    int e = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (sendmsg(s->fd, &mh, 0) >= 0)
            return 0;
        e = errno;
        /* A ping socket with IP_RECVERR also reports a pending asynchronous
         * error (an ICMP error about another probe's request) on send,
         * once; the error queue keeps the details for the read callback.
         * So one retry tells a stale error from a real one. */
        if (e != EINTR && (s->raw || attempt > 0 || e == EAGAIN || e == EWOULDBLOCK))
            break;
    }
    return -e;
}

/* Whether src can be bound to in p's namespace; err says why not. Only
 * asked after a failed send: the kernel reports a source address that is
 * not local as ENETUNREACH (IPv4) or EINVAL (IPv6). Binds without
 * IPV6_FREEBIND, as the send does not use it either. */
static bool source_unusable(const struct probe *p, const struct ip_addr *src, char *err,
                            size_t errlen)
{
    int fd = netns_socket(p->netns, src->family, SOCK_DGRAM, 0, NULL, err, errlen);
    if (fd < 0)
        return false; /* the namespace was there a moment ago: report the send error */
    struct sockaddr_storage ss;
    socklen_t len = probe_sockaddr(src, 0, &ss);
    bool bad = bind(fd, (struct sockaddr *)&ss, len) < 0;
    if (bad) {
        char a[IP_ADDR_STRLEN];
        snprintf(err, errlen, "bind to source %s: %s", ip_addr_format(src, a, sizeof(a)),
                 strerror(errno));
    }
    close(fd);
    return bad;
}

static void icmp_send_error(const struct probe *p, int err, const struct ip_addr *src,
                            struct probe_result *r)
{
    char why[PROBE_DETAIL_MAX];
    if (ip_addr_is_set(src) && (err == ENETUNREACH || err == EINVAL || err == EADDRNOTAVAIL) &&
        source_unusable(p, src, why, sizeof(why))) {
        probe_result_set(r, PC_SOCKERR, "%s", why);
        return;
    }
    switch (err) {
    case EADDRNOTAVAIL: /* no source address for the route */
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
        probe_result_set(r, PC_SOCKERR, "send: %s", strerror(err));
        break;
    default:
        probe_result_from_errno(err, r);
        break;
    }
}

/* ---- receiving -------------------------------------------------------- */

/* Finishes ip with L4CON for an ICMP error from offender (family 0 when
 * unknown), which is named when it is not the target itself. */
static void icmp_error_finish(struct icmp_probe *ip, int family, uint8_t type, uint8_t code,
                              const struct ip_addr *offender)
{
    const char *what = icmp_error_text(family, type, code);
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    char a[IP_ADDR_STRLEN];
    if (!what) /* not an error type we asked for */
        return;
    if (ip_addr_is_set(offender) && !ip_addr_equal(offender, &ip->p->addr))
        probe_result_set(&r, PC_L4CON, "%s (from %s)", what,
                         ip_addr_format(offender, a, sizeof(a)));
    else
        probe_result_set(&r, PC_L4CON, "%s", what);
    probe_finish(ip->p, &r);
}

/* The probe an echo header of ours refers to, sent to dst; NULL when it
 * is not ours. */
static struct icmp_probe *icmp_lookup(const struct icmp_sock *s, const struct icmp_echo *echo,
                                      const struct ip_addr *dst, bool need_cookie)
{
    if (s->raw && echo->ident != s->ident)
        return NULL;
    struct icmp_probe *ip = icmp_seq_find(&s->probes, echo->seq);
    if (!ip || !ip_addr_equal(dst, &ip->p->addr))
        return NULL;
    if (echo->has_cookie ? memcmp(echo->cookie, ip->cookie, ICMP_COOKIE_LEN) != 0 : need_cookie)
        return NULL;
    return ip;
}

/* A packet from the socket's ordinary queue: an echo reply, or on a raw
 * socket an ICMP error quoting our request. */
static void icmp_handle_packet(struct icmp_sock *s, const uint8_t *buf, size_t len,
                               const struct ip_addr *from)
{
    struct icmp_msg m;
    if (from->family != s->family ||
        !icmp_parse(s->family, s->raw && s->family == AF_INET, buf, len, &m))
        return;
    if (m.is_reply) {
        struct icmp_probe *ip = icmp_lookup(s, &m.echo, from, true);
        if (ip) {
            struct probe_result r;
            memset(&r, 0, sizeof(r));
            probe_result_set(&r, PC_L4OK, "echo reply");
            probe_finish(ip->p, &r);
        }
    } else if (s->raw) { /* ping sockets report errors on the error queue */
        struct icmp_probe *ip = icmp_lookup(s, &m.echo, &m.dst, false);
        if (ip)
            icmp_error_finish(ip, s->family, m.type, m.code, from);
    }
}

/* Ping sockets: ICMP errors about our requests, with the quoted echo
 * header as data and the request's destination as the address. */
static void icmp_read_errqueue(struct icmp_sock *s)
{
    for (int i = 0; i < ICMP_READ_BATCH; i++) {
        uint8_t buf[ICMP_BUF_LEN];
        struct sockaddr_storage dst_ss;
        union {
            char buf[512];
            struct cmsghdr align;
        } cbuf;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
            .msg_name = &dst_ss,
            .msg_namelen = sizeof(dst_ss),
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = cbuf.buf,
            .msg_controllen = sizeof(cbuf.buf),
        };
        ssize_t n = recvmsg(s->fd, &mh, MSG_ERRQUEUE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: the queue is empty */
        }
        struct sock_extended_err ee;
        struct ip_addr offender;
        bool found = false;
        memset(&offender, 0, sizeof(offender));
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                  (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
                c->cmsg_len < CMSG_LEN(sizeof(ee)))
                continue;
            memcpy(&ee, CMSG_DATA(c), sizeof(ee));
            /* SO_EE_OFFENDER: the sender of the error follows ee */
            offender = addr_of(CMSG_DATA(c) + sizeof(ee), c->cmsg_len - CMSG_LEN(sizeof(ee)));
            found = true;
        }
        if (!found || (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6))
            continue; /* local errors concern sends, which report them themselves */
        struct ip_addr dst = addr_of(&dst_ss, mh.msg_namelen);
        struct icmp_echo echo;
        struct icmp_probe *ip =
            icmp_echo_parse(buf, (size_t)n, &echo) ? icmp_lookup(s, &echo, &dst, false) : NULL;
        if (ip)
            icmp_error_finish(ip, s->family, ee.ee_type, ee.ee_code, &offender);
    }
}

static void icmp_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct icmp_sock *s = w->data;
    /* Finishing a probe runs its callback, which may start or cancel
     * probes on this socket: keep it open until the loop below is done. */
    s->dispatching = true;
    if (!s->raw)
        icmp_read_errqueue(s);
    for (int i = 0; i < ICMP_READ_BATCH && s->probes.n > 0; i++) {
        uint8_t buf[ICMP_BUF_LEN];
        struct sockaddr_storage from_ss;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
            .msg_name = &from_ss,
            .msg_namelen = sizeof(from_ss),
            .msg_iov = &iov,
            .msg_iovlen = 1,
        };
        ssize_t n = recvmsg(s->fd, &mh, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            /* EINTR, or a pending asynchronous error of a ping socket,
             * reported once; the error queue has the details */
            continue;
        }
        struct ip_addr from = addr_of(&from_ss, mh.msg_namelen);
        icmp_handle_packet(s, buf, (size_t)n, &from);
    }
    s->dispatching = false;
    sock_close_if_idle(s);
}

/* ---- the probe type --------------------------------------------------- */

static void icmp_start(struct probe *p)
{
    struct icmp_probe *ip = mem_calloc(1, sizeof(*ip));
    ip->p = p;
    p->impl = ip;

    const struct ip_addr *src = &p->hc->source_address;
    char a[IP_ADDR_STRLEN], err[PROBE_DETAIL_MAX];
    if (ip_addr_is_set(src) && src->family != p->addr.family) {
        probe_fail_soon(p, PC_SOCKERR, "source-address %s is not %s",
                        ip_addr_format(src, a, sizeof(a)), ip_addr_family_name(p->addr.family));
        return;
    }
    struct icmp_sock *s = sock_get(p->env, p->addr.family, p->netns, err, sizeof(err));
    if (!s) {
        probe_fail_soon(p, PC_SOCKERR, "%s", err);
        return;
    }
    int rc = sock_attach(s, ip);
    if (rc < 0) {
        sock_close_if_idle(s);
        probe_fail_soon(p, PC_SOCKERR, "too many ICMP probes in flight");
        return;
    }
    uint64_t c[2] = { rng_next(p->env->icmp), rng_next(p->env->icmp) };
    memcpy(ip->cookie, c, sizeof(ip->cookie));
    rc = icmp_send(s, ip, &p->addr, src);
    if (rc < 0) {
        struct probe_result r;
        memset(&r, 0, sizeof(r));
        sock_detach(ip); /* nothing to wait for */
        icmp_send_error(p, -rc, src, &r);
        probe_fail_soon(p, r.code, "%s", r.detail);
    }
}

static void icmp_timed_out(struct probe *p, struct probe_result *r)
{
    char d[DURATION_BUFSZ];
    probe_result_set(r, PC_L4TOUT, "no echo reply within %s",
                     duration_format(p->hc->timeout, d, sizeof(d)));
}

static void icmp_release(struct probe *p)
{
    struct icmp_probe *ip = p->impl;
    if (!ip)
        return;
    sock_detach(ip);
    free(ip);
    p->impl = NULL;
}

const struct probe_ops probe_icmp_ops = {
    .start = icmp_start,
    .timed_out = icmp_timed_out,
    .release = icmp_release,
};

void probe_icmp_env_free(struct probe_env *env)
{
    struct icmp_env *ie = env->icmp;
    if (!ie)
        return;
    while (ie->socks)
        sock_close(ie->socks);
    free(ie);
    env->icmp = NULL;
}
