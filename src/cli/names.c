/* names: live backend, frontend, pool and healthcheck names for completion
 * and `?` help, from ListBackends / ListFrontends / ListHealthChecks, each
 * list cached for NAMES_TTL_US (a failed fetch too, so that an unreachable
 * server does not slow every TAB down). */
#include <string.h>

#include "cli/actions.h"
#include "common/clock.h"

enum { N_BACKENDS, N_FRONTENDS, N_HEALTHCHECKS };

static void drop(ProtobufCMessage **m)
{
    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
    *m = NULL;
}

void cli_names_free(struct names_cache *nc)
{
    drop((ProtobufCMessage **)&nc->backends);
    drop((ProtobufCMessage **)&nc->frontends);
    drop((ProtobufCMessage **)&nc->healthchecks);
    memset(nc, 0, sizeof(*nc));
}

/* Refreshes list `which` when older than the TTL; returns it (NULL when the
 * server could not say). */
static ProtobufCMessage *fetch(struct session *s, int which)
{
    static const char *const method[] = { "ListBackends", "ListFrontends", "ListHealthChecks" };
    static const ProtobufCMessageDescriptor *const desc[] = {
        &maglev__list_backends_response__descriptor,
        &maglev__list_frontends_response__descriptor,
        &maglev__list_health_checks_response__descriptor,
    };
    ProtobufCMessage **slot[] = { (ProtobufCMessage **)&s->names.backends,
                                  (ProtobufCMessage **)&s->names.frontends,
                                  (ProtobufCMessage **)&s->names.healthchecks };
    int64_t now = clock_mono_us();
    if (s->names.fetched_us[which] && now - s->names.fetched_us[which] < NAMES_TTL_US)
        return *slot[which];
    drop(slot[which]);
    /* the requests are all empty messages */
    Maglev__ListBackendsRequest req = MAGLEV__LIST_BACKENDS_REQUEST__INIT;
    struct client_status st;
    client_set_timeout(s->client, NAMES_TIMEOUT_MS);
    client_call(s->client, method[which], &req.base, desc[which], slot[which], &st);
    client_set_timeout(s->client, ACTION_TIMEOUT_MS);
    s->names.fetched_us[which] = clock_mono_us();
    return *slot[which];
}

static const Maglev__Frontend *find_frontend(const Maglev__ListFrontendsResponse *r,
                                             const char *name)
{
    for (size_t i = 0; r && name && i < r->n_frontends; i++)
        if (strcmp(r->frontends[i]->name, name) == 0)
            return r->frontends[i];
    return NULL;
}

static const Maglev__Pool *find_pool(const Maglev__Frontend *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->n_pools; i++)
        if (strcmp(f->pools[i]->name, name) == 0)
            return f->pools[i];
    return NULL;
}

int cli_names_fn(void *ctx, enum cmd_slot_kind kind, const struct cmd_parsed *so_far,
                 struct strlist *out)
{
    struct session *s = ctx;
    const char *fe = so_far->arg[ARG_FRONTEND].str, *pool = so_far->arg[ARG_POOL].str;
    switch (kind) {
    case CMD_SLOT_BACKEND:
        if (fe && pool) { /* set frontend F pool P backend NAME: that pool's */
            const Maglev__ListFrontendsResponse *r = (void *)fetch(s, N_FRONTENDS);
            const Maglev__Pool *p = find_pool(find_frontend(r, fe), pool);
            for (size_t i = 0; p && i < p->n_backends; i++)
                cmd_strlist_add(out, p->backends[i]->name);
            return p ? 0 : -1;
        } else {
            const Maglev__ListBackendsResponse *r = (void *)fetch(s, N_BACKENDS);
            for (size_t i = 0; r && i < r->n_backends; i++)
                cmd_strlist_add(out, r->backends[i]->name);
            return r ? 0 : -1;
        }
    case CMD_SLOT_FRONTEND: {
        const Maglev__ListFrontendsResponse *r = (void *)fetch(s, N_FRONTENDS);
        for (size_t i = 0; r && i < r->n_frontends; i++)
            cmd_strlist_add(out, r->frontends[i]->name);
        return r ? 0 : -1;
    }
    case CMD_SLOT_POOL: {
        const Maglev__ListFrontendsResponse *r = (void *)fetch(s, N_FRONTENDS);
        const Maglev__Frontend *f = find_frontend(r, fe);
        for (size_t i = 0; f && i < f->n_pools; i++)
            cmd_strlist_add(out, f->pools[i]->name);
        return f ? 0 : -1;
    }
    case CMD_SLOT_HEALTHCHECK: {
        const Maglev__ListHealthChecksResponse *r = (void *)fetch(s, N_HEALTHCHECKS);
        for (size_t i = 0; r && i < r->n_healthchecks; i++)
            cmd_strlist_add(out, r->healthchecks[i]->name);
        return r ? 0 : -1;
    }
    case CMD_SLOT_NUMBER:
    case CMD_SLOT_NONE:
        break;
    }
    return -1;
}
