/* fdbudget.c: see fdbudget.h. */
#include "daemon/fdbudget.h"

#include <errno.h>
#include <sys/resource.h>

struct fd_budget fd_budget_compute(uint64_t nofile, unsigned n_backends, unsigned requested)
{
    struct fd_budget b = { .nofile = nofile };
    b.reserved = FDBUDGET_BASE + (uint64_t)FDBUDGET_PER_BACKEND * n_backends;
    uint64_t room = nofile > b.reserved ? (nofile - b.reserved) / FDBUDGET_PER_CONN : 0;
    b.fits = room > 1000000 ? 1000000 : room < 1 ? 1 : (unsigned)room;
    unsigned want = requested ? requested : FDBUDGET_DEFAULT_MAX;
    b.max_conns = want <= b.fits ? want : b.fits;
    b.clamped = requested && requested > b.fits;
    return b;
}

int fd_limit_raise(uint64_t *before, uint64_t *after)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    *before = *after = rl.rlim_cur;
    if (rl.rlim_cur == rl.rlim_max)
        return 0;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max; /* fs.nr_open's default */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    *after = rl.rlim_cur;
    return 0;
}
