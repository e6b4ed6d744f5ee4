/* mem: the one out-of-memory policy (see CONTRIBUTING.md).
 *
 * maglevd does not try to limp on without memory: an allocation of its own
 * state that fails logs `msg=out-of-memory` (with the size) and aborts, so
 * a supervisor (systemd Restart=on-failure) starts it afresh. These
 * wrappers are the only place that decides that; code never checks their
 * result. Sizes that an outside party controls (a VPP dump, a config
 * file, an API request) are bounded before they are allocated and
 * refused with a clear error instead (-E2BIG, a config error,
 * RESOURCE_EXHAUSTED). */
#ifndef MAGLEV_COMMON_MEM_H
#define MAGLEV_COMMON_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t n, size_t size); /* n == 0 or size == 0 still returns memory */
void *mem_realloc(void *p, size_t size);
char *mem_strdup(const char *s); /* NULL stays NULL */
char *mem_strndup(const char *s, size_t n);
/* Grows *v (of *cap elements of size elem) to hold at least need. */
void mem_grow(void **v, size_t *cap, size_t need, size_t elem);

#endif
