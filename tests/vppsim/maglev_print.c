/* maglev_print LEN ADDR=WEIGHT...: prints the table src/lb/maglev.c builds,
 * one owner index per bucket (-1: no server), space-separated, then the
 * counts lb_mg_counts gives, for test_maglev_model.py to compare with
 * vppsim's Python model (tools/vppsim/lb.py) and Debian's xxhash.
 * maglev_print --xxhash N...: clib_xxhash of each (decimal) N, in hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/maglev.h"

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--xxhash")) {
        for (int i = 2; i < argc; i++)
            printf("%016llx\n", (unsigned long long)lb_mg_xxhash(strtoull(argv[i], NULL, 0)));
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: maglev_print LEN ADDR=WEIGHT... | --xxhash N...\n");
        return 2;
    }
    uint32_t len = (uint32_t)strtoul(argv[1], NULL, 0);
    size_t n = (size_t)argc - 2;
    struct lb_mg_as *a = calloc(n + 1, sizeof(*a));
    for (size_t i = 0; i < n; i++) {
        char *eq = strrchr(argv[i + 2], '=');
        if (!eq)
            return 2;
        *eq = 0;
        if (ip_addr_parse(argv[i + 2], &a[i].addr) != 0)
            return 2;
        a[i].weight = (uint8_t)atoi(eq + 1);
    }
    int32_t *t = calloc(len ? len : 1, sizeof(*t));
    uint32_t *c = calloc(n + 1, sizeof(*c));
    if (lb_mg_table_alloc(a, n, len, t) != 0)
        return 1;
    for (uint32_t b = 0; b < len; b++)
        printf(b ? " %d" : "%d", t[b]);
    printf("\n");
    uint32_t none = lb_mg_counts(a, n, len, c);
    for (size_t i = 0; i < n; i++)
        printf(i ? " %u" : "%u", c[i]);
    printf("\n%u\n", none);
    free(a);
    free(t);
    free(c);
    return 0;
}
