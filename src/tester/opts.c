/* opts.c: maglevt's command line and targets (pure: no I/O). Every usage
 * error names the argument and what would be right, for exit code 2. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/duration.h"
#include "common/mem.h"
#include "tester/tester.h"

#define SPREAD_MAX 1024

const char *tester_usage(void)
{
    return "usage: maglevt [OPTIONS] TARGET...\n"
           "  TARGET is http://VIP[:port][/path] or https://..., VIP an IPv4 address or an\n"
           "  IPv6 address in brackets (http://[2001:db8::1]:8080/). Several at once.\n"
           "Sends one request per interval to every target, each on a fresh connection,\n"
           "and tallies which backend answered, latencies, errors and a failover timeline.\n"
           "  -i, --interval D      time between rounds of requests (default 100ms)\n"
           "  -t, --timeout D       per request, connect to last byte (default 1s)\n"
           "  -d, --duration D      stop after D (default: at Ctrl-C)\n"
           "  -H, --header NAME     the backend is this response header's value\n"
           "                        (default X-Backend)\n"
           "  -r, --body-regex RE   the backend is RE's first group (or match) in the body\n"
           "      --host NAME       Host header (default: the target's address)\n"
           "      --spread N        bind N source ports round-robin, from --spread-base\n"
           "                        (default: the kernel picks a new one each time)\n"
           "      --spread-base P   first source port of --spread (default 40000)\n"
           "  -w, --window D        the recent share's window (default 10s)\n"
           "  -k, --insecure        https: do not verify the certificate\n"
           "  -j, --json            the summary as JSON on stdout (live view on stderr)\n"
           "  -q, --quiet           no live view, the summary only\n"
           "  -V, --version         print the version\n"
           "  -h, --help            this help\n"
           "Durations: 100ms, 1s, 1m30s. Exit: 0 every request succeeded, 1 some failed,\n"
           "2 usage error.\n";
}

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void tester_target_free(struct tester_target *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->path);
    memset(t, 0, sizeof(*t));
}

/* The host part: "a.b.c.d" or "[v6]"; *end past it. */
static int parse_host(const char *s, const char **end, struct ip_addr *a, char *err, size_t len,
                      const char *url)
{
    char host[IP_ADDR_STRLEN + 1];
    const char *e;
    if (*s == '[') {
        e = strchr(s, ']');
        if (!e || (size_t)(e - s - 1) >= sizeof(host)) {
            set_err(err, len, "target \"%s\": an IPv6 address needs a closing ']'", url);
            return -EINVAL;
        }
        memcpy(host, s + 1, (size_t)(e - s - 1));
        host[e - s - 1] = '\0';
        *end = e + 1;
        if (ip_addr_parse(host, a) < 0 || a->family != AF_INET6) {
            set_err(err, len, "target \"%s\": \"%s\" is not an IPv6 address", url, host);
            return -EINVAL;
        }
        return 0;
    }
    e = s + strcspn(s, ":/?#");
    if (e == s || (size_t)(e - s) >= sizeof(host)) {
        set_err(err, len, "target \"%s\": the VIP must be an IPv4 address or [IPv6]", url);
        return -EINVAL;
    }
    memcpy(host, s, (size_t)(e - s));
    host[e - s] = '\0';
    *end = e;
    if (ip_addr_parse(host, a) < 0 || a->family != AF_INET) {
        set_err(err, len,
                "target \"%s\": \"%s\" is not an IPv4 address (names are not resolved; "
                "IPv6 goes in brackets)",
                url, host);
        return -EINVAL;
    }
    return 0;
}

int tester_target_parse(const char *s, struct tester_target *t, char *err, size_t len)
{
    struct tester_target out = { 0 };
    const char *p;
    if (strncmp(s, "http://", 7) == 0) {
        p = s + 7;
    } else if (strncmp(s, "https://", 8) == 0) {
        out.https = true;
        p = s + 8;
    } else {
        set_err(err, len, "target \"%s\": must start with http:// or https://", s);
        return -EINVAL;
    }
    const char *e;
    if (parse_host(p, &e, &out.addr, err, len, s) < 0)
        return -EINVAL;
    out.port = out.https ? 443 : 80;
    if (*e == ':') {
        char *pe;
        errno = 0;
        unsigned long v = strtoul(e + 1, &pe, 10);
        if (pe == e + 1 || v == 0 || v > 65535 || errno || (*pe && *pe != '/')) {
            set_err(err, len, "target \"%s\": port must be 1..65535", s);
            return -EINVAL;
        }
        out.port = (uint16_t)v;
        e = pe;
    }
    if (*e && *e != '/') {
        set_err(err, len, "target \"%s\": the path must start with '/'", s);
        return -EINVAL;
    }
    for (const char *c = e; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            set_err(err, len, "target \"%s\": spaces and control characters are not allowed", s);
            return -EINVAL;
        }
    }
    out.path = mem_strdup(*e ? e : "/");
    out.url = mem_strdup(s);
    *t = out;
    return 0;
}

void tester_opts_free(struct tester_opts *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_targets; i++)
        tester_target_free(&o->targets[i]);
    free(o->targets);
    o->targets = NULL;
    o->n_targets = 0;
}

/* A positive duration for option `name`. */
static int opt_duration(const char *name, const char *v, int64_t *out, char *err, size_t len)
{
    int64_t ns;
    if (duration_parse(v, &ns) < 0 || ns <= 0) {
        set_err(err, len, "%s \"%s\": want a positive duration such as 100ms, 1s or 1m30s", name,
                v);
        return -EINVAL;
    }
    *out = ns;
    return 0;
}

static int opt_uint(const char *name, const char *v, unsigned long lo, unsigned long hi,
                    unsigned long *out, char *err, size_t len)
{
    char *e;
    errno = 0;
    unsigned long n = strtoul(v, &e, 10);
    if (!*v || *e || errno || n < lo || n > hi || *v == '-') {
        set_err(err, len, "%s \"%s\": want a number from %lu to %lu", name, v, lo, hi);
        return -EINVAL;
    }
    *out = n;
    return 0;
}

enum { OPT_HOST = 256, OPT_SPREAD, OPT_SPREAD_BASE };

static const struct option longopts[] = {
    { "interval", required_argument, NULL, 'i' },
    { "timeout", required_argument, NULL, 't' },
    { "duration", required_argument, NULL, 'd' },
    { "header", required_argument, NULL, 'H' },
    { "body-regex", required_argument, NULL, 'r' },
    { "host", required_argument, NULL, OPT_HOST },
    { "spread", required_argument, NULL, OPT_SPREAD },
    { "spread-base", required_argument, NULL, OPT_SPREAD_BASE },
    { "window", required_argument, NULL, 'w' },
    { "insecure", no_argument, NULL, 'k' },
    { "json", no_argument, NULL, 'j' },
    { "quiet", no_argument, NULL, 'q' },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* One option; 0, or a usage error. */
static int take_opt(int c, const char *arg, struct tester_opts *o, char *err, size_t len)
{
    unsigned long n;
    switch (c) {
    case 'i':
        return opt_duration("--interval", arg, &o->interval_ns, err, len);
    case 't':
        return opt_duration("--timeout", arg, &o->timeout_ns, err, len);
    case 'd':
        return opt_duration("--duration", arg, &o->duration_ns, err, len);
    case 'w':
        return opt_duration("--window", arg, &o->window_ns, err, len);
    case 'H':
        if (!*arg || strpbrk(arg, ": \t\r\n")) {
            set_err(err, len, "--header \"%s\": want a header name such as X-Backend", arg);
            return -EINVAL;
        }
        o->header = arg;
        return 0;
    case 'r':
        o->body_regex = arg;
        return 0;
    case OPT_HOST:
        if (!*arg || strpbrk(arg, " \t\r\n")) {
            set_err(err, len, "--host \"%s\": want a host name without spaces", arg);
            return -EINVAL;
        }
        o->host = arg;
        return 0;
    case OPT_SPREAD:
        if (opt_uint("--spread", arg, 1, SPREAD_MAX, &n, err, len) < 0)
            return -EINVAL;
        o->spread = (unsigned)n;
        return 0;
    case OPT_SPREAD_BASE:
        if (opt_uint("--spread-base", arg, 1, 65535, &n, err, len) < 0)
            return -EINVAL;
        o->spread_base = (uint16_t)n;
        return 0;
    case 'k':
        o->insecure = true;
        return 0;
    case 'j':
        o->json = true;
        return 0;
    case 'q':
        o->quiet = true;
        return 0;
    default:
        set_err(err, len, "unknown option (maglevt --help lists them)");
        return -EINVAL;
    }
}

/* What the options say together. */
static int check_opts(struct tester_opts *o, bool header_given, char *err, size_t len)
{
    if (header_given && o->body_regex) {
        set_err(err, len, "--header and --body-regex: give one of them");
        return -EINVAL;
    }
    if (o->body_regex) {
        int rc;
        PCRE2_SIZE off;
        pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)o->body_regex, PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            set_err(err, len, "--body-regex \"%s\": %s at offset %zu", o->body_regex,
                    (const char *)msg, (size_t)off);
            return -EINVAL;
        }
        pcre2_code_free(re);
        o->header = NULL;
    }
    if (o->spread && (unsigned long)o->spread_base + o->spread - 1 > 65535) {
        set_err(err, len, "--spread %u from --spread-base %u: the ports go past 65535", o->spread,
                o->spread_base);
        return -EINVAL;
    }
    if (o->n_targets == 0) {
        set_err(err, len, "no TARGET: give at least one, such as http://192.0.2.10/");
        return -EINVAL;
    }
    return 0;
}

enum tester_args_rc tester_parse_args(int argc, char **argv, struct tester_opts *o, char *err,
                                      size_t len)
{
    memset(o, 0, sizeof(*o));
    o->interval_ns = 100 * DURATION_MS;
    o->timeout_ns = DURATION_SEC;
    o->window_ns = 10 * DURATION_SEC;
    o->header = TESTER_HEADER_DEFAULT;
    o->spread_base = 40000;
    err[0] = '\0';
    bool header_given = false;
    int c;
    optind = 0; /* a fresh scan, also for the tests' repeated calls */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:t:d:H:r:w:kjqVh", longopts, NULL)) != -1) {
        if (c == 'h')
            return TESTER_ARGS_HELP;
        if (c == 'V')
            return TESTER_ARGS_VERSION;
        if (c == '?' || c == ':') {
            char shortopt[3] = { '-', (char)optopt, '\0' };
            const char *bad =
                c == '?' && optopt > ' ' && optopt < 127 ? shortopt : argv[optind - 1];
            set_err(err, len, "%s: %s (maglevt --help lists the options)", bad,
                    c == ':' ? "needs a value" : "unknown option");
            tester_opts_free(o);
            return TESTER_ARGS_USAGE;
        }
        if (c == 'H')
            header_given = true;
        if (take_opt(c, optarg, o, err, len) < 0) {
            tester_opts_free(o);
            return TESTER_ARGS_USAGE;
        }
    }
    o->targets = mem_calloc((size_t)(argc - optind), sizeof(*o->targets));
    for (int i = optind; i < argc; i++) {
        if (tester_target_parse(argv[i], &o->targets[o->n_targets], err, len) < 0) {
            tester_opts_free(o);
            return TESTER_ARGS_USAGE;
        }
        o->n_targets++;
    }
    if (check_opts(o, header_given, err, len) < 0) {
        tester_opts_free(o);
        return TESTER_ARGS_USAGE;
    }
    return TESTER_ARGS_RUN;
}
