/* bench_maglev: the cost of the exact Maglev table (src/lb/maglev.c) —
 * what maglevd pays per VIP to predict VPP's table, and what a larger
 * table would cost VPP itself, which runs the same algorithm on every AS
 * add, delete and weight change.
 *
 * For 1,024 buckets with 8, 32 and 256 ASes and for 65,536 buckets with
 * 32 and 256: µs per table (median of --rounds, each timing as many builds
 * as fit in ~20 ms), beside the baseline in the same run, the closed-form
 * bucket counts (lb_mg_counts: what vppsim computes, no table), and the
 * disruption of taking one AS out. Weights 100 (so 256 ASes x 100 exceed
 * 1,024 buckets: the cut list) and mixed 1..100. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb/maglev.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static volatile uint64_t sink;

/* µs per call of what(), the median of rounds */
static double timeit(int rounds, void (*what)(void *), void *ctx)
{
    double med[64];
    rounds = rounds > 64 ? 64 : rounds;
    for (int r = 0; r < rounds; r++) {
        int n = 0;
        double t0 = now_us(), t;
        do {
            what(ctx);
            n++;
            t = now_us();
        } while (t - t0 < 20000);
        med[r] = (t - t0) / n;
    }
    qsort(med, (size_t)rounds, sizeof(*med), dcmp);
    return med[rounds / 2];
}

struct job {
    struct lb_mg_as *ases;
    size_t n;
    uint32_t len;
    int32_t *table;
    uint32_t *counts;
    void *scratch;
};

static void build(void *p)
{
    struct job *j = p;
    lb_mg_table(j->ases, j->n, j->len, j->table, j->scratch);
    sink += (uint64_t)j->table[0];
}

static void counts(void *p)
{
    struct job *j = p;
    sink += lb_mg_counts(j->ases, j->n, j->len, j->counts);
}

int main(int argc, char **argv)
{
    int rounds = 9;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
    if (rounds < 1)
        rounds = 1;
    printf("bench_maglev: median of %d rounds; µs per call\n", rounds);
    printf("%-8s %5s %-6s %12s %14s %16s %10s\n", "buckets", "ASes", "weights", "table (µs)",
           "counts (µs)", "one AS out moves", "ideal");
    static const struct {
        uint32_t len;
        size_t n;
    } cases[] = { { 1024, 8 }, { 1024, 32 }, { 1024, 256 }, { 65536, 32 }, { 65536, 256 } };
    for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++)
        for (int mixed = 0; mixed < 2; mixed++) {
            struct job j = { .n = cases[c].n, .len = cases[c].len };
            j.ases = calloc(j.n, sizeof(*j.ases));
            for (size_t i = 0; i < j.n; i++) {
                char s[32];
                snprintf(s, sizeof(s), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
                ip_addr_parse(s, &j.ases[i].addr);
                j.ases[i].weight = (uint8_t)(mixed ? 1 + (i * 37) % 100 : 100);
            }
            j.table = malloc(j.len * sizeof(*j.table));
            j.counts = malloc(j.n * sizeof(*j.counts));
            j.scratch = malloc(lb_mg_scratch_size(j.ases, j.n, j.len));
            double tt = timeit(rounds, build, &j);
            double tc = timeit(rounds, counts, &j);
            /* one AS (the 4th) out */
            int32_t *t2 = malloc(j.len * sizeof(*t2));
            lb_mg_table(j.ases, j.n, j.len, j.table, j.scratch);
            uint8_t w = j.ases[3].weight;
            j.ases[3].weight = 0;
            lb_mg_table_alloc(j.ases, j.n, j.len, t2);
            j.ases[3].weight = w;
            struct lb_mg_disruption d;
            lb_mg_disruption(j.ases, j.n, j.table, j.ases, j.n, t2, j.len, &d);
            printf("%-8u %5zu %-6s %12.1f %14.2f %9u %5.1f%% %9.1f%%\n", j.len, j.n,
                   mixed ? "1..100" : "100", tt, tc, d.moved, 100.0 * d.moved / j.len,
                   100.0 * d.minimum / j.len);
            free(t2);
            free(j.ases);
            free(j.table);
            free(j.counts);
            free(j.scratch);
        }
    return 0;
}
