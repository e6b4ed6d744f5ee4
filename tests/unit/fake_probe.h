/* The scripted probe layer (tests/unit/fake_probe.c replaces the real
 * probes): probes never touch the network; the test completes them with
 * the result it wants. */
#ifndef MAGLEV_TESTS_FAKE_PROBE_H
#define MAGLEV_TESTS_FAKE_PROBE_H

#include "health/probe_int.h"

/* The probes in flight, in start order. */
extern struct probe *fake_probes[256];
extern int fake_n;
/* Probes started since the test reset it. */
extern int fake_started;

/* TLS session caches the probes made and the checker has not freed. */
extern int fake_tls_live;

/* Completes probe i (of fake_probes) with code. */
void fake_complete(int i, enum probe_code code);
/* The index of the probe of backend in flight, -1 if none. */
int fake_find(const char *backend);
/* Runs loop until a probe of backend is in flight (fails after 20 s: the
 * first probe starts within one interval) and completes it with code. */
void fake_drive(struct ev_loop *loop, const char *backend, enum probe_code code);

#endif
