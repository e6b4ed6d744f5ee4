/* mem.c: allocation that aborts on failure (see mem.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"

static void oom(size_t size)
{
    /* no allocation from here on: a fixed buffer and one write(2) */
    char buf[96];
    int n =
        snprintf(buf, sizeof(buf), "level=error msg=out-of-memory size=%zu action=abort\n", size);
    if (n > 0)
        (void)!write(STDERR_FILENO, buf, (size_t)n);
    abort();
}

void *mem_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    if (!n || !size)
        n = size = 1;
    void *p = calloc(n, size);
    if (!p)
        oom(n * size);
    return p;
}

void *mem_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *mem_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        oom(strlen(s) + 1);
    return d;
}

char *mem_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = strndup(s, n);
    if (!d)
        oom(n + 1);
    return d;
}

void mem_grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            oom(SIZE_MAX);
        c *= 2;
    }
    *v = mem_realloc(*v, c * elem);
    *cap = c;
}
