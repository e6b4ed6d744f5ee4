/* parse_health.c: healthchecker: and healthchecks: sections. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "config/config_int.h"

#define INTERVAL_MIN (100 * DURATION_MS)
#define INTERVAL_MAX (24 * DURATION_H)

static const char *const healthchecker_keys[] = {
    "netns", "transition-history", "mass-failure", "mass-failure-window", NULL,
};
static const char *const healthcheck_keys[] = {
    "type", "port",           "interval", "fast-interval", "down-interval", "timeout", "rise",
    "fall", "source-address", "netns",    "params",        "slow-start",    "damping", NULL,
};
static const char *const damping_keys[] = {
    "half-life", "penalty", "suppress", "reuse", "max-suppress", NULL,
};
static const char *const params_keys[] = {
    "path",       "host", "response-codes", "response-regex", "tls-server-name", "tls-insecure",
    "tls-resume", NULL,
};

static void check_netns(struct pctx *c, const struct yt_node *n, const char *path, const char *s)
{
    bool ok = *s != '\0';
    if (s[0] != '/') {
        for (const char *p = s; *p && ok; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '-' || *p == '_' || *p == '.';
        ok = ok && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
    }
    if (!ok)
        config_err(
            c, CONFIG_STAGE_SEMANTIC, n, path,
            "netns \"%s\" is not a namespace name (as in `ip netns list`) or an absolute path "
            "such as /proc/1/ns/net",
            s);
}

void config_parse_healthchecker(struct pctx *c, const struct yt_node *n)
{
    const char *path = "healthchecker";
    c->cfg->transition_history = 5;
    if (!config_walk_map(c, n, path, "the healthchecker settings", healthchecker_keys))
        return;
    long long v;
    const struct yt_node *vn = config_walk_int(c, n, path, "transition-history", &v);
    if (vn && config_walk_range(c, CONFIG_STAGE_SEMANTIC, vn, path, "transition-history", v, 1,
                                CONFIG_HISTORY_MAX))
        c->cfg->transition_history = (uint32_t)v;
    if ((vn = config_walk_str(c, n, path, "netns", &c->cfg->netns)))
        check_netns(c, vn, path, c->cfg->netns);
    config_walk_percent(c, n, path, "mass-failure", &c->cfg->mass_failure);
    int64_t *w = &c->cfg->mass_failure_window;
    if ((vn = config_walk_duration(c, n, path, "mass-failure-window", w)))
        config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, vn, path, "mass-failure-window", *w,
                                   INTERVAL_MIN, INTERVAL_MAX);
}

/* "200" or "200-299": digits only, one optional dash; false otherwise. */
static bool parse_code_text(const char *s, long long *lo, long long *hi)
{
    const char *p = s;
    long long v[2] = { 0, 0 };
    int n = 0;
    for (;;) {
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            v[n] = v[n] * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || (*p >= '0' && *p <= '9'))
            return false;
        n++;
        if (*p == '\0')
            break;
        if (*p != '-' || n == 2)
            return false;
        p++;
    }
    *lo = v[0];
    *hi = n == 2 ? v[1] : v[0];
    return true;
}

static void parse_code_item(struct pctx *c, const struct yt_node *it, const char *path,
                            struct code_range *out)
{
    long long lo, hi;
    if (it->kind != YT_SCALAR || it->is_null) {
        config_err(c, CONFIG_STAGE_STRUCTURE, it, path,
                   "response-codes: expected a code such as 200 or a range such as \"200-299\"");
        return;
    }
    if (!parse_code_text(it->value, &lo, &hi)) {
        config_err(c, CONFIG_STAGE_STRUCTURE, it, path,
                   "response-codes: \"%s\" is neither a code such as 200 nor a range such as "
                   "\"200-299\"",
                   it->value);
        return;
    }
    if (!config_walk_range(c, CONFIG_STAGE_SEMANTIC, it, path, "response code", lo, 100, 599) ||
        !config_walk_range(c, CONFIG_STAGE_SEMANTIC, it, path, "response code", hi, 100, 599))
        return;
    if (lo > hi) {
        config_err(c, CONFIG_STAGE_SEMANTIC, it, path,
                   "response-codes: range \"%s\" is backwards; write it low-high", it->value);
        return;
    }
    out->lo = (uint16_t)lo;
    out->hi = (uint16_t)hi;
}

static void parse_codes(struct pctx *c, struct healthcheck_conf *hc, const struct yt_node *params,
                        const char *path)
{
    const struct yt_node *n = yt_map_get(params, "response-codes");
    if (n && !(n->kind == YT_SCALAR && n->is_null)) {
        if (n->kind != YT_SEQ) {
            config_err(c, CONFIG_STAGE_STRUCTURE, n, path,
                       "response-codes: expected a list such as [200, \"300-399\"]");
            return;
        }
        if (n->n == 0) {
            config_err(c, CONFIG_STAGE_SEMANTIC, n, path,
                       "response-codes is empty; list at least one code or range, or leave it out "
                       "for the default 200-399");
            return;
        }
        hc->codes = mem_calloc(n->n, sizeof(*hc->codes));
        hc->n_codes = n->n;
        for (size_t i = 0; i < n->n; i++)
            parse_code_item(c, n->seq[i], path, &hc->codes[i]);
        return;
    }
    hc->codes = mem_calloc(1, sizeof(*hc->codes));
    hc->codes[0] = (struct code_range){ 200, 399 };
    hc->n_codes = 1;
}

static void check_regex(struct pctx *c, const struct yt_node *n, const char *path, const char *re)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *rx = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (rx) {
        pcre2_code_free(rx);
        return;
    }
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(code, msg, sizeof(msg));
    config_err(c, CONFIG_STAGE_SEMANTIC, n, path,
               "response-regex \"%s\" does not compile: %s at offset %zu", re, (const char *)msg,
               (size_t)off);
}

static void parse_params(struct pctx *c, struct healthcheck_conf *hc, const struct yt_node *hn,
                         const char *hpath, bool type_ok)
{
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "%s.params", hpath);
    const struct yt_node *p = yt_map_get(hn, "params");
    bool web = hc->type == HC_HTTP || hc->type == HC_HTTPS;
    if (p && !(p->kind == YT_SCALAR && p->is_null) && !web && type_ok)
        config_err(c, CONFIG_STAGE_SEMANTIC, p, hpath,
                   "params only apply to http and https healthchecks, not %s; remove them",
                   config_hc_type_name(hc->type));
    if (!config_walk_map(c, p, path, "the http parameters", params_keys))
        p = NULL;
    const struct yt_node *v;
    if ((v = config_walk_str(c, p, path, "path", &hc->path))) {
        if (hc->path[0] != '/')
            config_err(c, CONFIG_STAGE_SEMANTIC, v, path, "path \"%s\" must start with '/'",
                       hc->path);
        else
            config_walk_token(c, v, path, "path", hc->path, false);
    }
    if (!hc->path && web)
        hc->path = mem_strdup("/");
    if ((v = config_walk_str(c, p, path, "host", &hc->host)) &&
        config_walk_nonempty(c, v, path, "host"))
        config_walk_token(c, v, path, "host", hc->host, false);
    if ((v = config_walk_str(c, p, path, "response-regex", &hc->response_regex)))
        check_regex(c, v, path, hc->response_regex);
    if ((v = config_walk_str(c, p, path, "tls-server-name", &hc->tls_server_name))) {
        if (hc->type != HC_HTTPS && web)
            config_err(c, CONFIG_STAGE_SEMANTIC, v, path,
                       "tls-server-name only applies to https healthchecks; remove it");
        else if (config_walk_nonempty(c, v, path, "tls-server-name"))
            config_walk_token(c, v, path, "tls-server-name", hc->tls_server_name, false);
    }
    if ((v = config_walk_bool(c, p, path, "tls-insecure", &hc->tls_insecure)) &&
        hc->type == HC_HTTP)
        config_err(c, CONFIG_STAGE_SEMANTIC, v, path,
                   "tls-insecure only applies to https healthchecks; remove it");
    hc->tls_resume = true;
    if ((v = config_walk_bool(c, p, path, "tls-resume", &hc->tls_resume)) && hc->type == HC_HTTP)
        config_err(c, CONFIG_STAGE_SEMANTIC, v, path,
                   "tls-resume only applies to https healthchecks; remove it");
    if (web)
        parse_codes(c, hc, p, path);
}

static void damping_value(struct pctx *c, const struct yt_node *dn, const char *path,
                          const char *key, uint32_t *out)
{
    long long v;
    const struct yt_node *n = config_walk_int(c, dn, path, key, &v);
    if (n &&
        config_walk_range(c, CONFIG_STAGE_SEMANTIC, n, path, key, v, 1, CONFIG_DAMPING_VALUE_MAX))
        *out = (uint32_t)v;
}

/* 2^x for 0 <= x < 64 without libm: whole doublings, then the series of
 * e^(f ln 2) for the fraction (converges fast for f < 1). */
static double pow2(double x)
{
    double r = 1;
    for (; x >= 1; x -= 1)
        r *= 2;
    double term = 1, sum = 1;
    for (int k = 1; k < 20; k++) {
        term *= x * 0.69314718055994530942 / k;
        sum += term;
    }
    return r * sum;
}

/* The relations between the damping values; dn: the mapping, to point at. */
static void check_damping(struct pctx *c, const struct damping_conf *d, const struct yt_node *dn,
                          const char *path, const struct yt_node *max_n)
{
    char a[DURATION_BUFSZ], b[DURATION_BUFSZ];
    const struct yt_node *rn = yt_map_get(dn, "reuse");
    if (d->reuse >= d->suppress) {
        config_err(c, CONFIG_STAGE_SEMANTIC, rn ? rn : dn, path,
                   "reuse %u is not below suppress %u; a suppressed backend is reused when its "
                   "penalty decays below reuse, so lower reuse or raise suppress",
                   d->reuse, d->suppress);
        return;
    }
    if (d->max_suppress < d->half_life) {
        config_err(c, CONFIG_STAGE_SEMANTIC, max_n ? max_n : dn, path,
                   "max-suppress %s is shorter than half-life %s; raise max-suppress (default "
                   "4 x half-life) or lower half-life",
                   duration_format(d->max_suppress, a, sizeof(a)),
                   duration_format(d->half_life, b, sizeof(b)));
        return;
    }
    /* the penalty's ceiling, reuse x 2^(max-suppress/half-life), must lie
     * above suppress, or no backend could ever be suppressed */
    double ratio = (double)d->max_suppress / (double)d->half_life;
    if (ratio < 64 && (double)d->reuse * pow2(ratio) <= (double)d->suppress)
        config_err(c, CONFIG_STAGE_SEMANTIC, max_n ? max_n : dn, path,
                   "max-suppress %s caps the penalty at %.0f (reuse x 2^(max-suppress/half-life)), "
                   "not above suppress %u, so no backend could be suppressed; raise max-suppress "
                   "or lower suppress",
                   duration_format(d->max_suppress, a, sizeof(a)), (double)d->reuse * pow2(ratio),
                   d->suppress);
}

/* damping: absent, null or false = off; true or a mapping = on, the keys
 * not given at their defaults. */
static void parse_damping(struct pctx *c, struct healthcheck_conf *hc, const struct yt_node *hn,
                          const char *hpath)
{
    struct damping_conf *d = &hc->damping;
    const struct yt_node *dn = yt_map_get(hn, "damping");
    if (!dn || (dn->kind == YT_SCALAR && dn->is_null))
        return;
    if (dn->kind == YT_SCALAR) {
        bool on = false;
        if (!config_walk_bool(c, hn, hpath, "damping", &on) || !on)
            return;
    }
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "%s.damping", hpath);
    *d = (struct damping_conf){ true,
                                CONFIG_DAMPING_HALF_LIFE,
                                0,
                                CONFIG_DAMPING_PENALTY,
                                CONFIG_DAMPING_SUPPRESS,
                                CONFIG_DAMPING_REUSE };
    d->max_suppress = 4 * d->half_life;
    if (dn->kind == YT_SCALAR ||
        !config_walk_map(c, dn, path, "the damping settings (or true)", damping_keys))
        return; /* true: the defaults, which are consistent */
    const struct yt_node *v, *max_n;
    bool times_ok = true; /* a bad one is reported once, not again by the relations */
    if ((v = config_walk_duration(c, dn, path, "half-life", &d->half_life)) &&
        !config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, v, path, "half-life", d->half_life,
                                    CONFIG_DAMPING_HALF_LIFE_MIN, CONFIG_DAMPING_TIME_MAX)) {
        d->half_life = CONFIG_DAMPING_HALF_LIFE;
        times_ok = false;
    }
    d->max_suppress = 4 * d->half_life;
    if ((max_n = config_walk_duration(c, dn, path, "max-suppress", &d->max_suppress)) &&
        !config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, max_n, path, "max-suppress",
                                    d->max_suppress, CONFIG_DAMPING_HALF_LIFE_MIN,
                                    CONFIG_DAMPING_TIME_MAX)) {
        d->max_suppress = 4 * d->half_life;
        times_ok = false;
    }
    damping_value(c, dn, path, "penalty", &d->penalty);
    damping_value(c, dn, path, "suppress", &d->suppress);
    damping_value(c, dn, path, "reuse", &d->reuse);
    if (times_ok)
        check_damping(c, d, dn, path, max_n);
}

/* Returns whether the type is known (type-dependent checks need it). */
static bool parse_type_port(struct pctx *c, struct healthcheck_conf *hc, const struct yt_node *hn,
                            const char *path)
{
    char *type = NULL;
    const struct yt_node *tn = config_walk_str(c, hn, path, "type", &type);
    if (!tn && config_walk_unset(hn, "type"))
        config_err(c, CONFIG_STAGE_SEMANTIC, config_walk_req_node(hn, "type", hn, NULL), path,
                   "type is required: icmp, tcp, http or https");
    bool found = false;
    if (tn) {
        static const char *const names[] = { "icmp", "tcp", "http", "https", NULL };
        for (int i = 0; names[i]; i++)
            if (strcmp(type, names[i]) == 0) {
                hc->type = (enum hc_type)i;
                found = true;
            }
        if (!found) {
            const char *s = config_suggest(type, names);
            config_err(c, CONFIG_STAGE_SEMANTIC, tn, path,
                       "type \"%s\" is not one of icmp, tcp, http, https%s%s%s", type,
                       s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "");
        }
    }
    free(type);
    long long port;
    const struct yt_node *pn = config_walk_int(c, hn, path, "port", &port);
    if (pn && found && hc->type == HC_ICMP)
        config_err(c, CONFIG_STAGE_SEMANTIC, pn, path,
                   "port is not used by icmp healthchecks; remove it");
    else if (pn && config_walk_range(c, CONFIG_STAGE_SEMANTIC, pn, path, "port", port, 1, 65535))
        hc->port = (uint16_t)port;
    else if (!pn && config_walk_unset(hn, "port") && found && hc->type == HC_TCP)
        config_err(c, CONFIG_STAGE_SEMANTIC, config_walk_req_node(hn, "port", hn, NULL), path,
                   "port is required for tcp healthchecks");
    if (!pn && hc->type == HC_HTTP)
        hc->port = 80;
    if (!pn && hc->type == HC_HTTPS)
        hc->port = 443;
    return found;
}

static void parse_timing(struct pctx *c, struct healthcheck_conf *hc, const struct yt_node *hn,
                         const char *path)
{
    const struct yt_node *in, *fn, *dn, *tn, *v;
    hc->interval = 2 * DURATION_SEC;
    if ((in = config_walk_duration(c, hn, path, "interval", &hc->interval)))
        config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, in, path, "interval", hc->interval,
                                   INTERVAL_MIN, INTERVAL_MAX);
    hc->fast_interval = hc->down_interval = hc->interval;
    if ((fn = config_walk_duration(c, hn, path, "fast-interval", &hc->fast_interval)))
        config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, fn, path, "fast-interval",
                                   hc->fast_interval, INTERVAL_MIN, INTERVAL_MAX);
    if ((dn = config_walk_duration(c, hn, path, "down-interval", &hc->down_interval)))
        config_walk_duration_range(c, CONFIG_STAGE_SEMANTIC, dn, path, "down-interval",
                                   hc->down_interval, INTERVAL_MIN, INTERVAL_MAX);
    /* the default timeout never exceeds the interval */
    hc->timeout = hc->interval < DURATION_SEC ? hc->interval : DURATION_SEC;
    if ((tn = config_walk_duration(c, hn, path, "timeout", &hc->timeout))) {
        if (hc->timeout <= 0)
            config_err(c, CONFIG_STAGE_SEMANTIC, tn, path, "timeout must be positive");
    }
    if (hc->timeout > hc->interval) {
        char a[DURATION_BUFSZ], b[DURATION_BUFSZ];
        config_err(c, CONFIG_STAGE_SEMANTIC,
                   tn   ? tn
                   : in ? in
                        : hn,
                   path,
                   "timeout %s is longer than interval %s; a probe must finish before the next one "
                   "starts, so lower timeout or raise interval",
                   duration_format(hc->timeout, a, sizeof(a)),
                   duration_format(hc->interval, b, sizeof(b)));
    }
    long long n;
    hc->rise = 2;
    hc->fall = 3;
    if ((v = config_walk_int(c, hn, path, "rise", &n)) &&
        config_walk_range(c, CONFIG_STAGE_SEMANTIC, v, path, "rise", n, 1, CONFIG_RISE_FALL_MAX))
        hc->rise = (uint32_t)n;
    if ((v = config_walk_int(c, hn, path, "fall", &n)) &&
        config_walk_range(c, CONFIG_STAGE_SEMANTIC, v, path, "fall", n, 1, CONFIG_RISE_FALL_MAX))
        hc->fall = (uint32_t)n;
}

static void parse_healthcheck(struct pctx *c, struct healthcheck_conf *hc,
                              const struct yt_node *key, const struct yt_node *hn)
{
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "healthchecks.%s", key->value);
    hc->name = mem_strdup(key->value);
    hc->mark = config_mark_of(key);
    hc->type = HC_TCP;
    config_walk_name(c, key, path, "healthcheck");
    if (!hn || (hn->kind == YT_SCALAR && hn->is_null)) {
        config_err(c, CONFIG_STAGE_SEMANTIC, key, path,
                   "healthcheck has no settings; type is required");
        return;
    }
    if (!config_walk_map(c, hn, path, "a healthcheck", healthcheck_keys))
        return;
    bool type_ok = parse_type_port(c, hc, hn, path);
    parse_timing(c, hc, hn, path);
    const struct yt_node *v;
    if ((v = config_walk_ip(c, CONFIG_STAGE_SEMANTIC, hn, path, "source-address",
                            &hc->source_address)))
        hc->source_mark = config_mark_of(v);
    if ((v = config_walk_str(c, hn, path, "netns", &hc->netns)))
        check_netns(c, v, path, hc->netns);
    config_walk_slow_start(c, hn, path, &hc->slow_start);
    parse_damping(c, hc, hn, path);
    parse_params(c, hc, hn, path, type_ok);
}

void config_parse_healthchecks(struct pctx *c, const struct yt_node *n)
{
    if (!config_walk_map(c, n, "healthchecks", "healthchecks by name", NULL) || !n ||
        n->kind != YT_MAP)
        return;
    c->cfg->healthchecks = mem_calloc(n->n, sizeof(struct healthcheck_conf));
    c->cfg->n_healthchecks = n->n;
    for (size_t i = 0; i < n->n; i++)
        parse_healthcheck(c, &c->cfg->healthchecks[i], n->map[i].key, n->map[i].value);
    qsort(c->cfg->healthchecks, n->n, sizeof(struct healthcheck_conf), config_cmp_name);
}
