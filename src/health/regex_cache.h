/* Internal to src/health: compiled response-regexes, so that a probe does
 * not compile its healthcheck's pattern each time. The https probe keeps
 * one cache per probe env (probe_http.c's struct http_env), the native
 * http probe one for the process (probe_http_native.c; the loop thread is
 * its only user). Not thread-safe.
 *
 * Entries are keyed by the healthcheck (its address) and its pattern: a
 * reloaded config may reuse an address with another pattern, which then
 * replaces the stale entry. At most REGEX_CACHE_MAX are kept, the least
 * recently used going first. */
#ifndef MAGLEV_HEALTH_REGEX_CACHE_H
#define MAGLEV_HEALTH_REGEX_CACHE_H

#include <stddef.h>

#include "config/config.h"

#define REGEX_CACHE_MAX 64

struct pcre2_real_code_8;
struct regex_entry;

struct regex_cache {
    struct regex_entry *head; /* most recently used first */
    size_t n;
};

/* The compiled hc->response_regex (not NULL), from the cache or compiled
 * now (with JIT when available); valid until the entry goes (evicted, or
 * replaced by another pattern for hc) or regex_cache_clear(). NULL with
 * err set ("response-regex: ...") when it does not compile. */
const struct pcre2_real_code_8 *
regex_cache_get(struct regex_cache *c, const struct healthcheck_conf *hc, char *err, size_t errlen);
/* Frees every entry; c is empty afterwards. */
void regex_cache_clear(struct regex_cache *c);

#endif
