/* dump.c: canonical YAML of a loaded config, and a one-line summary. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/strbuf.h"
#include "config/config_int.h"

static void put_str(struct strbuf *sb, const char *s)
{
    strbuf_addc(sb, '"');
    config_esc_add(sb, s, true);
    strbuf_addc(sb, '"');
}

static void put_kv_str(struct strbuf *sb, int indent, const char *key, const char *s)
{
    if (!s)
        return;
    strbuf_addf(sb, "%*s%s: ", indent, "", key);
    put_str(sb, s);
    strbuf_addc(sb, '\n');
}

static void put_kv_dur(struct strbuf *sb, int indent, const char *key, int64_t ns)
{
    char buf[DURATION_BUFSZ];
    strbuf_addf(sb, "%*s%s: %s\n", indent, "", key, duration_format(ns, buf, sizeof(buf)));
}

static void put_kv_ip(struct strbuf *sb, int indent, const char *key, const struct ip_addr *a)
{
    char buf[IP_ADDR_STRLEN];
    if (!ip_addr_is_set(a))
        return;
    ip_addr_format(a, buf, sizeof(buf));
    /* "2001:db8::" or "::1" plain could read as a mapping indicator */
    bool quote = buf[0] == ':' || buf[strlen(buf) - 1] == ':';
    strbuf_addf(sb, quote ? "%*s%s: \"%s\"\n" : "%*s%s: %s\n", indent, "", key, buf);
}

/* Object names are restricted to [A-Za-z0-9._-]; they are written plain
 * unless a YAML reader could take them for a number, boolean or null. */
static void put_name(struct strbuf *sb, const char *s)
{
    static const char *const words[] = { "true", "false", "yes", "no", "on",
                                         "off",  "null",  "y",   "n",  NULL };
    bool plain = isalpha((unsigned char)s[0]);
    for (size_t i = 0; plain && words[i]; i++)
        plain = strcasecmp(s, words[i]) != 0;
    if (plain)
        strbuf_adds(sb, s);
    else
        put_str(sb, s);
}

static void put_name_key(struct strbuf *sb, int indent, const char *name)
{
    strbuf_addf(sb, "%*s", indent, "");
    put_name(sb, name);
    strbuf_adds(sb, ":\n");
}

static void dump_params(struct strbuf *sb, const struct healthcheck_conf *h)
{
    strbuf_adds(sb, "      params:\n");
    put_kv_str(sb, 8, "path", h->path);
    put_kv_str(sb, 8, "host", h->host);
    strbuf_adds(sb, "        response-codes: [");
    for (size_t i = 0; i < h->n_codes; i++) {
        const struct code_range *r = &h->codes[i];
        if (r->lo == r->hi)
            strbuf_addf(sb, "%s%u", i ? ", " : "", r->lo);
        else
            strbuf_addf(sb, "%s\"%u-%u\"", i ? ", " : "", r->lo, r->hi);
    }
    strbuf_adds(sb, "]\n");
    put_kv_str(sb, 8, "response-regex", h->response_regex);
    if (h->type == HC_HTTPS) {
        put_kv_str(sb, 8, "tls-server-name", h->tls_server_name);
        strbuf_addf(sb, "        tls-insecure: %s\n", h->tls_insecure ? "true" : "false");
        strbuf_addf(sb, "        tls-resume: %s\n", h->tls_resume ? "true" : "false");
    }
}

static void dump_healthchecks(struct strbuf *sb, const struct maglev_config *cfg)
{
    strbuf_adds(sb, "  healthchecks:");
    strbuf_adds(sb, cfg->n_healthchecks ? "\n" : " {}\n");
    for (size_t i = 0; i < cfg->n_healthchecks; i++) {
        const struct healthcheck_conf *h = &cfg->healthchecks[i];
        put_name_key(sb, 4, h->name);
        strbuf_addf(sb, "      type: %s\n", config_hc_type_name(h->type));
        if (h->type != HC_ICMP)
            strbuf_addf(sb, "      port: %u\n", h->port);
        put_kv_dur(sb, 6, "interval", h->interval);
        put_kv_dur(sb, 6, "fast-interval", h->fast_interval);
        put_kv_dur(sb, 6, "down-interval", h->down_interval);
        put_kv_dur(sb, 6, "timeout", h->timeout);
        strbuf_addf(sb, "      rise: %u\n      fall: %u\n", h->rise, h->fall);
        put_kv_ip(sb, 6, "source-address", &h->source_address);
        put_kv_str(sb, 6, "netns", h->netns);
        if (h->slow_start) /* 0 (off) is left out, as before the key existed */
            put_kv_dur(sb, 6, "slow-start", h->slow_start);
        if (h->damping.on) { /* off is left out, as before the key existed */
            const struct damping_conf *d = &h->damping;
            strbuf_adds(sb, "      damping:\n");
            put_kv_dur(sb, 8, "half-life", d->half_life);
            strbuf_addf(sb, "        penalty: %u\n        suppress: %u\n        reuse: %u\n",
                        d->penalty, d->suppress, d->reuse);
            put_kv_dur(sb, 8, "max-suppress", d->max_suppress);
        }
        if (h->type == HC_HTTP || h->type == HC_HTTPS)
            dump_params(sb, h);
    }
}

static void dump_backends(struct strbuf *sb, const struct maglev_config *cfg)
{
    strbuf_adds(sb, "  backends:");
    strbuf_adds(sb, cfg->n_backends ? "\n" : " {}\n");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_conf *b = &cfg->backends[i];
        put_name_key(sb, 4, b->name);
        put_kv_ip(sb, 6, "address", &b->address);
        if (b->healthcheck) {
            strbuf_adds(sb, "      healthcheck: ");
            put_name(sb, b->healthcheck);
            strbuf_addc(sb, '\n');
        }
        strbuf_addf(sb, "      enabled: %s\n", b->enabled ? "true" : "false");
        if (b->slow_start_set) /* an explicit 0 overrides the healthcheck's */
            put_kv_dur(sb, 6, "slow-start", b->slow_start);
    }
}

static void dump_frontends(struct strbuf *sb, const struct maglev_config *cfg)
{
    strbuf_adds(sb, "  frontends:");
    strbuf_adds(sb, cfg->n_frontends ? "\n" : " {}\n");
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        const struct frontend_conf *f = &cfg->frontends[i];
        put_name_key(sb, 4, f->name);
        put_kv_str(sb, 6, "description", f->description);
        put_kv_ip(sb, 6, "address", &f->address);
        if (f->protocol != FE_PROTO_ANY)
            strbuf_addf(sb, "      protocol: %s\n", config_fe_protocol_name(f->protocol));
        strbuf_addf(sb, "      port: %u\n", f->port);
        strbuf_addf(sb, "      src-ip-sticky: %s\n", f->src_ip_sticky ? "true" : "false");
        strbuf_addf(sb, "      flush-on-down: %s\n", f->flush_on_down ? "true" : "false");
        if (f->panic_threshold) /* 0 (off) is left out, as before the key existed */
            strbuf_addf(sb, "      panic-threshold: %u%%\n", f->panic_threshold);
        strbuf_adds(sb, "      pools:\n");
        for (size_t j = 0; j < f->n_pools; j++) {
            const struct pool_conf *p = &f->pools[j];
            strbuf_adds(sb, "        - name: ");
            put_name(sb, p->name);
            strbuf_adds(sb, "\n          backends:\n");
            for (size_t k = 0; k < p->n_backends; k++) {
                put_name_key(sb, 12, p->backends[k].backend);
                strbuf_addf(sb, "              weight: %u\n", p->backends[k].weight);
            }
        }
    }
}

static void dump_vpp(struct strbuf *sb, const struct maglev_config *cfg)
{
    const struct vpp_lb_conf *v = &cfg->vpp;
    strbuf_adds(sb, "  vpp:\n    lb:\n");
    put_kv_ip(sb, 6, "ipv4-src-address", &v->ipv4_src_address);
    put_kv_ip(sb, 6, "ipv6-src-address", &v->ipv6_src_address);
    put_kv_dur(sb, 6, "sync-interval", v->sync_interval);
    strbuf_addf(sb, "      sticky-buckets-per-core: %u\n", v->sticky_buckets_per_core);
    put_kv_dur(sb, 6, "flow-timeout", v->flow_timeout);
    put_kv_dur(sb, 6, "startup-min-delay", v->startup_min_delay);
    put_kv_dur(sb, 6, "startup-max-delay", v->startup_max_delay);
}

char *config_dump(const struct maglev_config *cfg)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  healthchecker:\n");
    put_kv_str(&sb, 4, "netns", cfg->netns);
    strbuf_addf(&sb, "    transition-history: %u\n", cfg->transition_history);
    if (cfg->mass_failure) /* the guard's keys only when it is on */
        strbuf_addf(&sb, "    mass-failure: %u%%\n", cfg->mass_failure);
    if (cfg->mass_failure_window)
        put_kv_dur(&sb, 4, "mass-failure-window", cfg->mass_failure_window);
    dump_healthchecks(&sb, cfg);
    dump_backends(&sb, cfg);
    dump_frontends(&sb, cfg);
    dump_vpp(&sb, cfg);
    return strbuf_detach(&sb);
}

char *config_summary(const struct maglev_config *cfg)
{
    size_t pools = 0;
    for (size_t i = 0; i < cfg->n_frontends; i++)
        pools += cfg->frontends[i].n_pools;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%zu healthcheck%s, %zu backend%s, %zu frontend%s, %zu pool%s",
                cfg->n_healthchecks, cfg->n_healthchecks == 1 ? "" : "s", cfg->n_backends,
                cfg->n_backends == 1 ? "" : "s", cfg->n_frontends, cfg->n_frontends == 1 ? "" : "s",
                pools, pools == 1 ? "" : "s");
    return strbuf_detach(&sb);
}
