/* regex_cache.c: compiled response-regexes, most recently used first. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "health/regex_cache.h"

/* A compiled response-regex, keyed by the healthcheck and its pattern. */
struct regex_entry {
    struct regex_entry *next; /* most recently used first */
    const struct healthcheck_conf *hc;
    char *pattern;
    pcre2_code *code;
};

static void regex_entry_free(struct regex_entry *e)
{
    pcre2_code_free(e->code);
    free(e->pattern);
    free(e);
}

const pcre2_code *regex_cache_get(struct regex_cache *c, const struct healthcheck_conf *hc,
                                  char *err, size_t errlen)
{
    const char *pat = hc->response_regex;
    struct regex_entry **pp = &c->head, *e;
    while ((e = *pp)) {
        if (e->hc != hc) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        if (strcmp(e->pattern, pat) == 0) { /* hit: move to the front */
            e->next = c->head;
            c->head = e;
            return e->code;
        }
        /* the same conf pointer with another pattern: a stale entry */
        regex_entry_free(e);
        c->n--;
    }
    int rc;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[96];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(err, errlen, "response-regex: %s at offset %zu", (const char *)msg, (size_t)off);
        return NULL;
    }
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* the interpreter otherwise */
    e = mem_calloc(1, sizeof(*e));
    e->hc = hc;
    e->pattern = mem_strdup(pat);
    e->code = code;
    e->next = c->head;
    c->head = e;
    if (++c->n > REGEX_CACHE_MAX) { /* drop the least recently used */
        for (pp = &c->head; (*pp)->next; pp = &(*pp)->next)
            ;
        regex_entry_free(*pp);
        *pp = NULL;
        c->n--;
    }
    return code;
}

void regex_cache_clear(struct regex_cache *c)
{
    while (c->head) {
        struct regex_entry *e = c->head;
        c->head = e->next;
        regex_entry_free(e);
    }
    c->n = 0;
}
