/* bench/config_load: how long loading and validating a config takes, next
 * to a baseline in the same run: libyaml alone scanning the same bytes
 * (the floor any YAML-based loader stands on). Prints one row per size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "config/config.h"

static double now_ms(void)
{
    return (double)clock_mono_us() / 1e3;
}

/* n backends in n/100 frontends with two pools each. */
static char *make_config(int n)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  healthchecks:\n    h: {type: http, port: 80, interval: 1s}\n"
                     "  backends:\n");
    for (int i = 0; i < n; i++)
        strbuf_addf(&sb, "    be%d: {address: 10.%d.%d.%d, healthcheck: h}\n", i, i >> 16 & 255,
                    i >> 8 & 255, i & 255);
    strbuf_adds(&sb, "  frontends:\n");
    for (int f = 0; f < n / 100; f++) {
        strbuf_addf(&sb,
                    "    fe%d:\n      address: 192.0.%d.%d\n      protocol: tcp\n      port: 80\n"
                    "      pools:\n        - name: primary\n          backends:\n",
                    f, f >> 8 & 255, f & 255);
        for (int i = 0; i < 50; i++)
            strbuf_addf(&sb, "            be%d: {}\n", f * 100 + i);
        strbuf_adds(&sb, "        - name: backup\n          backends:\n");
        for (int i = 50; i < 100; i++)
            strbuf_addf(&sb, "            be%d: {weight: 50}\n", f * 100 + i);
    }
    strbuf_adds(&sb, "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                     "      ipv6-src-address: 2001:db8::1\n");
    return strbuf_detach(&sb);
}

static double bench_libyaml(const char *data, size_t len)
{
    double t0 = now_ms();
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev))
            abort();
        int end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end)
            break;
    }
    yaml_parser_delete(&p);
    return now_ms() - t0;
}

static double bench_loader(const char *data, size_t len)
{
    double t0 = now_ms();
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_buffer("bench.yaml", data, len, &cfg, &d) < 0) {
        fprintf(stderr, "bench config invalid: %s\n", config_diag_format(&d, 0));
        exit(1);
    }
    double t = now_ms() - t0;
    config_free(cfg);
    config_diags_free(&d);
    return t;
}

static double best_of(double (*fn)(const char *, size_t), const char *data, size_t len, int runs)
{
    double best = 1e18;
    for (int i = 0; i < runs; i++) {
        double t = fn(data, len);
        if (t < best)
            best = t;
    }
    return best;
}

int main(void)
{
    static const int sizes[] = { 100, 1000, 10000, 50000 };
    printf("%-9s %10s %14s %14s %8s\n", "backends", "bytes", "libyaml ms", "loader ms", "ratio");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *cfg = make_config(sizes[i]);
        size_t len = strlen(cfg);
        double base = best_of(bench_libyaml, cfg, len, 5);
        double ours = best_of(bench_loader, cfg, len, 5);
        printf("%-9d %10zu %14.2f %14.2f %7.2fx\n", sizes[i], len, base, ours, ours / base);
        free(cfg);
    }
    return 0;
}
