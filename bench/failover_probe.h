/* bench/failover_probe: a scripted probe layer for bench_failover. It
 * replaces src/health/probe.c (the bench is built from the health sources
 * with this file instead), so probes never touch the network: the bench
 * decides when each one finishes and whether it passes.
 *
 * Two modes:
 *   hold  every probe that starts is kept, one per backend, until the bench
 *         completes it (fprobe_complete) — a backend's state changes
 *         exactly when the bench says so;
 *   pass  every probe passes as soon as it has started: a zero-delay timer
 *         completes, in the next loop iteration, the probes started in
 *         this one (never from inside probe_start, as the probe contract
 *         requires) — as a result arriving on a socket would.
 * Switching to pass completes the probes held so far the same way.
 *
 * Held probes are not counted in the env's probes in flight: the checker's
 * overload guard (at most 2,048 in flight) would otherwise put off the
 * probe starts of the other backends forever, since a held probe has no
 * timeout. Backends are found by index: the bench gives a function from
 * backend name to index. */
#ifndef MAGLEV_BENCH_FAILOVER_PROBE_H
#define MAGLEV_BENCH_FAILOVER_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fprobe_mode { FPROBE_HOLD, FPROBE_PASS };

/* Before the checker starts: n backends, index_of(name) in 0..n-1. */
void fprobe_setup(size_t n, size_t (*index_of)(const char *backend));
/* Drops what is left (after the checker was freed). */
void fprobe_teardown(void);
void fprobe_set_mode(enum fprobe_mode m);
/* Whether backend i has a probe held. */
bool fprobe_held(size_t i);
size_t fprobe_n_held(void);
/* Completes backend i's held probe (pass or fail): the checker's result
 * callback runs now, inside this call. false when none is held. */
bool fprobe_complete(size_t i, bool pass);

struct fprobe_stats {
    uint64_t started, completed, cancelled;
    uint64_t auto_completed; /* by the pass mode's timer */
    int64_t auto_cpu_ns;     /* thread CPU inside those completions */
};
void fprobe_stats(struct fprobe_stats *out);

#endif
