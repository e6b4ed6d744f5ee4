/* parse_vpp.c: the vpp: section. Its value checks are the last stage, so
 * operators see structural problems first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "config/config_int.h"

#define ST CONFIG_STAGE_VPP

static const char *const vpp_keys[] = { "lb", NULL };
static const char *const lb_keys[] = {
    "ipv4-src-address", "ipv6-src-address",  "sync-interval",     "sticky-buckets-per-core",
    "flow-timeout",     "startup-min-delay", "startup-max-delay", NULL,
};

static void parse_src(struct pctx *c, const struct yt_node *lb, const char *path, const char *key,
                      int family, struct ip_addr *out, const struct yt_node *anchor)
{
    const char *want = family == AF_INET ? "IPv4" : "IPv6";
    const char *encap = family == AF_INET ? "GRE4" : "GRE6";
    const struct yt_node *v = config_walk_ip(c, ST, lb, path, key, out);
    if (v && out->family != family) {
        config_err(c, ST, v, path, "%s \"%s\" must be an %s address", key, v->value, want);
        memset(out, 0, sizeof(*out));
    } else if (!v && !yt_map_key(lb, key)) {
        config_err(
            c, ST, lb ? lb : anchor, path,
            "%s is required: the %s source address VPP uses for %s encapsulation to backends", key,
            want, encap);
    } else if (!v && yt_map_get(lb, key)->kind == YT_SCALAR && yt_map_get(lb, key)->is_null) {
        config_err(c, ST, yt_map_get(lb, key), path, "%s is empty; it must be an %s address", key,
                   want);
    }
}

static void parse_lb(struct pctx *c, const struct yt_node *lb, const struct yt_node *anchor)
{
    const char *path = "vpp.lb";
    struct vpp_lb_conf *v = &c->cfg->vpp;
    if (!config_walk_map(c, lb, path, "the LB plugin settings", lb_keys))
        lb = NULL;
    parse_src(c, lb, path, "ipv4-src-address", AF_INET, &v->ipv4_src_address, anchor);
    parse_src(c, lb, path, "ipv6-src-address", AF_INET6, &v->ipv6_src_address, anchor);
    const struct yt_node *n;
    if ((n = config_walk_duration(c, lb, path, "sync-interval", &v->sync_interval)) &&
        v->sync_interval <= 0)
        config_err(c, ST, n, path, "sync-interval must be positive, e.g. 30s");
    long long sb;
    if ((n = config_walk_int(c, lb, path, "sticky-buckets-per-core", &sb))) {
        if (sb < 1024 || sb > 16777216 || (sb & (sb - 1)) != 0)
            config_err(c, ST, n, path,
                       "sticky-buckets-per-core %lld must be a power of 2 from 1024 to 16777216 "
                       "(e.g. 65536)",
                       sb);
        else
            v->sticky_buckets_per_core = (uint32_t)sb;
    }
    if ((n = config_walk_duration(c, lb, path, "flow-timeout", &v->flow_timeout))) {
        if (config_walk_duration_range(c, ST, n, path, "flow-timeout", v->flow_timeout,
                                       DURATION_SEC, 120 * DURATION_SEC) &&
            v->flow_timeout % DURATION_SEC != 0)
            config_err(c, ST, n, path, "flow-timeout %s must be a whole number of seconds",
                       n->value);
    }
    const struct yt_node *mn =
        config_walk_duration(c, lb, path, "startup-min-delay", &v->startup_min_delay);
    if (mn && v->startup_min_delay < 0)
        config_err(c, ST, mn, path, "startup-min-delay must not be negative");
    const struct yt_node *xn =
        config_walk_duration(c, lb, path, "startup-max-delay", &v->startup_max_delay);
    if (v->startup_max_delay < v->startup_min_delay) {
        char a[DURATION_BUFSZ], b[DURATION_BUFSZ];
        config_err(
            c, ST, xn ? xn : mn, path,
            "startup-max-delay %s is shorter than startup-min-delay %s; raise the maximum or "
            "lower the minimum",
            duration_format(v->startup_max_delay, a, sizeof(a)),
            duration_format(v->startup_min_delay, b, sizeof(b)));
    }
}

void config_parse_vpp(struct pctx *c, const struct yt_node *n)
{
    struct vpp_lb_conf *v = &c->cfg->vpp;
    v->sync_interval = 30 * DURATION_SEC;
    v->sticky_buckets_per_core = 65536;
    v->flow_timeout = 40 * DURATION_SEC;
    v->startup_min_delay = 5 * DURATION_SEC;
    v->startup_max_delay = 30 * DURATION_SEC;
    const struct yt_node *lb = NULL;
    if (config_walk_map(c, n, "vpp", "the VPP settings", vpp_keys))
        lb = yt_map_get(n, "lb");
    parse_lb(c, lb, n ? n : c->maglev);
}
