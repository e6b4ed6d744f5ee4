/* config: maglev.yaml -> plain-data config, validated; canonical dump.
 *
 * Loading runs in stages and stops after the first stage that found errors,
 * reporting every error of that stage:
 *   1. read the file and parse YAML              (exit code 1)
 *   2. structure and types of every section      (exit code 1)
 *   3. values, cross-references and semantics    (exit code 2)
 *   4. VPP-specific requirements (vpp.lb)        (exit code 2)
 * Each error names file:line:col, the object path and the fix.
 *
 * All name-keyed arrays are sorted by name (strcmp), so lookups are binary
 * searches and dumps are stable. Durations are nanoseconds.
 */
#ifndef MAGLEV_CONFIG_CONFIG_H
#define MAGLEV_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

#define CONFIG_DEFAULT_PATH "/etc/maglev/maglev.yaml"
/* the default before 0.2: still read (with a warning) when it exists and
 * CONFIG_DEFAULT_PATH does not */
#define CONFIG_OLD_DEFAULT_PATH "/etc/vpp-maglev/maglev.yaml"
#define CONFIG_NAME_MAX         64
#define CONFIG_WEIGHT_MAX       100
#define CONFIG_RISE_FALL_MAX    1000
#define CONFIG_HISTORY_MAX      10000

struct config_mark {
    int line, col; /* 1-based; 0 = not from a file */
};

enum hc_type { HC_ICMP, HC_TCP, HC_HTTP, HC_HTTPS };

struct code_range {
    uint16_t lo, hi; /* inclusive, 100..599 */
};

/* Flap damping of a healthcheck's backends (healthchecks.NAME.damping,
 * RFC 2439's scheme): a penalty per down transition that halves every
 * half_life; suppressed above `suppress` until it decays to `reuse`, the
 * penalty capped so that takes at most max_suppress. on = false: off. */
struct damping_conf {
    bool on;
    int64_t half_life, max_suppress; /* ns */
    uint32_t penalty, suppress, reuse;
};
#define CONFIG_DAMPING_HALF_LIFE     (60LL * 1000 * 1000 * 1000)
#define CONFIG_DAMPING_PENALTY       1000
#define CONFIG_DAMPING_SUPPRESS      2000
#define CONFIG_DAMPING_REUSE         750
#define CONFIG_DAMPING_HALF_LIFE_MIN (1000LL * 1000 * 1000)
#define CONFIG_DAMPING_TIME_MAX      (24 * 3600LL * 1000 * 1000 * 1000)
#define CONFIG_DAMPING_VALUE_MAX     1000000

struct healthcheck_conf {
    char *name;
    enum hc_type type;
    uint16_t port; /* 0 for icmp */
    int64_t interval, fast_interval, down_interval, timeout;
    uint32_t rise, fall;
    struct ip_addr source_address; /* family 0 = unset */
    struct config_mark source_mark;
    char *netns; /* NULL = healthchecker.netns */
    /* http/https params */
    char *path;
    char *host; /* NULL = the backend address */
    struct code_range *codes;
    size_t n_codes;
    char *response_regex;  /* NULL = no body check */
    char *tls_server_name; /* NULL = none */
    bool tls_insecure;
    bool tls_resume; /* resume TLS sessions (https); the loader's default is true */
    /* slow start of the backends using it (ns, 0 = off); not a probe
     * setting: config_healthcheck_equal ignores it, so changing it never
     * restarts probing */
    int64_t slow_start;
    struct damping_conf damping; /* a healthcheck setting: part of config_healthcheck_equal */
    struct config_mark mark;
};

struct backend_conf {
    char *name;
    struct ip_addr address;
    char *healthcheck; /* NULL = not probed */
    int hc_index;      /* index into healthchecks, -1 when none */
    bool enabled;
    int64_t slow_start;  /* ns, 0 = off; used only when slow_start_set */
    bool slow_start_set; /* the backend's own slow-start: wins over its healthcheck's */
    struct config_mark mark, address_mark, healthcheck_mark;
};

struct pool_backend_conf {
    char *backend;
    int backend_index; /* index into backends */
    uint8_t weight;    /* 0..100 */
    struct config_mark mark;
};

struct pool_conf {
    char *name;
    struct pool_backend_conf *backends; /* sorted by backend name */
    size_t n_backends;
    struct config_mark mark;
};

enum fe_protocol { FE_PROTO_ANY, FE_PROTO_TCP, FE_PROTO_UDP };

struct frontend_conf {
    char *name;
    char *description; /* NULL = none */
    struct ip_addr address;
    enum fe_protocol protocol; /* ANY iff port == 0 */
    uint16_t port;             /* 0 = all ports */
    bool src_ip_sticky;
    bool flush_on_down;
    uint8_t panic_threshold; /* %, 0 = no panic mode (lb.h) */
    struct pool_conf *pools; /* in priority order */
    size_t n_pools;
    struct config_mark mark, address_mark;
};

struct vpp_lb_conf {
    struct ip_addr ipv4_src_address;
    struct ip_addr ipv6_src_address;
    int64_t sync_interval;
    uint32_t sticky_buckets_per_core;
    int64_t flow_timeout; /* whole seconds, as ns */
    int64_t startup_min_delay, startup_max_delay;
};

struct maglev_config {
    char *netns; /* healthchecker.netns; NULL = the daemon's own */
    uint32_t transition_history;
    uint8_t mass_failure;        /* healthchecker.mass-failure, %; 0 = guard off */
    int64_t mass_failure_window; /* 0 = the longest healthcheck interval */
    struct healthcheck_conf *healthchecks;
    size_t n_healthchecks;
    struct backend_conf *backends;
    size_t n_backends;
    struct frontend_conf *frontends;
    size_t n_frontends;
    struct vpp_lb_conf vpp;
};

enum config_stage {
    CONFIG_STAGE_OK = 0,
    CONFIG_STAGE_SYNTAX,    /* unreadable file or YAML syntax */
    CONFIG_STAGE_STRUCTURE, /* unknown/duplicate keys, wrong types */
    CONFIG_STAGE_SEMANTIC,  /* values, references, semantics */
    CONFIG_STAGE_VPP,       /* vpp.lb requirements */
};

struct config_diag {
    enum config_stage stage;
    size_t order; /* in which it was found */
    struct config_mark mark;
    char *path; /* object path, e.g. "frontends.web.pools[0]"; may be "" */
    char *msg;
};

struct config_diags {
    const char *file;        /* as given to the loader */
    enum config_stage stage; /* the stage that failed, or OK */
    struct config_diag *v;
    size_t n, cap;
};

/* Loads and validates. Returns 0 with *out set, or -EINVAL with diags
 * filled (diags->stage says which stage failed). diags must be zeroed by
 * the caller and released with config_diags_free in both cases. */
int config_load_file(const char *path, struct maglev_config **out, struct config_diags *diags);
int config_load_buffer(const char *name, const char *data, size_t len, struct maglev_config **out,
                       struct config_diags *diags);
void config_free(struct maglev_config *cfg);

/* Exit code for --check: 0 valid, 1 syntax/structure, 2 semantic/VPP. */
int config_exit_code(const struct config_diags *diags);
/* "file:line:col: path: message" (parts omitted when unknown); free() it. */
char *config_diag_format(const struct config_diags *diags, size_t i);
void config_diags_free(struct config_diags *diags);

/* Canonical YAML: every default filled in, stable order; loads again to
 * the same config. free() the result. */
char *config_dump(const struct maglev_config *cfg);
/* The config's identity: SHA-256 of config_dump() in lower-case hex, so
 * comments, key order, spelling of defaults and the like play no role, any
 * real difference does. "" if libcrypto cannot compute it. */
#define CONFIG_HASH_HEX 65 /* 64 hex digits and the NUL */
void config_hash_hex(const struct maglev_config *cfg, char out[CONFIG_HASH_HEX]);
/* One-line summary: "3 healthchecks, 6 backends, 2 frontends, 4 pools". */
char *config_summary(const struct maglev_config *cfg);

const struct healthcheck_conf *config_find_healthcheck(const struct maglev_config *cfg,
                                                       const char *name);
const struct backend_conf *config_find_backend(const struct maglev_config *cfg, const char *name);
const struct frontend_conf *config_find_frontend(const struct maglev_config *cfg, const char *name);

/* For reloads: probe and damping settings equal (names and marks
 * ignored); damping settings alone equal (both off counts as equal); a deep
 * copy the caller owns; releasing a copy's contents. */
bool config_healthcheck_equal(const struct healthcheck_conf *a, const struct healthcheck_conf *b);
bool config_damping_equal(const struct damping_conf *a, const struct damping_conf *b);
void config_healthcheck_copy(struct healthcheck_conf *dst, const struct healthcheck_conf *src);
void config_healthcheck_clear(struct healthcheck_conf *h);

/* Slow start (backends.NAME.slow-start, else its healthcheck's; ns, 0 =
 * off) of backend b of cfg: the backend's key wins, even when 0. */
int64_t config_backend_slow_start(const struct maglev_config *cfg, const struct backend_conf *b);
/* Bounds of a slow-start other than 0: a step is at least a second. */
#define CONFIG_SLOW_START_MIN (1000LL * 1000 * 1000)
#define CONFIG_SLOW_START_MAX (3600LL * 1000 * 1000 * 1000)

const char *config_hc_type_name(enum hc_type t);
const char *config_fe_protocol_name(enum fe_protocol p);

#endif
