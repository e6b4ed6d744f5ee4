#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/arena.h"
#include "common/mem.h"

void *arena_alloc(struct arena *a, size_t size)
{
    mem_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v));
    void *p = mem_calloc(1, size);
    a->v[a->n++] = p;
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    s = s ? s : "";
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, n > 0 ? (size_t)n + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(p, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}
