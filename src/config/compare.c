/* compare.c: copying and comparing config objects, for reloads. */
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool config_damping_equal(const struct damping_conf *a, const struct damping_conf *b)
{
    if (!a->on || !b->on)
        return a->on == b->on;
    return a->half_life == b->half_life && a->max_suppress == b->max_suppress &&
           a->penalty == b->penalty && a->suppress == b->suppress && a->reuse == b->reuse;
}

/* Probe and damping settings: slow_start is left out on purpose (a changed
 * slow-start must not restart probing; the core compares it through
 * config_backend_slow_start on reload). A damping change is a healthcheck
 * change; the checker keeps probing through one that changes only damping. */
bool config_healthcheck_equal(const struct healthcheck_conf *a, const struct healthcheck_conf *b)
{
    if (!config_damping_equal(&a->damping, &b->damping) || a->type != b->type ||
        a->port != b->port || a->interval != b->interval || a->fast_interval != b->fast_interval ||
        a->down_interval != b->down_interval || a->timeout != b->timeout || a->rise != b->rise ||
        a->fall != b->fall || !ip_addr_equal(&a->source_address, &b->source_address) ||
        !str_eq(a->netns, b->netns) || !str_eq(a->path, b->path) || !str_eq(a->host, b->host) ||
        !str_eq(a->response_regex, b->response_regex) ||
        !str_eq(a->tls_server_name, b->tls_server_name) || a->tls_insecure != b->tls_insecure ||
        a->tls_resume != b->tls_resume || a->n_codes != b->n_codes)
        return false;
    return a->n_codes == 0 || memcmp(a->codes, b->codes, a->n_codes * sizeof(*a->codes)) == 0;
}

void config_healthcheck_copy(struct healthcheck_conf *dst, const struct healthcheck_conf *src)
{
    *dst = *src;
    dst->name = mem_strdup(src->name);
    dst->netns = mem_strdup(src->netns);
    dst->path = mem_strdup(src->path);
    dst->host = mem_strdup(src->host);
    dst->response_regex = mem_strdup(src->response_regex);
    dst->tls_server_name = mem_strdup(src->tls_server_name);
    dst->codes = NULL;
    if (src->n_codes) {
        dst->codes = mem_calloc(src->n_codes, sizeof(*dst->codes));
        memcpy(dst->codes, src->codes, src->n_codes * sizeof(*dst->codes));
    }
}

void config_healthcheck_clear(struct healthcheck_conf *h)
{
    if (!h)
        return;
    free(h->name);
    free(h->netns);
    free(h->path);
    free(h->host);
    free(h->codes);
    free(h->response_regex);
    free(h->tls_server_name);
    memset(h, 0, sizeof(*h));
}

int64_t config_backend_slow_start(const struct maglev_config *cfg, const struct backend_conf *b)
{
    if (b->slow_start_set)
        return b->slow_start;
    if (b->hc_index >= 0 && (size_t)b->hc_index < cfg->n_healthchecks)
        return cfg->healthchecks[b->hc_index].slow_start;
    return 0;
}
