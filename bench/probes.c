/* bench/probes: the health-checking engine under load, next to HAProxy
 * measured in the same run.
 *
 * N backends (default 1,000 and 10,000) are loopback addresses
 * 127.x.y.z, all served by one nginx this program starts (listening on
 * 0.0.0.0:PORT, so every 127/8 address answers; `return 200` on /healthz).
 * For each N, two phases run one after the other against the same nginx:
 *
 *   maglevd  the engine of src/health in a forked child (a fresh process, so
 *            its RSS is not blurred by an earlier phase): N backends, one
 *            http healthcheck every 1 s (timeout 1 s), on a libev loop;
 *   haproxy  `haproxy -db` (nbthread 1) with the same N servers and
 *            `check inter 1s`, `option httpchk` GET /healthz.
 *
 * Each phase warms up for WARMUP_S (the first probes are spread over one
 * interval), then is measured over a window of --seconds. Figures:
 *   - probes/s, counted the same way for both from nginx's access log
 *     (requests whose log time falls in the window);
 *   - prober CPU over the window (maglevd: getrusage(RUSAGE_SELF) of the
 *     child, user + sys; haproxy: utime + stime from /proc/PID/stat) and
 *     CPU µs per probe, with the ratio maglevd / haproxy;
 *   - maglevd RSS per backend: VmRSS at the end of the window minus VmRSS
 *     before the config was loaded (after a 1-backend checker already ran
 *     one probe, so OpenSSL & co. are loaded and initialised), over N;
 *   - maglevd scheduling lateness (actual minus planned probe start),
 *     p50/p99/p99.9 of the window, from checker_get_stats().
 * Targets (from the issue) are printed with PASS/MISS, for information:
 * this is a benchmark; it exits 0 whatever the figures.
 *
 * Needs nginx and haproxy in PATH; root helps (RLIMIT_NOFILE). */
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <ev.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "config/config.h"
#include "health/health.h"

#define WARMUP_S   2.0 /* one interval (first probes spread over it) + 1 s */
#define MAX_SIZES  8
#define MAX_WORKER 16

struct opts {
    double seconds;
    int sizes[MAX_SIZES];
    int n_sizes;
    int port;
    int nginx_workers;
    bool haproxy;
    bool keep;
    int stall_ms; /* block the prober once, a quarter into the window */
    bool https;   /* --https: the https phases instead of the http ones */
    int tls;      /* the phase: 0 http, 1 https resuming, 2 https full handshakes */
};

/* One phase's figures. Plain data: the maglevd phase sends it over a pipe. */
struct phase {
    bool ok;
    char err[400];
    double t0_real, t1_real; /* the window, wall clock (nginx's $msec) */
    double window_s;
    double cpu_user_s, cpu_sys_s;
    double nginx_cpu_s;
    uint64_t nginx_reqs, nginx_200; /* from the access log, in the window */
    uint64_t nginx_reused;          /* of which over a resumed TLS session */
    /* maglevd only */
    uint64_t probes, passes, started; /* the prober's own counts, in the window */
    size_t up;                        /* backends up at the end */
    double setup_ms;                  /* checker_new */
    long rss_base_kb, rss_cfg_kb, rss_kb;
    uint64_t lateness[CHECKER_LATENESS_BUCKETS + 1];
    /* system-wide TCP counters over the window (/proc/net/snmp): on
     * loopback both ends count, and nothing else is running */
    uint64_t tcp_opens, tcp_segs, tcp_rsts;
    /* haproxy only */
    long hap_rss_kb;
};

/* ActiveOpens, OutSegs and OutRsts from /proc/net/snmp. */
static void tcp_counters(uint64_t *opens, uint64_t *segs, uint64_t *rsts)
{
    char names[512], vals[512];
    *opens = *segs = *rsts = 0;
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f)
        return;
    while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
        if (strncmp(names, "Tcp:", 4) != 0)
            continue;
        char *sn, *sv, *n = strtok_r(names + 4, " \n", &sn), *v = strtok_r(vals + 4, " \n", &sv);
        for (; n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv)) {
            uint64_t x = strtoull(v, NULL, 10);
            if (strcmp(n, "ActiveOpens") == 0)
                *opens = x;
            else if (strcmp(n, "OutSegs") == 0)
                *segs = x;
            else if (strcmp(n, "OutRsts") == 0)
                *rsts = x;
        }
        break;
    }
    fclose(f);
}

static void tcp_window(struct phase *r, bool end)
{
    uint64_t o, g, t;
    tcp_counters(&o, &g, &t);
    if (!end) {
        r->tcp_opens = o;
        r->tcp_segs = g;
        r->tcp_rsts = t;
    } else {
        r->tcp_opens = o - r->tcp_opens;
        r->tcp_segs = g - r->tcp_segs;
        r->tcp_rsts = t - r->tcp_rsts;
    }
}

static char tmpdir[256];
static pid_t nginx_pid = -1, haproxy_pid = -1;
static pid_t nginx_workers[MAX_WORKER];
static int n_nginx_workers;

/* ---- small helpers ---- */

/* The shared clocks (common/clock.h) in seconds. */
static double mono_s(void)
{
    return (double)clock_mono_us() / 1e6;
}

static double real_s(void)
{
    return (double)clock_wall_us() / 1e6;
}

static void sleep_until(double deadline)
{
    for (;;) {
        double left = deadline - mono_s();
        if (left <= 0)
            return;
        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* VmRSS of pid (0 = self) in kB, -1 when unknown. */
static long vmrss_kb(pid_t pid)
{
    char path[64], line[256];
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/status");
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* utime + stime of pid in clock ticks; ppid through *ppid. -1 on error. */
static long long proc_ticks(pid_t pid, int *ppid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p)
        return -1;
    char state;
    int pp;
    unsigned long long ut, st;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &pp, &ut,
               &st) != 4)
        return -1;
    if (ppid)
        *ppid = pp;
    return (long long)(ut + st);
}

static double ticks_s(long long t)
{
    return (double)t / (double)sysconf(_SC_CLK_TCK);
}

static double nginx_cpu_s(void)
{
    long long t = 0, x;
    if (nginx_pid > 0 && (x = proc_ticks(nginx_pid, NULL)) > 0)
        t += x;
    for (int i = 0; i < n_nginx_workers; i++)
        if ((x = proc_ticks(nginx_workers[i], NULL)) > 0)
            t += x;
    return ticks_s(t);
}

static void find_nginx_workers(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    n_nginx_workers = 0;
    while (d && (e = readdir(d)) && n_nginx_workers < MAX_WORKER) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int ppid = 0;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (proc_ticks(pid, &ppid) >= 0 && ppid == nginx_pid)
            nginx_workers[n_nginx_workers++] = pid;
    }
    if (d)
        closedir(d);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_probes: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Backend i's address: 127.1.1.1, 127.1.1.2, ... (no .0 and no .255). */
static void backend_addr(int i, char *buf, size_t len)
{
    int a = i / 250;
    snprintf(buf, len, "127.%d.%d.%d", 1 + a / 250, a % 250 + 1, i % 250 + 1);
}

static pid_t spawn(char *const argv[], const char *out_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static void stop_child(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, sig);
    double deadline = mono_s() + 10;
    while (waitpid(*pid, NULL, WNOHANG) == 0) {
        if (mono_s() > deadline) {
            kill(*pid, SIGKILL);
            waitpid(*pid, NULL, 0);
            break;
        }
        usleep(10000);
    }
    *pid = -1;
}

static void on_fatal_signal(int sig)
{
    if (haproxy_pid > 0)
        kill(haproxy_pid, SIGKILL);
    if (nginx_pid > 0)
        kill(nginx_pid, SIGTERM);
    _exit(128 + sig);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void print_file_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

/* Requests nginx logged with a time in [t0, t1): all, those with 200, and
 * those over a resumed TLS session. */
static void count_log(double t0, double t1, struct phase *p)
{
    uint64_t *all = &p->nginx_reqs, *ok = &p->nginx_200;
    char path[300], line[128];
    snprintf(path, sizeof(path), "%s/access.log", tmpdir);
    *all = *ok = p->nginx_reused = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        double t;
        int status;
        char reused = '.';
        if (sscanf(line, "%lf %d %c", &t, &status, &reused) < 2 || t < t0 || t >= t1)
            continue;
        (*all)++;
        *ok += status == 200;
        p->nginx_reused += reused == 'r';
    }
    fclose(f);
}

/* ---- nginx ---- */

static void start_nginx(const struct opts *o)
{
    char path[300], out[300];
    struct strbuf sb = STRBUF_INIT, tls = STRBUF_INIT;
    if (o->https) {
        /* ECDSA P-256: nginx's signature per full handshake stays cheap, so
         * nginx does not limit the rate; TLS 1.3 (tickets) as in Debian's
         * nginx.conf (1.22 alone offers TLS 1.2 at most) */
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                 " -subj /CN=bench.example -days 2 -keyout %s/key.pem -out %s/cert.pem"
                 " >/dev/null 2>&1",
                 tmpdir, tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_probes: openssl could not make a certificate\n");
            exit(1);
        }
        strbuf_addf(&tls,
                    "        ssl_certificate %s/cert.pem;\n"
                    "        ssl_certificate_key %s/key.pem;\n"
                    "        ssl_protocols TLSv1.2 TLSv1.3;\n",
                    tmpdir, tmpdir);
    }
    strbuf_addf(&sb,
                "worker_processes %d;\n"
                "worker_rlimit_nofile 1048576;\n"
                "user root;\n"
                "pid %s/nginx.pid;\n"
                "daemon off;\n"
                "events { worker_connections 65536; multi_accept on; }\n"
                "http {\n"
                "    log_format probe '$msec $status $ssl_session_reused';\n"
                "    access_log %s/access.log probe buffer=256k flush=1s;\n"
                "    client_body_temp_path %s/tmp;\n"
                "    proxy_temp_path %s/tmp;\n"
                "    fastcgi_temp_path %s/tmp;\n"
                "    uwsgi_temp_path %s/tmp;\n"
                "    scgi_temp_path %s/tmp;\n"
                "    keepalive_timeout 0;\n"
                "    server {\n"
                "        listen %d backlog=65535%s;\n"
                "%s"
                "        location = /healthz { return 200 \"ok\\n\"; }\n"
                "        location / { return 404; }\n"
                "    }\n"
                "}\n",
                o->nginx_workers, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, o->port,
                o->https ? " ssl" : "", tls.buf ? tls.buf : "");
    strbuf_free(&tls);
    snprintf(path, sizeof(path), "%s/tmp", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/nginx.conf", tmpdir);
    write_file(path, sb.buf);
    strbuf_free(&sb);
    char err[300];
    snprintf(err, sizeof(err), "%s/nginx-error.log", tmpdir);
    snprintf(out, sizeof(out), "%s/nginx.out", tmpdir);
    char *argv[] = { "nginx", "-p", tmpdir, "-c", path, "-e", err, NULL };
    nginx_pid = spawn(argv, out);
    double deadline = mono_s() + 10;
    while (!port_open(o->port)) {
        if (waitpid(nginx_pid, NULL, WNOHANG) != 0 || mono_s() > deadline) {
            fprintf(stderr, "bench_probes: nginx did not start:\n");
            print_file_tail(out);
            print_file_tail(err);
            nginx_pid = -1;
            exit(1);
        }
        usleep(20000);
    }
    usleep(200000);
    find_nginx_workers();
}

/* ---- the maglevd phase (in a child process) ---- */

static char *make_config(int n, int port, int tls)
{
    struct strbuf sb = STRBUF_INIT;
    char a[32];
    strbuf_addf(&sb,
                "maglev:\n  healthchecks:\n"
                "    h: {type: %s, port: %d, interval: 1s, fast-interval: 1s,"
                " down-interval: 1s, timeout: 1s, rise: 2, fall: 3, params: {path: /healthz%s}}\n"
                "  backends:\n",
                tls ? "https" : "http", port,
                tls == 1   ? ", tls-insecure: true"
                : tls == 2 ? ", tls-insecure: true, tls-resume: false"
                           : "");
    for (int i = 0; i < n; i++) {
        backend_addr(i, a, sizeof(a));
        strbuf_addf(&sb, "    b%05d: {address: %s, healthcheck: h}\n", i, a);
    }
    strbuf_adds(&sb, "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                     "      ipv6-src-address: 2001:db8::1\n");
    return strbuf_detach(&sb);
}

static struct maglev_config *load(int n, int port, int tls)
{
    char *yaml = make_config(n, port, tls);
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_buffer("bench-probes.yaml", yaml, strlen(yaml), &cfg, &d) < 0) {
        fprintf(stderr, "bench config invalid: %s\n", config_diag_format(&d, 0));
        exit(1);
    }
    config_diags_free(&d);
    free(yaml);
    return cfg;
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void run_for(struct ev_loop *loop, double s)
{
    ev_timer t;
    ev_now_update(loop);
    ev_timer_init(&t, on_stop, s, 0.);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_timer_stop(loop, &t);
}

static void on_stall(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    usleep((useconds_t)(*(int *)w->data) * 1000); /* the loop thread stops: a stall */
}

static void rusage_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sum_probes(const struct checker *ck, uint64_t *probes, uint64_t *passes, size_t *up)
{
    *probes = *passes = 0;
    if (up)
        *up = 0;
    for (size_t i = 0; i < checker_count(ck); i++) {
        const struct backend_rt *b = checker_at(ck, i);
        *probes += b->probes;
        *passes += b->passes;
        if (up && b->sm.state == BS_UP)
            (*up)++;
    }
}

/* Loads OpenSSL & co. and runs one probe, so that the RSS baseline holds
 * everything a checker of any size needs once. */
static void warm_probe_env(int port, int tls)
{
    struct maglev_config *cfg = load(1, port, tls);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct checker *ck = checker_new(loop, cfg);
    for (int i = 0; i < 40 && checker_at(ck, 0)->probes == 0; i++)
        run_for(loop, 0.1);
    checker_free(ck);
    ev_loop_destroy(loop);
    config_free(cfg);
}

static void maglevd_phase(int n, const struct opts *o, struct phase *r)
{
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, STDERR_FILENO);
    warm_probe_env(o->port, o->tls);
    r->rss_base_kb = vmrss_kb(0);
    struct maglev_config *cfg = load(n, o->port, o->tls);
    r->rss_cfg_kb = vmrss_kb(0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

    double t = mono_s();
    struct checker *ck = checker_new(loop, cfg);
    r->setup_ms = (mono_s() - t) * 1e3;
    run_for(loop, WARMUP_S);

    static struct checker_stats st0;
    uint64_t p0, s0;
    double u0, y0, u1, y1, n0 = nginx_cpu_s();
    st0 = *checker_get_stats(ck);
    sum_probes(ck, &p0, &s0, NULL);
    rusage_s(&u0, &y0);
    tcp_window(r, false);
    double m0 = mono_s();
    r->t0_real = real_s();

    ev_timer stall;
    int stall_ms = o->stall_ms;
    ev_timer_init(&stall, on_stall, o->seconds / 4, 0.);
    stall.data = &stall_ms;
    if (stall_ms > 0)
        ev_timer_start(loop, &stall);
    run_for(loop, o->seconds);
    ev_timer_stop(loop, &stall);

    rusage_s(&u1, &y1);
    tcp_window(r, true);
    r->t1_real = real_s();
    r->window_s = mono_s() - m0;
    r->nginx_cpu_s = nginx_cpu_s() - n0;
    r->rss_kb = vmrss_kb(0);
    const struct checker_stats *st1 = checker_get_stats(ck);
    sum_probes(ck, &r->probes, &r->passes, &r->up);
    r->probes -= p0;
    r->passes -= s0;
    r->started = st1->probes_started - st0.probes_started;
    for (int b = 0; b <= CHECKER_LATENESS_BUCKETS; b++)
        r->lateness[b] = st1->lateness[b] - st0.lateness[b];
    r->cpu_user_s = u1 - u0;
    r->cpu_sys_s = y1 - y0;
    r->ok = true;

    checker_free(ck);
    ev_loop_destroy(loop);
    config_free(cfg);
}

static bool read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t k = read(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

static void write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        p += k;
        len -= (size_t)k;
    }
}

static void run_maglevd(int n, const struct opts *o, struct phase *r)
{
    int fds[2];
    if (pipe(fds) < 0) {
        perror("pipe");
        exit(1);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fds[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct phase *res = mem_calloc(1, sizeof(*res));
        maglevd_phase(n, o, res);
        write_full(fds[1], res, sizeof(*res));
        _exit(0);
    }
    close(fds[1]);
    memset(r, 0, sizeof(*r));
    if (!read_full(fds[0], r, sizeof(*r))) {
        memset(r, 0, sizeof(*r));
        snprintf(r->err, sizeof(r->err), "the maglevd child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

/* ---- the haproxy phase ---- */

static void run_haproxy(int n, const struct opts *o, struct phase *r)
{
    char cfg_path[300], out[300], a[32];
    memset(r, 0, sizeof(*r));
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb,
                "global\n"
                "    nbthread 1\n"
                "    maxconn 2000\n" /* haproxy wants 2 fds a connection + 1 a check */
                "defaults\n"
                "    mode http\n"
                "    timeout connect 1s\n"
                "    timeout check 1s\n"
                "    timeout client 5s\n"
                "    timeout server 5s\n"
                "frontend dummy\n"
                "    bind unix@%s/haproxy.sock\n"
                "    default_backend be\n"
                "backend be\n"
                "    option httpchk\n"
                "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost\n"
                "    default-server check inter 1s fastinter 1s downinter 1s rise 2 fall 3%s\n",
                tmpdir,
                o->tls == 1   ? " check-ssl verify none"
                : o->tls == 2 ? " check-ssl verify none no-ssl-reuse"
                              : "");
    for (int i = 0; i < n; i++) {
        backend_addr(i, a, sizeof(a));
        strbuf_addf(&sb, "    server s%05d %s:%d\n", i, a, o->port);
    }
    snprintf(cfg_path, sizeof(cfg_path), "%s/haproxy.cfg", tmpdir);
    write_file(cfg_path, sb.buf);
    strbuf_free(&sb);
    snprintf(out, sizeof(out), "%s/haproxy.out", tmpdir);
    char *argv[] = { "haproxy", "-db", "-f", cfg_path, NULL };
    haproxy_pid = spawn(argv, out);

    sleep_until(mono_s() + WARMUP_S);
    if (waitpid(haproxy_pid, NULL, WNOHANG) != 0) {
        haproxy_pid = -1;
        snprintf(r->err, sizeof(r->err), "haproxy exited; see %s", out);
        print_file_tail(out);
        return;
    }
    long long h0 = proc_ticks(haproxy_pid, NULL);
    double n0 = nginx_cpu_s();
    tcp_window(r, false);
    double m0 = mono_s();
    r->t0_real = real_s();
    if (o->stall_ms > 0) { /* the same stall: stop haproxy for as long */
        sleep_until(m0 + o->seconds / 4);
        kill(haproxy_pid, SIGSTOP);
        sleep_until(mono_s() + o->stall_ms / 1e3);
        kill(haproxy_pid, SIGCONT);
    }
    sleep_until(m0 + o->seconds);
    long long h1 = proc_ticks(haproxy_pid, NULL);
    tcp_window(r, true);
    r->t1_real = real_s();
    r->window_s = mono_s() - m0;
    r->nginx_cpu_s = nginx_cpu_s() - n0;
    r->hap_rss_kb = vmrss_kb(haproxy_pid);
    stop_child(&haproxy_pid, SIGTERM);
    if (h0 < 0 || h1 < 0) {
        snprintf(r->err, sizeof(r->err), "cannot read /proc/PID/stat of haproxy");
        return;
    }
    r->cpu_user_s = ticks_s(h1 - h0); /* user + sys together */
    r->ok = true;
}

/* ---- figures ---- */

/* The upper bound of the bucket holding quantile q, in ms; INFINITY for
 * the overflow bucket (>= 20 ms). */
static double lateness_ms(const uint64_t *h, double q)
{
    uint64_t total = 0, cum = 0;
    for (int b = 0; b <= CHECKER_LATENESS_BUCKETS; b++)
        total += h[b];
    if (!total)
        return NAN;
    uint64_t want = (uint64_t)ceil(q * (double)total);
    if (want < 1)
        want = 1;
    for (int b = 0; b <= CHECKER_LATENESS_BUCKETS; b++) {
        cum += h[b];
        if (cum >= want)
            return b == CHECKER_LATENESS_BUCKETS ? INFINITY : (double)(b + 1) * 0.01;
    }
    return INFINITY;
}

static const char *fmt_ms(double ms, char *buf, size_t len)
{
    if (isnan(ms))
        snprintf(buf, len, "-");
    else if (isinf(ms))
        snprintf(buf, len, ">=20");
    else
        snprintf(buf, len, "%.2f", ms);
    return buf;
}

struct row {
    int n;
    struct phase m, h;
};

static double cpu_s(const struct phase *p)
{
    return p->cpu_user_s + p->cpu_sys_s;
}

static double rate(const struct phase *p)
{
    return p->window_s > 0 ? (double)p->nginx_reqs / p->window_s : 0;
}

static double us_per_probe(const struct phase *p)
{
    return p->nginx_reqs ? cpu_s(p) * 1e6 / (double)p->nginx_reqs : NAN;
}

static double rss_per_backend(const struct row *w)
{
    return (double)(w->m.rss_kb - w->m.rss_base_kb) * 1024. / w->n;
}

static void print_row(const struct row *w, const struct opts *o)
{
    const struct phase *m = &w->m, *h = &w->h;
    char b1[32], b2[32], b3[32];
    printf("\n== %d backends: http GET /healthz every 1s, %.0f s window after %.0f s warm-up ==\n",
           w->n, m->window_s, WARMUP_S);
    printf("%-34s %14s %14s\n", "", "maglevd", o->haproxy ? "haproxy 2.6" : "");
    printf("%-34s %14.1f", "probes/s (nginx access log)", rate(m));
    if (h->ok)
        printf(" %14.1f", rate(h));
    printf("\n%-34s %14.1f %14s\n", "probes/s (prober's own count)",
           m->window_s > 0 ? (double)m->probes / m->window_s : 0, "-");
    printf("%-34s %14" PRIu64, "non-200 answers (nginx log)", m->nginx_reqs - m->nginx_200);
    if (h->ok)
        printf(" %14" PRIu64, h->nginx_reqs - h->nginx_200);
    printf("\n%-34s %14" PRIu64 " %14s\n", "failed probes (prober's count)", m->probes - m->passes,
           "-");
    printf("%-34s %8zu/%-5d %14s\n", "backends up at the end", m->up, w->n, "-");
    printf("%-34s %13.1f%%", "prober CPU, % of one core", 100 * cpu_s(m) / m->window_s);
    if (h->ok)
        printf(" %13.1f%%", 100 * cpu_s(h) / h->window_s);
    printf("\n%-34s %6.1f / %5.1f %14s\n", "  of which user / sys, %",
           100 * m->cpu_user_s / m->window_s, 100 * m->cpu_sys_s / m->window_s, "-");
    printf("%-34s %14.1f", "CPU us per probe", us_per_probe(m));
    if (h->ok)
        printf(" %14.1f   ratio maglevd/haproxy %.2f", us_per_probe(h),
               us_per_probe(m) / us_per_probe(h));
    printf("\n%-34s %13.1f%%", "nginx CPU, % of one core", 100 * m->nginx_cpu_s / m->window_s);
    if (h->ok)
        printf(" %13.1f%%", 100 * h->nginx_cpu_s / h->window_s);
    printf("\n%-34s %14.2f", "TCP segments sent per connection",
           m->tcp_opens ? (double)m->tcp_segs / (double)m->tcp_opens : NAN);
    if (h->ok)
        printf(" %14.2f", h->tcp_opens ? (double)h->tcp_segs / (double)h->tcp_opens : NAN);
    printf("\n%-34s %14.2f", "  of which RSTs",
           m->tcp_opens ? (double)m->tcp_rsts / (double)m->tcp_opens : NAN);
    if (h->ok)
        printf(" %14.2f", h->tcp_opens ? (double)h->tcp_rsts / (double)h->tcp_opens : NAN);
    printf("\n%-34s %14.1f", "RSS, MB", (double)m->rss_kb / 1024);
    if (h->ok)
        printf(" %14.1f", (double)h->hap_rss_kb / 1024);
    printf("\n%-34s %14.1f %14s\n", "  baseline before the config, MB",
           (double)m->rss_base_kb / 1024, "-");
    printf("%-34s %14.0f %14s\n", "RSS per backend, bytes", rss_per_backend(w), "-");
    printf("%-34s %14.0f %14s\n", "  of which the loaded config",
           (double)(m->rss_cfg_kb - m->rss_base_kb) * 1024. / w->n, "-");
    printf("%-34s %14.1f %14s\n", "checker_new, ms", m->setup_ms, "-");
    printf("%-34s %4s/%4s/%5s %14s\n", "lateness p50/p99/p99.9, ms",
           fmt_ms(lateness_ms(m->lateness, 0.5), b1, sizeof(b1)),
           fmt_ms(lateness_ms(m->lateness, 0.99), b2, sizeof(b2)),
           fmt_ms(lateness_ms(m->lateness, 0.999), b3, sizeof(b3)), "-");
    printf("%-34s %14" PRIu64 " %14s\n", "  probes started >= 20 ms late",
           m->lateness[CHECKER_LATENESS_BUCKETS], "-");
    if (!h->ok && o->haproxy)
        printf("haproxy: %s\n", h->err);
    fflush(stdout);
}

static void print_summary(const struct row *rows, int n_rows, const struct opts *o)
{
    char b1[32], b2[32];
    printf("\n== summary ==\n");
    printf("%8s %10s %10s %8s %10s %10s %7s %10s %8s %8s\n", "backends", "probes/s", "haproxy/s",
           "CPU %", "us/probe", "haproxy", "ratio", "RSS B/be", "p50 ms", "p99 ms");
    for (int i = 0; i < n_rows; i++) {
        const struct row *w = &rows[i];
        printf("%8d %10.0f %10.0f %7.1f%% %10.1f %10.1f %7.2f %10.0f %8s %8s\n", w->n, rate(&w->m),
               w->h.ok ? rate(&w->h) : NAN, 100 * cpu_s(&w->m) / w->m.window_s, us_per_probe(&w->m),
               w->h.ok ? us_per_probe(&w->h) : NAN,
               w->h.ok ? us_per_probe(&w->m) / us_per_probe(&w->h) : NAN, rss_per_backend(w),
               fmt_ms(lateness_ms(w->m.lateness, 0.5), b1, sizeof(b1)),
               fmt_ms(lateness_ms(w->m.lateness, 0.99), b2, sizeof(b2)));
    }

    printf("\n== targets (informational) ==\n");
    const struct row *big = NULL;
    for (int i = 0; i < n_rows; i++)
        if (rows[i].n >= 10000 && (!big || rows[i].n < big->n))
            big = &rows[i];
    if (big) {
        double r = rate(&big->m), c = 100 * cpu_s(&big->m) / big->m.window_s;
        bool pass = r >= 0.99 * 10000 && c < 100 && big->m.probes == big->m.passes;
        printf("%-4s 10,000 HTTP probes/s within one core: %.0f probes/s at %.1f%% of a core"
               " (N=%d, %" PRIu64 " failed)\n",
               pass ? "PASS" : "MISS", r, c, big->n, big->m.probes - big->m.passes);
    } else {
        printf("n/a  10,000 HTTP probes/s within one core: no size >= 10000 was run\n");
    }
    for (int i = 0; i < n_rows; i++) {
        double b = rss_per_backend(&rows[i]);
        printf("%-4s RSS under 4 KB per backend: %.0f bytes (N=%d)\n", b < 4096 ? "PASS" : "MISS",
               b, rows[i].n);
    }
    for (int i = 0; i < n_rows; i++) {
        double p = lateness_ms(rows[i].m.lateness, 0.99);
        printf("%-4s p99 lateness under 5 ms: %s ms (N=%d)\n", p < 5 ? "PASS" : "MISS",
               fmt_ms(p, b1, sizeof(b1)), rows[i].n);
    }
    for (int i = 0; i < n_rows && o->haproxy; i++) {
        const struct row *w = &rows[i];
        if (!w->h.ok) {
            printf("n/a  CPU per probe at most HAProxy's (N=%d): %s\n", w->n, w->h.err);
            continue;
        }
        double ratio = us_per_probe(&w->m) / us_per_probe(&w->h);
        printf("%-4s CPU per probe at most HAProxy's: %.1f vs %.1f us, ratio %.2f (N=%d)\n",
               ratio <= 1 ? "PASS" : "MISS", us_per_probe(&w->m), us_per_probe(&w->h), ratio, w->n);
    }
}

/* ---- https: resumed and full handshakes, beside HAProxy's check-ssl ---- */

struct https_row {
    int n;
    struct phase p[4]; /* maglevd resuming, maglevd full, haproxy, haproxy no-ssl-reuse */
};

static const char *const https_names[4] = {
    "maglevd (tls-resume)",
    "maglevd tls-resume: false",
    "haproxy check-ssl",
    "haproxy check-ssl no-ssl-reuse",
};

static void print_https_row(const struct https_row *w)
{
    printf("\n== %d backends: https GET /healthz every 1s (ECDSA P-256, verify off),"
           " %.0f s windows after %.0f s warm-up ==\n",
           w->n, w->p[0].window_s, WARMUP_S);
    printf("%-31s %9s %8s %7s %9s %7s %7s %8s %9s %8s\n", "", "probes/s", "resumed", "CPU %",
           "us/probe", "user %", "sys %", "nginx %", "segs/conn", "RSS B/be");
    for (int i = 0; i < 4; i++) {
        const struct phase *p = &w->p[i];
        if (!p->ok) {
            printf("%-31s %s\n", https_names[i], p->err[0] ? p->err : "not run");
            continue;
        }
        bool m = i < 2;
        printf("%-31s %9.1f %7.1f%% %6.1f%% %9.1f", https_names[i], rate(p),
               p->nginx_reqs ? 100. * (double)p->nginx_reused / (double)p->nginx_reqs : NAN,
               100 * cpu_s(p) / p->window_s, us_per_probe(p));
        if (m)
            printf(" %6.1f%% %6.1f%%", 100 * p->cpu_user_s / p->window_s,
                   100 * p->cpu_sys_s / p->window_s);
        else
            printf(" %7s %7s", "-", "-");
        printf(" %7.1f%% %9.2f", 100 * p->nginx_cpu_s / p->window_s,
               p->tcp_opens ? (double)p->tcp_segs / (double)p->tcp_opens : NAN);
        if (m)
            printf(" %8.0f", (double)(p->rss_kb - p->rss_base_kb) * 1024. / w->n);
        printf("\n");
        if (m && p->probes != p->passes)
            printf("  %" PRIu64 " of %" PRIu64 " probes failed; %zu/%d up at the end\n",
                   p->probes - p->passes, p->probes, p->up, w->n);
    }
    const struct phase *on = &w->p[0], *off = &w->p[1], *h = &w->p[2], *hf = &w->p[3];
    if (on->ok && h->ok)
        printf("%-4s HTTPS probe CPU at most HAProxy's (both resuming): %.1f vs %.1f us,"
               " ratio %.2f\n",
               us_per_probe(on) <= us_per_probe(h) ? "PASS" : "MISS", us_per_probe(on),
               us_per_probe(h), us_per_probe(on) / us_per_probe(h));
    if (off->ok && hf->ok)
        printf("     full handshakes, maglevd vs haproxy no-ssl-reuse: %.1f vs %.1f us,"
               " ratio %.2f\n",
               us_per_probe(off), us_per_probe(hf), us_per_probe(off) / us_per_probe(hf));
    if (on->ok && off->ok)
        printf("     resumption saves maglevd %.1f us per probe (%.0f%%)\n",
               us_per_probe(off) - us_per_probe(on),
               100 * (1 - us_per_probe(on) / us_per_probe(off)));
    fflush(stdout);
}

static void run_https(const struct opts *o)
{
    for (int i = 0; i < o->n_sizes; i++) {
        struct https_row w = { .n = o->sizes[i] };
        struct opts po = *o;
        po.tls = 1;
        run_maglevd(w.n, &po, &w.p[0]);
        po.tls = 2;
        run_maglevd(w.n, &po, &w.p[1]);
        if (o->haproxy) {
            po.tls = 1;
            run_haproxy(w.n, &po, &w.p[2]);
            po.tls = 2;
            run_haproxy(w.n, &po, &w.p[3]);
        }
        usleep(1500000); /* nginx flushes its log buffer every second */
        kill(nginx_pid, SIGUSR1);
        usleep(300000);
        for (int k = 0; k < 4; k++)
            if (w.p[k].ok)
                count_log(w.p[k].t0_real, w.p[k].t1_real, &w.p[k]);
        print_https_row(&w);
    }
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_probes [--seconds S] [--sizes N,N,...] [--port P]\n"
               "                    [--nginx-workers W] [--no-haproxy] [--keep] [--stall-ms MS]\n"
               "                    [--https]\n"
               "  --seconds S        measured window per phase (default 60)\n"
               "  --sizes LIST       backend counts (default 1000,10000)\n"
               "  --port P           nginx port on 0.0.0.0 (default 8080)\n"
               "  --nginx-workers W  nginx worker processes (default 1)\n"
               "  --no-haproxy       skip the HAProxy baseline\n"
               "  --keep             keep the temporary directory (configs, logs)\n"
               "  --https            https probes (ECDSA P-256 certificate, verify off):\n"
               "                     maglevd resuming TLS sessions, maglevd with\n"
               "                     tls-resume: false, haproxy check-ssl, and haproxy\n"
               "                     check-ssl no-ssl-reuse (default sizes: 1000)\n"
               "  --stall-ms MS      robustness: stop each prober once for MS, a quarter\n"
               "                     into the window (maglevd: the loop blocks; haproxy:\n"
               "                     SIGSTOP), to see whether it recovers\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ .seconds = 60,
                        .sizes = { 1000, 10000 },
                        .n_sizes = 2,
                        .port = 8080,
                        .nginx_workers = 1,
                        .haproxy = true };
    bool sizes_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seconds") == 0 && v) {
            o->seconds = atof(v);
            i++;
        } else if (strcmp(a, "--sizes") == 0 && v) {
            o->n_sizes = 0;
            sizes_set = true;
            for (const char *p = v; *p && o->n_sizes < MAX_SIZES;) {
                o->sizes[o->n_sizes++] = atoi(p);
                p += strcspn(p, ",");
                p += *p == ',';
            }
            i++;
        } else if (strcmp(a, "--port") == 0 && v) {
            o->port = atoi(v);
            i++;
        } else if (strcmp(a, "--nginx-workers") == 0 && v) {
            o->nginx_workers = atoi(v);
            i++;
        } else if (strcmp(a, "--stall-ms") == 0 && v) {
            o->stall_ms = atoi(v);
            i++;
        } else if (strcmp(a, "--https") == 0) {
            o->https = true;
        } else if (strcmp(a, "--no-haproxy") == 0) {
            o->haproxy = false;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (o->https && !sizes_set) {
        o->sizes[0] = 1000;
        o->n_sizes = 1;
    }
    bool bad = o->seconds < 1 || o->port < 1 || o->port > 65535 || o->nginx_workers < 1 ||
               o->nginx_workers > MAX_WORKER || o->stall_ms < 0 || o->stall_ms > 60000;
    for (int i = 0; i < o->n_sizes; i++)
        bad = bad || o->sizes[i] < 1 || o->sizes[i] > 62500 * 4;
    if (bad) {
        usage(stderr);
        exit(2);
    }
}

static void raise_nofile(void)
{
    struct rlimit rl = { 1 << 20, 1 << 20 };
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_opts(argc, argv, &o);
    raise_nofile();
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);

    if (port_open(o.port)) {
        fprintf(stderr, "bench_probes: 127.0.0.1:%d is in use; choose another --port\n", o.port);
        return 1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bench-probes.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    start_nginx(&o);

    char model[128] = "?", line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "model name : %127[^\n]", model) == 1)
            break;
    if (f)
        fclose(f);
    printf("bench_probes: %ld CPUs (%s); nginx %d worker(s) on 0.0.0.0:%d; window %.0f s;"
           " temp dir %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, o.nginx_workers, o.port, o.seconds, tmpdir);
    if (o.stall_ms > 0)
        printf("each prober is stopped once for %d ms, %.0f s into its window\n", o.stall_ms,
               o.seconds / 4);

    if (o.https) {
        run_https(&o);
        o.n_sizes = 0; /* no http rows */
    }
    struct row rows[MAX_SIZES];
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < o.n_sizes; i++) {
        struct row *w = &rows[i];
        w->n = o.sizes[i];
        run_maglevd(w->n, &o, &w->m);
        if (o.haproxy)
            run_haproxy(w->n, &o, &w->h);
        usleep(1500000); /* nginx flushes its log buffer every second */
        kill(nginx_pid, SIGUSR1);
        usleep(300000);
        count_log(w->m.t0_real, w->m.t1_real, &w->m);
        if (w->h.ok)
            count_log(w->h.t0_real, w->h.t1_real, &w->h);
        if (!w->m.ok) {
            fprintf(stderr, "maglevd phase failed: %s\n", w->m.err);
            continue;
        }
        print_row(w, &o);
    }
    if (!o.https)
        print_summary(rows, o.n_sizes, &o);

    stop_child(&nginx_pid, SIGQUIT);
    if (!o.keep) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_probes: could not remove %s\n", tmpdir);
    }
    return 0;
}
