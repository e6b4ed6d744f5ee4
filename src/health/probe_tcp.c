/* probe_tcp.c: the tcp probe. A non-blocking connect to the backend's
 * port; the probe passes (L4OK) as soon as the three-way handshake is
 * complete, and the connection is closed at once with a normal close.
 *
 * Why a normal close and not SO_LINGER {1, 0} (RST): a FIN is what any
 * client does, so the backend's application and logs see an ordinary
 * short connection instead of "connection reset by peer" every interval.
 * The price is one TIME_WAIT socket on our side per probe, which the
 * kernel handles cheaply (and reuses for outgoing connects). If the
 * backend already sent data (a banner) that we never read, the kernel
 * resets the connection anyway. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/mem.h"
#include "health/probe_int.h"

struct tcp_probe {
    ev_io io; /* writability of the connecting socket */
    int fd;
};

/* Delivers a result found while starting, on the next loop iteration. */
static void tcp_defer(struct probe *p, const struct probe_result *r)
{
    probe_fail_soon(p, r->code, "%s", r->detail);
}

/* A connect(2) error: local resource shortages are ours (SOCKERR), the
 * rest says something about the path to the backend. */
static void tcp_connect_error(int err, struct probe_result *r)
{
    switch (err) {
    case EADDRNOTAVAIL: /* no free local port */
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
        probe_result_set(r, PC_SOCKERR, "connect: %s", strerror(err));
        break;
    default:
        probe_result_from_errno(err, r);
        break;
    }
}

static void tcp_on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct probe *p = w->data;
    struct tcp_probe *t = p->impl;
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY || err == EINTR)
        return; /* spurious wakeup: keep waiting */
    if (err == 0)
        probe_result_set(&r, PC_L4OK, "connected");
    else
        tcp_connect_error(err, &r);
    probe_finish(p, &r); /* releases t, which closes the connection */
}

static void tcp_start(struct probe *p)
{
    char err[PROBE_DETAIL_MAX];
    int fd = netns_socket(p->netns, p->addr.family, SOCK_STREAM, 0, &p->hc->source_address, err,
                          sizeof(err));
    if (fd < 0) {
        probe_fail_soon(p, PC_SOCKERR, "%s", err);
        return;
    }
    struct tcp_probe *t = mem_calloc(1, sizeof(*t));
    t->fd = fd;
    ev_io_init(&t->io, tcp_on_writable, fd, EV_WRITE);
    t->io.data = p;
    p->impl = t; /* from here on release() closes fd */

    struct sockaddr_storage ss;
    socklen_t sslen = probe_sockaddr(&p->addr, p->hc->port, &ss);
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    if (connect(fd, (struct sockaddr *)&ss, sslen) == 0) {
        /* possible on loopback; the callback still waits for the loop */
        probe_result_set(&r, PC_L4OK, "connected");
        tcp_defer(p, &r);
        return;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        tcp_connect_error(errno, &r);
        tcp_defer(p, &r);
        return;
    }
    ev_io_start(p->env->loop, &t->io);
}

static void tcp_timed_out(struct probe *p, struct probe_result *r)
{
    char d[DURATION_BUFSZ];
    probe_result_set(r, PC_L4TOUT, "no connection within %s",
                     duration_format(p->hc->timeout, d, sizeof(d)));
}

static void tcp_release(struct probe *p)
{
    struct tcp_probe *t = p->impl;
    if (!t)
        return;
    ev_io_stop(p->env->loop, &t->io);
    close(t->fd);
    free(t);
    p->impl = NULL;
}

const struct probe_ops probe_tcp_ops = {
    .start = tcp_start,
    .timed_out = tcp_timed_out,
    .release = tcp_release,
};
