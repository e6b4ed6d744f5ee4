/* fleet: `maglevc show fleet`, the view across several maglevd (one per
 * VPP router behind ECMP). Pure: the answers of each load balancer in, a
 * comparison out (fleet_compare), as text or JSON (fleet_render.c). No
 * I/O; the RPCs are in actions_fleet.c.
 *
 * Per frontend, the load balancers agree when all of them
 *   - have the same config hash (VersionInfo.config_hash: the canonical
 *     config's SHA-256, so comments and key order do not count);
 *   - give every pool backend of the frontend the same effective weight
 *     (ListFrontends, PoolBackend.effective_weight);
 *   - have in VPP the same Maglev new-flow table for its VIP: the table
 *     is rebuilt here with VPP's algorithm (lb/maglev.h) from the weights
 *     each VPP has (GetVPPLBState: the active ASes with weight > 0 and the
 *     VIP's flow_table_length) and compared by fingerprint.
 * The backends whose health state or effective weight differs between
 * them are listed with each LB's view: the usual cause of a difference. */
#ifndef MAGLEV_CLI_FLEET_H
#define MAGLEV_CLI_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "maglev.pb-c.h"

/* What one load balancer answered (the caller's; borrowed). */
struct fleet_lb {
    const char *server; /* its address, as given */
    const char *error;  /* NULL: reachable; else why not (nothing else is read) */
    const Maglev__VersionInfo *version;
    const Maglev__ListFrontendsResponse *frontends;
    const Maglev__VPPLBState *vpp; /* NULL: VPP's state unknown, vpp_error says why */
    const char *vpp_error;
};

/* The table state of one frontend on one LB. */
enum fleet_table {
    FLEET_TABLE_UNKNOWN = 0, /* LB unreachable, VPP state unknown, or a length VPP would not use */
    FLEET_TABLE_NO_VIP,      /* VPP has no VIP for the frontend */
    FLEET_TABLE_OK,          /* fingerprint valid */
};

struct fleet_cell {
    bool present; /* the LB has the frontend */
    enum fleet_table table;
    uint64_t fingerprint;  /* lb_mg_fingerprint of VPP's table */
    uint32_t len;          /* flow_table_length */
    uint32_t total_weight; /* sum of the effective weights */
};

/* A pool backend seen differently: per LB its state and effective weight. */
struct fleet_backend_view {
    bool present; /* in this LB's frontend (and the LB reachable) */
    const char *state;
    uint32_t weight;
};

struct fleet_backend_diff {
    const char *pool, *backend;
    struct fleet_backend_view *lb; /* n_lbs */
};

struct fleet_frontend {
    const char *name;
    bool present_all; /* every reachable LB has it */
    bool weights_same, table_same;
    bool agree; /* config, presence, weights and table the same on every reachable LB */
    struct fleet_cell *cell; /* n_lbs */
    struct fleet_backend_diff *diff;
    size_t n_diff;
};

struct fleet_report {
    const struct fleet_lb *lbs;
    size_t n_lbs;
    size_t unreachable; /* LBs with an error */
    bool config_same;   /* the same non-empty config hash on every reachable LB */
    bool agree;         /* every frontend agrees and every LB answered */
    struct fleet_frontend *fe;
    size_t n_fe; /* frontends of any reachable LB, in the order first seen */
};

/* The fingerprint of a VIP's table as VPP has it; -EINVAL when its
 * flow_table_length is not one VPP uses or an AS address does not parse. */
int fleet_vip_fingerprint(const Maglev__VPPLBVIP *vip, uint64_t *fp);

/* Compares n LBs (n >= 1); free with fleet_report_free. */
void fleet_compare(const struct fleet_lb *lbs, size_t n, struct fleet_report *out);
void fleet_report_free(struct fleet_report *r);

/* ---- fleet_render.c ---- */

/* The text: the LBs (label lbN, address, config hash or why unreachable),
 * a table per frontend with one column per LB, a summary line. */
void fleet_render_text(struct strbuf *sb, bool color, const struct fleet_report *r);
/* The JSON object (pretty, no trailing newline). */
void fleet_render_json(struct strbuf *sb, const struct fleet_report *r);
/* The summary line alone (no newline): "fleet agrees: ..." or "fleet
 * disagrees: ...". */
void fleet_summary(struct strbuf *sb, const struct fleet_report *r);

#endif
