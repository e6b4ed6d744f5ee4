/* bench/metrics: what a Prometheus scrape costs the loop, with 10,000
 * backends in 1,000 frontends (two pools of 5 each; every backend on a
 * 127.x address with a tcp healthcheck at a 1 s interval on a port where
 * nothing listens: 10,000 probes a second, all L4CON), on the real core
 * and the real endpoint (libmicrohttpd on the loop, 127.0.0.1, a free
 * port). Two phases of the same run, side by side:
 *   baseline   probes only, no scrape;
 *   scrapes    the same, and a client thread (libcurl) scraping /metrics
 *              once a second, as Prometheus would (at 1 s, not 15 s).
 * Per phase: probe lateness (actual minus planned start, from the
 * checker's histogram: p50, p99, max, share > 10 ms), the longest loop
 * block (ev_check to the next ev_prepare). For the scrapes: the body
 * size and series, the render time (the loop time to write the text, in
 * slices of ~2 ms) and its longest slice, the loop time per scrape
 * (MHD_run, rendering and sending included), and the client's time.
 * A benchmark, not a test: it asserts nothing.
 * --backends N (frontends N / 10), --seconds S per phase (default 15). */
#include <curl/curl.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "config/config.h"
#include "core/core.h"
#include "metrics/metrics.h"

#define MAX_SCRAPES 600

static double now_ms(void)
{
    return (double)clock_mono_us() / 1e3;
}

static void write_config(const char *path, int nb)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  healthchecks:\n    h: {type: tcp, port: 9, interval: 1s, "
                     "fast-interval: 1s, down-interval: 1s, timeout: 1s}\n  backends:\n");
    for (int i = 0; i < nb; i++)
        strbuf_addf(&sb, "    b%d: {address: 127.%d.%d.%d, healthcheck: h}\n", i,
                    1 + (i >> 16 & 127), i >> 8 & 255, 1 + (i & 127) * 2);
    strbuf_adds(&sb, "  frontends:\n");
    for (int f = 0; f < nb / 10; f++) {
        int b = f * 10;
        strbuf_addf(&sb,
                    "    f%d:\n      address: 10.%d.%d.%d\n      protocol: tcp\n"
                    "      port: 80\n      pools:\n",
                    f, f >> 16 & 255, f >> 8 & 255, f & 255);
        for (int p = 0; p < 2; p++) {
            strbuf_addf(&sb, "      - name: p%d\n        backends: {", p);
            for (int k = 0; k < 5; k++)
                strbuf_addf(&sb, "%sb%d: ", k ? ", " : "", b + p * 5 + k);
            strbuf_adds(&sb, "}\n");
        }
    }
    strbuf_adds(
        &sb, "  vpp:\n    lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: \"2001:db8::1\"}\n");
    FILE *fp = fopen(path, "w");
    fputs(strbuf_str(&sb), fp);
    fclose(fp);
    strbuf_free(&sb);
}

/* ---- the loop's longest block ---- */

struct blockmeter {
    ev_check check;
    ev_prepare prepare;
    double woke, max;
};

static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    (void)loop, (void)revents;
    struct blockmeter *m = (struct blockmeter *)((char *)w - offsetof(struct blockmeter, check));
    m->woke = now_ms();
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop, (void)revents;
    struct blockmeter *m = w->data;
    if (m->woke > 0) {
        double t = now_ms() - m->woke;
        if (t > m->max)
            m->max = t;
    }
}

/* ---- the scraper thread ---- */

struct scraper {
    int port;
    int n;
    double client_ms[MAX_SCRAPES], render_ms[MAX_SCRAPES], slice_ms[MAX_SCRAPES];
    size_t bytes, series;
    int failed;
    struct ev_loop *loop;
    ev_async done;
    pthread_t thread;
    struct strbuf body;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    strbuf_add(ctx, p, sz * n);
    return sz * n;
}

static void *scrape_main(void *arg)
{
    struct scraper *s = arg;
    CURL *h = curl_easy_init();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s->port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s->body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    for (int i = 0; i < s->n; i++) {
        double start = now_ms();
        strbuf_reset(&s->body);
        if (curl_easy_perform(h) != CURLE_OK) {
            s->failed++;
        } else {
            s->client_ms[i] = now_ms() - start;
            s->bytes = s->body.len;
            s->series = 0;
            for (const char *p = strbuf_str(&s->body); (p = strchr(p, '\n')); p++)
                s->series += p[1] && p[1] != '#';
            /* the render time of the scrape before, as the endpoint says */
            const char *r = strstr(strbuf_str(&s->body), "\nmaglev_metrics_last_render_seconds ");
            if (r && i > 0)
                s->render_ms[i - 1] = strtod(strchr(r + 1, ' ') + 1, NULL) * 1e3;
            r = strstr(strbuf_str(&s->body), "\nmaglev_metrics_last_render_slice_seconds ");
            if (r && i > 0)
                s->slice_ms[i - 1] = strtod(strchr(r + 1, ' ') + 1, NULL) * 1e3;
        }
        double left = 1000.0 - (now_ms() - start);
        if (left > 0)
            usleep((useconds_t)(left * 1e3));
    }
    curl_easy_cleanup(h);
    ev_async_send(s->loop, &s->done);
    return NULL;
}

/* ---- phases ---- */

struct phase {
    const char *name;
    uint64_t late[CHECKER_LATENESS_BUCKETS + 1];
    double block_max;
    double loop_s;
    uint64_t scrapes;
};

struct bench {
    struct core *core;
    struct metrics *metrics;
    struct blockmeter bm;
    struct scraper sc;
    uint64_t snap[CHECKER_LATENESS_BUCKETS + 1];
    double loop_snap;
    uint64_t scrapes_snap;
    struct phase ph[2];
    int cur;
    double seconds;
    ev_timer t;
};

static void phase_begin(struct bench *b)
{
    memcpy(b->snap, core_health_stats(b->core)->lateness, sizeof(b->snap));
    b->bm.max = 0;
    b->loop_snap = metrics_loop_seconds(b->metrics);
    b->scrapes_snap = metrics_scrapes(b->metrics);
}

static void phase_end(struct bench *b, struct phase *p)
{
    const uint64_t *now = core_health_stats(b->core)->lateness;
    for (size_t i = 0; i <= CHECKER_LATENESS_BUCKETS; i++)
        p->late[i] = now[i] - b->snap[i];
    p->block_max = b->bm.max;
    p->loop_s = metrics_loop_seconds(b->metrics) - b->loop_snap;
    p->scrapes = metrics_scrapes(b->metrics) - b->scrapes_snap;
}

static void on_scrapes_done(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    struct bench *b = w->data;
    phase_end(b, &b->ph[1]);
    pthread_join(b->sc.thread, NULL);
    ev_break(loop, EVBREAK_ALL);
}

static void on_phase(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct bench *b = w->data;
    if (b->cur == 0) { /* warm-up over: the baseline */
        phase_begin(b);
        b->cur = 1;
        ev_timer_set(w, b->seconds, 0);
        ev_timer_start(loop, w);
    } else { /* baseline over: scrapes until the scraper is done */
        phase_end(b, &b->ph[0]);
        phase_begin(b);
        b->cur = 2;
        pthread_create(&b->sc.thread, NULL, scrape_main, &b->sc);
    }
}

static void quantiles(const uint64_t *h, double *p50, double *p99, double *max, double *over10,
                      uint64_t *n)
{
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i <= CHECKER_LATENESS_BUCKETS; i++)
        total += h[i];
    *n = total;
    *p50 = *p99 = *max = *over10 = 0;
    for (size_t i = 0; i <= CHECKER_LATENESS_BUCKETS; i++) {
        double ms = (double)(i + 1) * 0.01; /* upper edge of the 10 µs bucket */
        if (!h[i])
            continue;
        if (acc < total / 2 && acc + h[i] >= total / 2)
            *p50 = ms;
        if (acc < total * 99 / 100 && acc + h[i] >= total * 99 / 100)
            *p99 = ms;
        acc += h[i];
        *max = i == CHECKER_LATENESS_BUCKETS ? 20.0 : ms;
        if (ms > 10)
            *over10 += (double)h[i];
    }
    if (total)
        *over10 = *over10 * 100.0 / (double)total;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int main(int argc, char **argv)
{
    int nb = 10000;
    double seconds = 15;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backends") && i + 1 < argc)
            nb = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--backends N] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (nb < 10 || seconds < 2 || seconds > MAX_SCRAPES) {
        fprintf(stderr, "--backends >= 10, --seconds 2..%d\n", MAX_SCRAPES);
        return 2;
    }
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, open("/dev/null", O_WRONLY | O_CLOEXEC));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char dir[] = "/tmp/bench-metrics-XXXXXX", path[256];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/maglev.yaml", dir);
    write_config(path, nb);
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_file(path, &cfg, &d) < 0) {
        char *e = config_diag_format(&d, 0);
        fprintf(stderr, "bench config invalid: %s\n", e);
        return 1;
    }
    config_diags_free(&d);

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    static struct bench b;
    b.seconds = seconds;
    b.core = core_new(loop, path, cfg);
    b.metrics = metrics_new(loop);
    metrics_add_daemon(b.metrics, b.core);
    metrics_add_vpp(b.metrics, b.core);
    metrics_add_api(b.metrics, NULL);
    int port = free_port();
    char addr[32], err[512];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    struct metrics_listeners *l = NULL;
    if (port < 0 || metrics_listen(addr, &l, err, sizeof(err)) < 0 ||
        metrics_serve(b.metrics, l, err, sizeof(err)) < 0) {
        fprintf(stderr, "metrics endpoint: %s\n", port < 0 ? "no free port" : err);
        return 1;
    }
    ev_check_init(&b.bm.check, on_check);
    ev_prepare_init(&b.bm.prepare, on_prepare);
    b.bm.prepare.data = &b.bm;
    ev_check_start(loop, &b.bm.check);
    ev_prepare_start(loop, &b.bm.prepare);
    b.sc.port = port;
    b.sc.n = (int)seconds;
    b.sc.loop = loop;
    ev_async_init(&b.sc.done, on_scrapes_done);
    b.sc.done.data = &b;
    ev_async_start(loop, &b.sc.done);
    ev_timer_init(&b.t, on_phase, 5.0, 0); /* warm-up: every backend probed a few times */
    b.t.data = &b;
    ev_timer_start(loop, &b.t);
    printf("bench-metrics: %d backends, %d frontends (2 pools x 5), tcp probes every 1 s; "
           "%.0f s per phase\n",
           nb, nb / 10, seconds);
    ev_run(loop, 0);

    b.ph[0].name = "baseline";
    b.ph[1].name = "scrapes";
    printf("\n%-9s %8s %9s %9s %9s %9s %9s\n", "phase", "probes", "late p50", "late p99",
           "late max", "> 10 ms", "block max");
    for (int i = 0; i < 2; i++) {
        double p50, p99, max, over;
        uint64_t n;
        quantiles(b.ph[i].late, &p50, &p99, &max, &over, &n);
        printf("%-9s %8llu %6.2f ms %6.2f ms %s%5.2f ms %8.2f%% %6.1f ms\n", b.ph[i].name,
               (unsigned long long)n, p50, p99, max >= 20 ? ">" : " ", max, over,
               b.ph[i].block_max);
    }
    double r_sum = 0, r_max = 0, c_sum = 0, c_max = 0, s_max = 0;
    int rn = 0, cn = 0;
    for (int i = 0; i < b.sc.n; i++) {
        if (b.sc.render_ms[i] > 0) {
            r_sum += b.sc.render_ms[i];
            r_max = b.sc.render_ms[i] > r_max ? b.sc.render_ms[i] : r_max;
            s_max = b.sc.slice_ms[i] > s_max ? b.sc.slice_ms[i] : s_max;
            rn++;
        }
        if (b.sc.client_ms[i] > 0) {
            c_sum += b.sc.client_ms[i];
            c_max = b.sc.client_ms[i] > c_max ? b.sc.client_ms[i] : c_max;
            cn++;
        }
    }
    printf("\nscrapes: %llu served, %d failed; body %.1f MB, %zu series\n",
           (unsigned long long)b.ph[1].scrapes, b.sc.failed, (double)b.sc.bytes / 1048576.0,
           b.sc.series);
    printf("render (loop, slices): mean %6.1f ms, max %6.1f ms; longest slice %.1f ms\n",
           rn ? r_sum / rn : 0., r_max, s_max);
    printf("loop time per scrape:  mean %6.1f ms (render + HTTP send)\n",
           b.ph[1].scrapes ? b.ph[1].loop_s * 1e3 / (double)b.ph[1].scrapes : 0.);
    printf("client time:           mean %6.1f ms, max %6.1f ms\n", cn ? c_sum / cn : 0., c_max);

    metrics_stop(b.metrics);
    core_free(b.core);
    ev_loop_destroy(loop);
    strbuf_free(&b.sc.body);
    unlink(path);
    rmdir(dir);
    curl_global_cleanup();
    return 0;
}
