/* A scripted VPP sync for test_core (in place of src/vpp/sync.c): records
 * what the core tells it (targeted changes with their triggers, reloads),
 * keeps the source the core gives it, and plays the warm-up phase the
 * test sets. */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "fake_vpp_sync.h"

struct vpp_sync {
    int unused;
};

struct fake_sync fake_sync;

struct vpp_sync *vpp_sync_new(struct ev_loop *loop, const struct vpp_sync_opts *opts,
                              const struct vpp_sync_source *src)
{
    (void)loop;
    fake_sync.src = *src;
    fake_sync.opts = *opts;
    fake_sync.created++;
    return mem_calloc(1, sizeof(struct vpp_sync));
}

void vpp_sync_start(struct vpp_sync *s)
{
    (void)s;
    fake_sync.started++;
}

void vpp_sync_free(struct vpp_sync *s)
{
    if (s)
        fake_sync.freed++;
    free(s);
}

void vpp_sync_reloaded(struct vpp_sync *s, double interval, size_t n_frontends)
{
    (void)s;
    fake_sync.reloads++;
    fake_sync.reload_interval = interval;
    fake_sync.reload_n_frontends = n_frontends;
}

void vpp_sync_vip_changed(struct vpp_sync *s, size_t fe, const char *trigger, int64_t cause_us)
{
    (void)s;
    (void)cause_us;
    if (fake_sync.n_changes < FAKE_SYNC_MAX) {
        fake_sync.changes[fake_sync.n_changes].fe = fe;
        fake_sync.changes[fake_sync.n_changes].trigger = trigger;
        fake_sync.n_changes++;
    }
}

enum vpp_warmup vpp_sync_warmup(const struct vpp_sync *s)
{
    (void)s;
    return fake_sync.warmup;
}

enum vpp_as_status vpp_sync_as_status(const struct vpp_sync *s, const struct lb_vip_key *vip,
                                      const struct ip_addr *as, uint8_t want, int *vpp_weight,
                                      const char **error)
{
    (void)s;
    (void)vip;
    (void)as;
    *vpp_weight = fake_sync.as_weight;
    *error = fake_sync.as_error ? fake_sync.as_error : "";
    if (fake_sync.as_status == VPP_AS_APPLIED && fake_sync.as_weight != want)
        return VPP_AS_PENDING;
    return fake_sync.as_status;
}

void fake_sync_reset(void)
{
    memset(&fake_sync, 0, sizeof(fake_sync));
    fake_sync.warmup = VPP_WARMUP_OVER;
    fake_sync.as_weight = -1;
}

size_t fake_sync_count(size_t fe, const char *trigger)
{
    size_t n = 0;
    for (size_t i = 0; i < fake_sync.n_changes; i++)
        if (fake_sync.changes[i].fe == fe &&
            (!trigger || !strcmp(fake_sync.changes[i].trigger, trigger)))
            n++;
    return n;
}
