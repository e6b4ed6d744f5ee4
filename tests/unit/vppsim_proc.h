/* vppsim_proc: tools/vppsim/vppsim.py as a subprocess for C unit tests,
 * with a client of its JSON-lines control socket and a minimal JSON
 * reader for the replies (tests only). */
#ifndef MAGLEV_TESTS_VPPSIM_PROC_H
#define MAGLEV_TESTS_VPPSIM_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- a minimal JSON value ---- */

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
    enum jv_type t;
    bool b;
    double num;
    char *str;         /* JV_STR */
    size_t n;          /* JV_ARR, JV_OBJ: entries */
    struct jv **items; /* JV_ARR, JV_OBJ */
    char **keys;       /* JV_OBJ */
};

/* NULL on a syntax error. */
struct jv *jv_parse(const char *text);
void jv_free(struct jv *v);
/* Member of an object (NULL if none or not an object). */
const struct jv *jv_get(const struct jv *o, const char *key);
/* Path of object keys: jv_path(v, "state", "conf", NULL). */
const struct jv *jv_path(const struct jv *v, ...);
/* The number, or dflt when v is not a number. */
double jv_num(const struct jv *v, double dflt);
/* The string, or "" when v is not a string. */
const char *jv_str(const struct jv *v);

/* ---- the subprocess ---- */

struct vppsim {
    pid_t pid;
    char dir[64];
    char api[96];
    char ctl[96];
    int fd; /* control connection */
    char *rbuf;
    size_t rlen, rcap;
};

/* Starts vppsim in a fresh temporary directory (api.sock, ctl.sock) with
 * the extra arguments (NULL-terminated list, may be NULL) and waits until
 * its control socket answers. 0, or -1 (said on stderr). */
int vppsim_start(struct vppsim *v, const char *const *extra);
/* SIGTERM, wait, remove the directory. */
void vppsim_stop(struct vppsim *v);

/* Sends one request line (a JSON object) and returns the reply (free with
 * jv_free); NULL on an I/O error. Does not check "ok". */
struct jv *vppsim_call(struct vppsim *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As vppsim_call, but fails the test unless the reply has ok true. */
struct jv *vppsim_ok(struct vppsim *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vppsim_ok without the reply. */
void vppsim_do(struct vppsim *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `received` count of a request name (0 when never received). */
long vppsim_received(struct vppsim *v, const char *name);
/* Sum of the received counts of every LB write (lb_conf, VIP and AS
 * add/del, set_weight, flush, NAT interfaces). */
long vppsim_writes(struct vppsim *v);
/* The weight of AS `as` of the (not deleted) VIP prefix/port in vppsim's
 * state: the weight when the AS is active, -2 when lingering (removed),
 * -1 when the VIP or AS is absent. */
int vppsim_as_weight(struct vppsim *v, const char *prefix, int port, const char *as);
/* Whether a (not deleted) VIP prefix/port exists. */
bool vppsim_has_vip(struct vppsim *v, const char *prefix, int port);
/* Active ASes of that VIP (-1: no such VIP). */
int vppsim_n_active(struct vppsim *v, const char *prefix, int port);

#endif
