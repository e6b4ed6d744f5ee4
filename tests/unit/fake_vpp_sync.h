/* A scripted VPP sync for test_core (tests/unit/fake_vpp_sync.c replaces
 * src/vpp/sync.c and sync_vip.c in that test). */
#ifndef MAGLEV_TESTS_FAKE_VPP_SYNC_H
#define MAGLEV_TESTS_FAKE_VPP_SYNC_H

#include <stddef.h>

#include "vpp/sync.h"

#define FAKE_SYNC_MAX 512

struct fake_change {
    size_t fe;
    const char *trigger;
};

struct fake_sync {
    /* what the core gave */
    struct vpp_sync_source src;
    struct vpp_sync_opts opts;
    int created, started, freed;
    /* vpp_sync_vip_changed calls, in order */
    struct fake_change changes[FAKE_SYNC_MAX];
    size_t n_changes;
    /* vpp_sync_reloaded calls */
    int reloads;
    double reload_interval;
    size_t reload_n_frontends;
    /* scripted answers */
    enum vpp_warmup warmup;
    enum vpp_as_status as_status; /* APPLIED only when as_weight == want */
    int as_weight;
    const char *as_error;
};

extern struct fake_sync fake_sync;

/* Forgets everything; warm-up over, every AS pending. */
void fake_sync_reset(void);
/* vpp_sync_vip_changed calls for frontend fe (with that trigger, or any
 * when trigger is NULL). */
size_t fake_sync_count(size_t fe, const char *trigger);

#endif
