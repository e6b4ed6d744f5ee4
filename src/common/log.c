/* log: structured logging (logfmt text or JSON lines); see log.h. */
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/mem.h"

/* Records up to this size (with the newline) are formatted on the stack. */
#define LOG_STACK_BUF 4096

/*
 * Locking:
 *  - g_lock guards g_level, g_format and the hook fields (short critical
 *    sections only, never held while calling out).
 *  - g_out_lock serialises writes to the output fd, and guards g_fd: after
 *    log_setup() returns, nobody is still writing to the previous fd.
 *  - g_hook_lock serialises hook calls. The hook fields are changed only with
 *    both g_hook_lock and g_lock held, so either lock is enough to read them;
 *    after log_set_hook() returns, the previous hook is not running and will
 *    not be called again.
 * Lock order: g_hook_lock, then g_out_lock, then g_lock.
 *
 * g_enabled_min mirrors min(output level, hook level) for the lock-free
 * log_enabled() fast path; log_write() re-checks under g_lock.
 */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_hook_lock = PTHREAD_MUTEX_INITIALIZER;

#define LOG_LEVEL_NONE (LOG_LEVEL_ERROR + 1) /* a hook level meaning "no hook" */

static enum log_level g_level = LOG_LEVEL_INFO;
static enum log_format g_format = LOG_FORMAT_TEXT;
static int g_fd = 2;
static log_hook_fn g_hook_fn;
static void *g_hook_ctx;
static int g_hook_level = LOG_LEVEL_NONE;
static atomic_int g_enabled_min = LOG_LEVEL_INFO;

/* Set while this thread runs the hook (and so holds g_hook_lock): records
 * logged from inside the hook go to the fd only, and log_set_hook() from
 * inside the hook does not try to take g_hook_lock again. */
static _Thread_local bool t_in_hook;

static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

static const struct log_kv no_fields[] = { LOG_END_KV };

int log_level_parse(const char *s, enum log_level *out)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (!s)
        return -EINVAL;
    if (strcasecmp(s, "text") == 0 || strcasecmp(s, "logfmt") == 0) {
        *out = LOG_FORMAT_TEXT;
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = LOG_FORMAT_JSON;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
        return level_names[level];
    return "unknown";
}

/* Called with g_lock held. */
static void update_enabled_min(void)
{
    int min = (int)g_level < g_hook_level ? (int)g_level : g_hook_level;
    atomic_store_explicit(&g_enabled_min, min, memory_order_relaxed);
}

void log_setup(enum log_level min_level, enum log_format format, int fd)
{
    pthread_mutex_lock(&g_out_lock);
    pthread_mutex_lock(&g_lock);
    g_level = min_level;
    g_format = format;
    g_fd = fd;
    update_enabled_min();
    pthread_mutex_unlock(&g_lock);
    pthread_mutex_unlock(&g_out_lock);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&g_enabled_min, memory_order_relaxed);
}

void log_set_hook(log_hook_fn fn, void *ctx, enum log_level min_level)
{
    bool take_hook_lock = !t_in_hook;
    if (take_hook_lock)
        pthread_mutex_lock(&g_hook_lock);
    pthread_mutex_lock(&g_lock);
    g_hook_fn = fn;
    g_hook_ctx = fn ? ctx : NULL;
    g_hook_level = fn ? (int)min_level : LOG_LEVEL_NONE;
    update_enabled_min();
    pthread_mutex_unlock(&g_lock);
    if (take_hook_lock)
        pthread_mutex_unlock(&g_hook_lock);
}

/* ---- formatting ---------------------------------------------------------- */

/* An snprintf-style output: keeps what fits (leaving room for the NUL) and
 * counts everything. */
struct out {
    char *buf;
    size_t cap;
    size_t len; /* bytes needed so far */
};

static void out_add(struct out *o, const char *data, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, data, n < room ? n : room);
    }
    o->len += n;
}

static void out_adds(struct out *o, const char *s)
{
    out_add(o, s, strlen(s));
}

static void out_addc(struct out *o, char c)
{
    out_add(o, &c, 1);
}

static void out_finish(struct out *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

static void out_hex_escape(struct out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
    out_add(o, esc, sizeof(esc));
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool text_needs_quote(const char *s)
{
    if (*s == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || is_ctl(*p))
            return true;
    }
    return false;
}

/* Appends the body of a double-quoted string (text or JSON); JSON also
 * escapes \b and \f by name. Bytes >= 0x80 pass through. */
static void out_escaped(struct out *o, const char *s, bool json)
{
    const char *run = s;
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = json ? "\\b" : NULL;
            break;
        case '\f':
            esc = json ? "\\f" : NULL;
            break;
        default:
            break;
        }
        if (!esc && !is_ctl(*p))
            continue;
        out_add(o, run, (size_t)((const char *)p - run));
        if (esc)
            out_adds(o, esc);
        else
            out_hex_escape(o, *p);
        run = (const char *)p + 1;
    }
    out_add(o, run, (size_t)((const char *)p - run));
}

/* A text key, event or value: as is, or quoted and escaped if needed. */
static void out_text_str(struct out *o, const char *s)
{
    if (!s)
        s = "";
    if (!text_needs_quote(s)) {
        out_adds(o, s);
        return;
    }
    out_addc(o, '"');
    out_escaped(o, s, false);
    out_addc(o, '"');
}

static void out_json_str(struct out *o, const char *s)
{
    out_addc(o, '"');
    out_escaped(o, s ? s : "", true);
    out_addc(o, '"');
}

/* "2026-11-24T07:14:17.123Z" */
static void out_time(struct out *o, int64_t time_us)
{
    int64_t secs = time_us / 1000000;
    int64_t us = time_us % 1000000;
    if (us < 0) { /* floor, so times before the epoch work too */
        us += 1000000;
        secs--;
    }
    char tmp[64];
    struct tm tm;
    time_t t = (time_t)secs;
    if ((int64_t)t != secs || !gmtime_r(&t, &tm)) {
        out_adds(o, "0000-00-00T00:00:00.000Z");
        return;
    }
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us / 1000));
    if (n > 0)
        out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static bool is_scalar(enum log_kv_type type)
{
    return type == LOG_KV_INT || type == LOG_KV_UINT || type == LOG_KV_BOOL ||
           type == LOG_KV_DOUBLE;
}

/* A string field's value; a field of unknown type logs as an empty string. */
static const char *str_value(const struct log_kv *kv)
{
    return kv->type == LOG_KV_STR ? kv->v.s : NULL;
}

/* A field value that is never quoted in text: a number or a bool. Returns
 * false for a double that is not finite (tmp then holds its name). */
static bool format_scalar(char *tmp, size_t len, const struct log_kv *kv)
{
    int n = 0;
    tmp[0] = '\0';
    switch (kv->type) {
    case LOG_KV_INT:
        n = snprintf(tmp, len, "%lld", (long long)kv->v.i);
        break;
    case LOG_KV_UINT:
        n = snprintf(tmp, len, "%llu", (unsigned long long)kv->v.u);
        break;
    case LOG_KV_BOOL:
        n = snprintf(tmp, len, "%s", kv->v.b ? "true" : "false");
        break;
    case LOG_KV_DOUBLE:
        if (isnan(kv->v.d)) {
            snprintf(tmp, len, "NaN");
            return false;
        }
        if (isinf(kv->v.d)) {
            snprintf(tmp, len, "%s", kv->v.d > 0 ? "+Inf" : "-Inf");
            return false;
        }
        n = snprintf(tmp, len, "%.6g", kv->v.d);
        /* a locale with a decimal comma must not change the output */
        for (char *p = tmp; *p; p++) {
            if (*p == ',')
                *p = '.';
        }
        break;
    default:
        break;
    }
    if (n < 0)
        tmp[0] = '\0';
    return true;
}

static void format_text(struct out *o, const char *event, const struct log_kv *fields)
{
    out_adds(o, " msg=");
    out_text_str(o, event);
    for (const struct log_kv *kv = fields; kv->type != LOG_KV_END; kv++) {
        char tmp[64];
        out_addc(o, ' ');
        out_text_str(o, kv->key);
        out_addc(o, '=');
        if (is_scalar(kv->type)) {
            format_scalar(tmp, sizeof(tmp), kv);
            out_adds(o, tmp);
        } else {
            out_text_str(o, str_value(kv));
        }
    }
}

static void format_json(struct out *o, const char *event, const struct log_kv *fields)
{
    out_adds(o, ",\"msg\":");
    out_json_str(o, event);
    for (const struct log_kv *kv = fields; kv->type != LOG_KV_END; kv++) {
        char tmp[64];
        out_addc(o, ',');
        out_json_str(o, kv->key);
        out_addc(o, ':');
        if (!is_scalar(kv->type)) {
            out_json_str(o, str_value(kv));
        } else if (format_scalar(tmp, sizeof(tmp), kv)) {
            out_adds(o, tmp);
        } else {
            out_json_str(o, tmp); /* JSON has no NaN or infinities */
        }
    }
    out_addc(o, '}');
}

size_t log_format_record(char *buf, size_t len, enum log_format format, int64_t time_us,
                         enum log_level level, const char *event, const struct log_kv *fields)
{
    struct out o = { .buf = buf, .cap = buf ? len : 0, .len = 0 };
    if (!fields)
        fields = no_fields;
    if (format == LOG_FORMAT_JSON) {
        out_adds(&o, "{\"time\":\"");
        out_time(&o, time_us);
        out_adds(&o, "\",\"level\":\"");
        out_adds(&o, log_level_name(level));
        out_addc(&o, '"');
        format_json(&o, event, fields);
    } else {
        out_adds(&o, "time=");
        out_time(&o, time_us);
        out_adds(&o, " level=");
        out_adds(&o, log_level_name(level));
        format_text(&o, event, fields);
    }
    out_finish(&o);
    return o.len;
}

/* ---- output -------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report it */
        }
        if (w == 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void call_hook(const struct log_record *rec)
{
    pthread_mutex_lock(&g_hook_lock);
    /* re-check: the hook may have changed since the caller looked */
    if (g_hook_fn && (int)rec->level >= g_hook_level) {
        t_in_hook = true;
        g_hook_fn(rec, g_hook_ctx);
        t_in_hook = false;
    }
    pthread_mutex_unlock(&g_hook_lock);
}

void log_write(enum log_level level, const char *event, const struct log_kv *fields)
{
    int saved_errno = errno;

    pthread_mutex_lock(&g_lock);
    bool to_out = level >= g_level;
    bool to_hook = g_hook_fn && (int)level >= g_hook_level && !t_in_hook;
    enum log_format format = g_format;
    pthread_mutex_unlock(&g_lock);
    if (!to_out && !to_hook)
        return;

    if (!event)
        event = "";
    if (!fields)
        fields = no_fields;
    int64_t time_us = clock_wall_us();

    /* Room is kept for the newline after the record. */
    char stack[LOG_STACK_BUF];
    char *line = stack;
    size_t n = log_format_record(stack, sizeof(stack) - 1, format, time_us, level, event, fields);
    if (n >= sizeof(stack) - 1) {
        line = mem_alloc(n + 2);
        log_format_record(line, n + 1, format, time_us, level, event, fields);
    }

    if (to_out) {
        line[n] = '\n';
        pthread_mutex_lock(&g_out_lock);
        if (g_fd >= 0)
            write_all(g_fd, line, n + 1);
        pthread_mutex_unlock(&g_out_lock);
        line[n] = '\0';
    }

    if (to_hook) {
        struct log_record rec = {
            .time_us = time_us,
            .level = level,
            .event = event,
            .fields = fields,
            .line = line,
        };
        call_hook(&rec);
    }

    if (line != stack)
        free(line);
    errno = saved_errno;
}
