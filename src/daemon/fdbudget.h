/* fdbudget: how many descriptors maglevd may spend on API connections.
 *
 * At start maglevd raises RLIMIT_NOFILE's soft limit to the hard one, keeps
 * a reserve for everything that is not the API — 64 for the daemon itself
 * (log, epoll, gRPC's wake-ups, VPP's API and stats sockets, config reads)
 * plus 2 per backend (a probe's socket, and a second while it reconnects)
 * — and lets the API hold what is left, at 2 descriptors per connection
 * (gRPC's and maglevd's hold on it), capped at 1024 connections by
 * default. An API flood then meets the cap before the limit, so probes and
 * VPP never starve. */
#ifndef MAGLEV_DAEMON_FDBUDGET_H
#define MAGLEV_DAEMON_FDBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define FDBUDGET_BASE        64
#define FDBUDGET_PER_BACKEND 2
#define FDBUDGET_PER_CONN    2
#define FDBUDGET_DEFAULT_MAX 1024

struct fd_budget {
    uint64_t nofile;    /* the soft limit in force */
    uint64_t reserved;  /* kept for probes, VPP and the daemon */
    unsigned max_conns; /* API connections allowed */
    unsigned fits;      /* API connections the limit has room for */
    bool clamped;       /* the requested cap did not fit: max_conns = fits */
};

/* Pure: the budget for a soft limit, a number of backends and the cap asked
 * for (0: the default, min(1024, what fits)). At least 1 connection. */
struct fd_budget fd_budget_compute(uint64_t nofile, unsigned n_backends, unsigned requested);

/* Raises the soft RLIMIT_NOFILE to the hard limit; *before and *after get
 * the soft limit before and after (equal when nothing changed). 0 or
 * -errno (the limit stays). */
int fd_limit_raise(uint64_t *before, uint64_t *after);

#endif
