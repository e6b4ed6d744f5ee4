/* vppsim_proc: vppsim as a subprocess, its control socket, and a minimal
 * JSON reader for the replies (see vppsim_proc.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "vppsim_proc.h"

#ifndef VPPSIM_PATH
#define VPPSIM_PATH "tools/vppsim/vppsim.py"
#endif

/* ---- JSON ---- */

struct jp {
    const char *s;
    bool bad;
};

static void ws(struct jp *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

static struct jv *jv_new(enum jv_type t)
{
    struct jv *v = mem_calloc(1, sizeof(*v));
    v->t = t;
    return v;
}

static void push(struct jv *v, char *key, struct jv *item)
{
    v->items = mem_realloc(v->items, (v->n + 1) * sizeof(*v->items));
    v->items[v->n] = item;
    if (v->t == JV_OBJ) {
        v->keys = mem_realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
        v->keys[v->n] = key;
    }
    v->n++;
}

static char *str(struct jp *p)
{
    if (*p->s != '"') {
        p->bad = true;
        return NULL;
    }
    p->s++;
    size_t cap = 16, n = 0;
    char *out = mem_alloc(cap);
    while (*p->s && *p->s != '"') {
        char c = *p->s++;
        if (c == '\\') {
            c = *p->s++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': /* tests only look at ASCII: anything else becomes '?' */
                for (int i = 0; i < 4 && *p->s; i++)
                    p->s++;
                c = '?';
                break;
            case '\0':
                p->bad = true;
                free(out);
                return NULL;
            default:
                break; /* \" \\ \/ */
            }
        }
        if (n + 2 > cap)
            out = mem_realloc(out, cap *= 2);
        out[n++] = c;
    }
    if (*p->s != '"') {
        p->bad = true;
        free(out);
        return NULL;
    }
    p->s++;
    out[n] = '\0';
    return out;
}

static struct jv *value(struct jp *p, int depth);

static struct jv *container(struct jp *p, int depth, bool obj)
{
    struct jv *v = jv_new(obj ? JV_OBJ : JV_ARR);
    char close = obj ? '}' : ']';
    p->s++;
    ws(p);
    if (*p->s == close) {
        p->s++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        ws(p);
        if (obj) {
            key = str(p);
            ws(p);
            if (p->bad || *p->s != ':') {
                free(key);
                p->bad = true;
                return v;
            }
            p->s++;
        }
        struct jv *item = value(p, depth + 1);
        if (p->bad) {
            free(key);
            jv_free(item);
            return v;
        }
        push(v, key, item);
        ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == close) {
            p->s++;
            return v;
        }
        p->bad = true;
        return v;
    }
}

static struct jv *value(struct jp *p, int depth)
{
    ws(p);
    if (depth > 64) {
        p->bad = true;
        return NULL;
    }
    char c = *p->s;
    if (c == '{' || c == '[')
        return container(p, depth, c == '{');
    if (c == '"') {
        struct jv *v = jv_new(JV_STR);
        v->str = str(p);
        return v;
    }
    if (!strncmp(p->s, "true", 4) || !strncmp(p->s, "false", 5)) {
        struct jv *v = jv_new(JV_BOOL);
        v->b = c == 't';
        p->s += v->b ? 4 : 5;
        return v;
    }
    if (!strncmp(p->s, "null", 4)) {
        p->s += 4;
        return jv_new(JV_NULL);
    }
    char *end;
    double d = strtod(p->s, &end);
    if (end == p->s) {
        p->bad = true;
        return NULL;
    }
    p->s = end;
    struct jv *v = jv_new(JV_NUM);
    v->num = d;
    return v;
}

struct jv *jv_parse(const char *text)
{
    struct jp p = { .s = text };
    struct jv *v = value(&p, 0);
    ws(&p);
    if (p.bad || *p.s) {
        jv_free(v);
        return NULL;
    }
    return v;
}

void jv_free(struct jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jv_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const struct jv *jv_get(const struct jv *o, const char *key)
{
    if (!o || o->t != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return o->items[i];
    return NULL;
}

const struct jv *jv_path(const struct jv *v, ...)
{
    va_list ap;
    va_start(ap, v);
    const char *k;
    while (v && (k = va_arg(ap, const char *)))
        v = jv_get(v, k);
    va_end(ap);
    return v;
}

double jv_num(const struct jv *v, double dflt)
{
    return v && v->t == JV_NUM ? v->num : dflt;
}

const char *jv_str(const struct jv *v)
{
    return v && v->t == JV_STR && v->str ? v->str : "";
}

/* ---- the subprocess ---- */

static int ctl_connect(struct vppsim *v)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->ctl);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    v->fd = fd;
    v->rlen = 0;
    return 0;
}

static int spawn(struct vppsim *v, const char *const *extra)
{
    memset(v, 0, sizeof(*v));
    v->fd = -1;
    snprintf(v->dir, sizeof(v->dir), "/tmp/maglev-vppsim-XXXXXX");
    if (!mkdtemp(v->dir))
        return -1;
    snprintf(v->api, sizeof(v->api), "%s/api.sock", v->dir);
    snprintf(v->ctl, sizeof(v->ctl), "%s/ctl.sock", v->dir);
    const char *argv[32] = { "/usr/bin/python3", VPPSIM_PATH, "--socket",    v->api,
                             "--control",        v->ctl,      "--gc-period", "3600" };
    size_t n = 8;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    v->pid = fork();
    if (v->pid < 0)
        return -1;
    if (v->pid == 0) {
        /* a test killed (meson's timeout, a crash) takes vppsim with it */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* up to 30 s: a busy machine under sanitizers */
    for (int i = 0; i < 3000; i++) {
        if (ctl_connect(v) == 0)
            return 0;
        if (waitpid(v->pid, NULL, WNOHANG) == v->pid) {
            v->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    return -1;
}

int vppsim_start(struct vppsim *v, const char *const *extra)
{
    if (spawn(v, extra) < 0) {
        print_error("vppsim did not start\n");
        return -1;
    }
    return 0;
}

void vppsim_stop(struct vppsim *v)
{
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
    if (v->pid > 0) {
        kill(v->pid, SIGTERM);
        waitpid(v->pid, NULL, 0);
    }
    v->pid = 0;
    free(v->rbuf);
    v->rbuf = NULL;
    unlink(v->api);
    unlink(v->ctl);
    rmdir(v->dir);
}

static struct jv *vcall(struct vppsim *v, const char *fmt, va_list ap)
{
    char line[4096];
    int len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    if (len < 0 || (size_t)len >= sizeof(line) - 1)
        return NULL;
    line[len++] = '\n';
    if (v->fd < 0 && ctl_connect(v) < 0)
        return NULL;
    for (int off = 0; off < len;) {
        ssize_t w = send(v->fd, line + off, (size_t)(len - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return NULL;
        off += (int)w;
    }
    for (;;) {
        char *nl = v->rlen ? memchr(v->rbuf, '\n', v->rlen) : NULL;
        if (nl) {
            *nl = '\0';
            struct jv *r = jv_parse(v->rbuf);
            size_t used = (size_t)(nl - v->rbuf) + 1;
            memmove(v->rbuf, nl + 1, v->rlen - used);
            v->rlen -= used;
            return r;
        }
        if (v->rcap - v->rlen < 65536) {
            v->rcap = v->rcap ? v->rcap * 2 : 1 << 17;
            v->rbuf = mem_realloc(v->rbuf, v->rcap);
        }
        struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
        if (poll(&pfd, 1, 30000) <= 0)
            return NULL;
        ssize_t r = recv(v->fd, v->rbuf + v->rlen, v->rcap - v->rlen - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        v->rlen += (size_t)r;
    }
}

struct jv *vppsim_call(struct vppsim *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct jv *r = vcall(v, fmt, ap);
    va_end(ap);
    return r;
}

static struct jv *vok(struct vppsim *v, const char *fmt, va_list ap)
{
    struct jv *r = vcall(v, fmt, ap);
    if (!r)
        fail_msg("vppsim: no reply on the control socket");
    const struct jv *ok = jv_get(r, "ok");
    if (!ok || ok->t != JV_BOOL || !ok->b) {
        print_error("vppsim: %s\n", jv_str(jv_get(r, "error")));
        jv_free(r);
        fail_msg("vppsim: a control request failed");
    }
    return r;
}

struct jv *vppsim_ok(struct vppsim *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct jv *r = vok(v, fmt, ap);
    va_end(ap);
    return r;
}

void vppsim_do(struct vppsim *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct jv *r = vok(v, fmt, ap);
    va_end(ap);
    jv_free(r);
}

long vppsim_received(struct vppsim *v, const char *name)
{
    struct jv *r = vppsim_ok(v, "{\"cmd\": \"received\"}");
    long n = (long)jv_num(jv_path(r, "received", name, NULL), 0);
    jv_free(r);
    return n;
}

long vppsim_writes(struct vppsim *v)
{
    static const char *const writes[] = {
        "lb_conf",       "lb_add_del_vip",       "lb_add_del_vip_v2",
        "lb_add_del_as", "lb_add_del_as_v2",     "lb_as_set_weight",
        "lb_flush_vip",  "lb_add_del_intf_nat4", "lb_add_del_intf_nat6",
    };
    struct jv *r = vppsim_ok(v, "{\"cmd\": \"received\"}");
    long n = 0;
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        n += (long)jv_num(jv_path(r, "received", writes[i], NULL), 0);
    jv_free(r);
    return n;
}

/* The live VIP prefix/port in a `state` reply. */
static const struct jv *find_vip(const struct jv *st, const char *prefix, int port)
{
    const struct jv *vips = jv_path(st, "state", "vips", NULL);
    for (size_t i = 0; vips && vips->t == JV_ARR && i < vips->n; i++) {
        const struct jv *x = vips->items[i];
        const struct jv *del = jv_get(x, "deleted");
        if (del && del->t == JV_BOOL && del->b)
            continue;
        if (!strcmp(jv_str(jv_get(x, "prefix")), prefix) &&
            (int)jv_num(jv_get(x, "port"), -1) == port)
            return x;
    }
    return NULL;
}

int vppsim_as_weight(struct vppsim *v, const char *prefix, int port, const char *as)
{
    struct jv *st = vppsim_ok(v, "{\"cmd\": \"state\"}");
    const struct jv *vip = find_vip(st, prefix, port);
    const struct jv *ases = jv_get(vip, "ases");
    int w = -1;
    for (size_t i = 0; ases && ases->t == JV_ARR && i < ases->n; i++) {
        const struct jv *a = ases->items[i];
        if (strcmp(jv_str(jv_get(a, "address")), as) != 0)
            continue;
        int flags = (int)jv_num(jv_get(a, "flags"), 0);
        w = flags & 1 ? (int)jv_num(jv_get(a, "weight"), -1) : -2;
    }
    jv_free(st);
    return w;
}

bool vppsim_has_vip(struct vppsim *v, const char *prefix, int port)
{
    struct jv *st = vppsim_ok(v, "{\"cmd\": \"state\"}");
    bool has = find_vip(st, prefix, port) != NULL;
    jv_free(st);
    return has;
}

int vppsim_n_active(struct vppsim *v, const char *prefix, int port)
{
    struct jv *st = vppsim_ok(v, "{\"cmd\": \"state\"}");
    const struct jv *vip = find_vip(st, prefix, port);
    const struct jv *ases = jv_get(vip, "ases");
    int n = vip ? 0 : -1;
    for (size_t i = 0; ases && ases->t == JV_ARR && i < ases->n; i++)
        if ((int)jv_num(jv_get(ases->items[i], "flags"), 0) & 1)
            n++;
    jv_free(st);
    return n;
}
