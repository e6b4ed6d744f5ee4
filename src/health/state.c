/* state.c: the pure health state machine, history and scheduling maths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "health/state.h"

const char *health_state_name(enum backend_state s)
{
    static const char *const names[BS__COUNT] = { "unknown", "up",       "down",
                                                  "paused",  "disabled", "removed" };
    return (unsigned)s < BS__COUNT ? names[s] : "?";
}

const char *health_event_name(enum health_event e)
{
    static const char *const names[] = { "pass",    "fail",   "static",  "pause", "resume",
                                         "disable", "enable", "restart", "remove" };
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

static uint32_t sm_max(const struct health_sm *sm)
{
    return sm->rise + sm->fall - 1;
}

static void enter_unknown(struct health_sm *sm)
{
    sm->state = BS_UNKNOWN;
    sm->counter = sm->rise - 1;
}

void health_sm_init(struct health_sm *sm, uint32_t rise, uint32_t fall)
{
    sm->rise = rise ? rise : 1;
    sm->fall = fall ? fall : 1;
    enter_unknown(sm);
}

bool health_sm_probing(const struct health_sm *sm)
{
    return sm->state == BS_UNKNOWN || sm->state == BS_UP || sm->state == BS_DOWN;
}

static int sm_pass(struct health_sm *sm)
{
    if (sm->counter < sm_max(sm))
        sm->counter++;
    if (sm->state != BS_UP && sm->counter >= sm->rise) {
        sm->state = BS_UP;
        sm->counter = sm_max(sm);
        return 1;
    }
    return 0;
}

static int sm_fail(struct health_sm *sm)
{
    if (sm->state == BS_UP && sm->counter > sm->rise) {
        sm->counter--;
        return 0;
    }
    if (sm->state == BS_DOWN) {
        if (sm->counter > 0)
            sm->counter--;
        return 0;
    }
    sm->state = BS_DOWN; /* from up at the threshold, or from unknown */
    sm->counter = 0;
    return 1;
}

static int sm_apply(struct health_sm *sm, enum health_event ev)
{
    enum backend_state s = sm->state;
    if (s == BS_REMOVED)
        return ev == HE_PASS || ev == HE_FAIL ? 0 : -EPERM;
    switch (ev) {
    case HE_PASS:
    case HE_FAIL:
        if (!health_sm_probing(sm))
            return 0; /* a late result for a paused/disabled backend */
        return ev == HE_PASS ? sm_pass(sm) : sm_fail(sm);
    case HE_STATIC:
        if (s == BS_DISABLED || s == BS_PAUSED)
            return 0;
        sm->state = BS_UP;
        sm->counter = sm_max(sm);
        return s != BS_UP;
    case HE_PAUSE:
        if (s == BS_DISABLED)
            return -EPERM;
        sm->state = BS_PAUSED;
        return s != BS_PAUSED;
    case HE_RESUME:
        if (s != BS_PAUSED)
            return s == BS_DISABLED ? -EPERM : 0;
        enter_unknown(sm);
        return 1;
    case HE_DISABLE:
        sm->state = BS_DISABLED;
        return s != BS_DISABLED;
    case HE_ENABLE:
        if (s != BS_DISABLED)
            return 0;
        enter_unknown(sm);
        return 1;
    case HE_RESTART:
        if (!health_sm_probing(sm))
            return 0; /* paused and disabled stay so */
        enter_unknown(sm);
        return s != BS_UNKNOWN;
    case HE_REMOVE:
        sm->state = BS_REMOVED;
        return 1;
    }
    return -EINVAL;
}

int health_sm_step(struct health_sm *sm, enum health_event ev, enum backend_state *from)
{
    enum backend_state before = sm->state;
    int rc = sm_apply(sm, ev);
    if (rc == 1 && from)
        *from = before;
    return rc;
}

int64_t health_interval(const struct healthcheck_conf *hc, const struct health_sm *sm)
{
    if (sm->state == BS_UP && sm->counter == sm_max(sm))
        return hc->interval;
    if (sm->state == BS_DOWN && sm->counter == 0)
        return hc->down_interval;
    return hc->fast_interval;
}

int64_t health_stale_after(const struct healthcheck_conf *hc, const struct health_sm *sm)
{
    int64_t now = health_interval(hc, sm);
    int64_t base = now > hc->interval ? now : hc->interval;
    return HEALTH_STALE_FACTOR * base;
}

bool health_late_exceeds(uint64_t started, uint64_t late)
{
    return late > 0 && late * 100 > started;
}

unsigned health_watch_reasons(unsigned stale, unsigned probe_errors, uint64_t started,
                              uint64_t late)
{
    return (stale ? HEALTH_WATCH_STALE : 0) | (probe_errors ? HEALTH_WATCH_PROBE_ERRORS : 0) |
           (health_late_exceeds(started, late) ? HEALTH_WATCH_LATE : 0);
}

const char *health_watch_reasons_text(unsigned reasons, char *buf, size_t len)
{
    static const char *const names[] = { "stale-backends", "probe-errors", "late-probes" };
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (unsigned i = 0; i < 3; i++) {
        if (!(reasons & (1u << i)) || at >= len)
            continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", names[i]);
        at += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

uint64_t health_rng_next(uint64_t *rng)
{
    /* splitmix64 */
    uint64_t z = (*rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t health_rng_seed(const char *name, uint64_t salt)
{
    uint64_t h = 1469598103934665603ull ^ salt;
    for (const unsigned char *p = (const unsigned char *)name; p && *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* Uniform in [0, 1). */
static double unit(uint64_t *rng)
{
    return (double)(health_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

int64_t health_jitter(int64_t interval, uint64_t *rng)
{
    return (int64_t)((double)interval * (0.9 + 0.2 * unit(rng)));
}

int64_t health_first_delay(int64_t interval, uint64_t *rng)
{
    return (int64_t)((double)interval * unit(rng));
}

void health_history_init(struct health_history *h, size_t cap)
{
    memset(h, 0, sizeof(*h));
    health_history_resize(h, cap);
}

void health_history_push(struct health_history *h, const struct health_transition *t)
{
    if (!h->cap)
        return;
    if (h->len < h->cap) {
        h->v[(h->head + h->len) % h->cap] = *t;
        h->len++;
    } else {
        h->v[h->head] = *t;
        h->head = (h->head + 1) % h->cap;
    }
}

const struct health_transition *health_history_at(const struct health_history *h, size_t i)
{
    return i < h->len ? &h->v[(h->head + i) % h->cap] : NULL;
}

void health_history_resize(struct health_history *h, size_t cap)
{
    if (cap == 0)
        cap = 1;
    struct health_transition *v = mem_calloc(cap, sizeof(*v));
    size_t keep = h->len < cap ? h->len : cap;
    for (size_t i = 0; i < keep; i++)
        v[i] = h->v[(h->head + h->len - keep + i) % h->cap];
    free(h->v);
    h->v = v;
    h->cap = cap;
    h->len = keep;
    h->head = 0;
}

void health_history_free(struct health_history *h)
{
    if (!h)
        return;
    free(h->v);
    memset(h, 0, sizeof(*h));
}
