/* arena: allocations for building one reply, freed together. Internal to
 * src/api. Out of memory aborts. */
#ifndef MAGLEV_API_ARENA_H
#define MAGLEV_API_ARENA_H

#include <stddef.h>

struct arena {
    void **v;
    size_t n, cap;
};

#define ARENA_INIT                                                                                 \
    {                                                                                              \
        0                                                                                          \
    }

void *arena_alloc(struct arena *a, size_t size); /* zeroed */
#define ar_new(a, type)      ((type *)arena_alloc((a), sizeof(type)))
#define ar_array(a, type, n) ((type *)arena_alloc((a), sizeof(type) * ((n) ? (n) : 1)))
char *arena_strdup(struct arena *a, const char *s); /* NULL -> "" */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

#endif
