/* tester: maglevt, a VIP tester for failover drills. It sends one HTTP(S)
 * request per interval to every target on a fresh connection, tells from
 * each answer which backend sent it (a response header or a regex on the
 * body), and tallies shares, latencies, error classes and a failover
 * timeline (docs/maglevt.1).
 *
 * The pure parts (options and targets, outcome classes, backend names from
 * a response, the tally with its percentiles and timeline, the live view
 * and the summary as text and JSON) are unit-tested in
 * tests/unit/test_tester*.c; tester_run() is the I/O: libcurl's multi
 * interface on a libev loop (run.c). */
#ifndef MAGLEV_TESTER_TESTER_H
#define MAGLEV_TESTER_TESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "common/strbuf.h"

/* ---- options and targets (opts.c) ------------------------------------------- */

#define TESTER_HEADER_DEFAULT "X-Backend"

struct tester_target {
    char *url; /* as given */
    bool https;
    struct ip_addr addr;
    uint16_t port; /* 80 or 443 unless given */
    char *path;    /* from the first '/', query included; "/" when none */
};

struct tester_opts {
    int64_t interval_ns;    /* between rounds; default 100ms */
    int64_t timeout_ns;     /* per request; default 1s */
    int64_t duration_ns;    /* 0 = until Ctrl-C */
    int64_t window_ns;      /* the "recent" share; default 10s */
    const char *header;     /* backend from this response header ... */
    const char *body_regex; /* ... or from this regex on the body */
    const char *host;       /* Host header; default the target's address */
    unsigned spread;        /* source ports spread_base .. +spread-1; 0 = kernel's */
    uint16_t spread_base;   /* default 40000 */
    bool json, quiet, insecure;
    struct tester_target *targets;
    size_t n_targets;
};

enum tester_args_rc {
    TESTER_ARGS_RUN = 0,
    TESTER_ARGS_HELP = 1,    /* --help: print tester_usage() to stdout, exit 0 */
    TESTER_ARGS_VERSION = 2, /* --version */
    TESTER_ARGS_USAGE = -1,  /* bad arguments: err says which; exit 2 */
};

/* Parses the command line (getopt_long: resets optind). On USAGE err holds
 * a message naming the bad argument. The opts' strings point into argv or
 * are owned by opts (targets): tester_opts_free(). */
enum tester_args_rc tester_parse_args(int argc, char **argv, struct tester_opts *o, char *err,
                                      size_t errlen);
void tester_opts_free(struct tester_opts *o);
const char *tester_usage(void);

/* "http://VIP[:port][/path]" or "https://...": VIP an IPv4 address or an
 * IPv6 one in brackets (no names: nothing is resolved). 0 or -EINVAL with
 * err set. */
int tester_target_parse(const char *s, struct tester_target *t, char *err, size_t errlen);
void tester_target_free(struct tester_target *t);

/* ---- outcomes (classify.c) -------------------------------------------------- */

enum tester_outcome {
    TO_OK,          /* a response with status < 400 */
    TO_REFUSED,     /* connection refused */
    TO_TIMEOUT,     /* no complete response within --timeout */
    TO_RESET,       /* reset, or closed before a complete response */
    TO_UNREACHABLE, /* no route, host or network unreachable */
    TO_TLS,         /* handshake or certificate failure */
    TO_HTTP_4XX,    /* a response, status 4xx */
    TO_HTTP_5XX,    /* a response, status 5xx */
    TO_OTHER,       /* anything else (a local error, a malformed response) */
    TO_COUNT
};

/* "ok", "refused", "timeout", "reset", "unreachable", "tls", "http_4xx",
 * "http_5xx", "other": the JSON keys and the column names. */
const char *tester_outcome_name(enum tester_outcome o);

/* What a finished transfer means: curl_code is a CURLcode, os_errno is
 * CURLINFO_OS_ERRNO, status CURLINFO_RESPONSE_CODE (0: none). */
enum tester_outcome tester_classify(int curl_code, long os_errno, long status);

/* ---- the backend of a response (classify.c) -------------------------------- */

#define TESTER_NAME_MAX 64 /* longer names are cut */

/* When the header line (as libcurl hands it: "Name: value\r\n") is field
 * `name` (any case), copies its value, trimmed, control characters as '?',
 * to out (size TESTER_NAME_MAX + 1) and returns true. */
bool tester_header_value(const char *line, size_t len, const char *name, char *out);

/* The first capture group of the match of a compiled pcre2 regex (void *:
 * pcre2_code) in body, or the whole match without a group; false without a
 * match. Cleaned up as above. */
bool tester_body_match(const void *code, const char *body, size_t len, char *out);

/* ---- the tally (tally.c) ---------------------------------------------------- */

/* Percentiles by nearest rank over every sample (all are kept, 4 bytes
 * each): the p-th is the value at rank ceil(p/100 * n) of the sorted
 * samples, 1-based; rank 1 for p = 0. */
struct tester_lat {
    uint32_t *v; /* µs, capped at UINT32_MAX */
    size_t n, cap;
};
struct tester_lat_summary {
    size_t n;
    uint32_t p50, p90, p99, max; /* 0 when n == 0 */
};
uint32_t tester_percentile(const uint32_t *sorted, size_t n, double p);
void tester_lat_summarize(const struct tester_lat *l, struct tester_lat_summary *out);

struct tester_sample {
    size_t target;
    uint64_t round;
    enum tester_outcome outcome;
    long status;         /* HTTP status; 0 without a response */
    const char *backend; /* who answered; NULL when nobody did */
    int64_t latency_us;  /* with a response */
};

struct tester_gap {
    int64_t start_us, length_us; /* start: the first round it missed */
    uint64_t rounds;             /* rounds it missed while others answered */
};

struct tester_backend {
    char *name;
    uint64_t answers;
    uint64_t status[4]; /* responses 2xx (and 1xx), 3xx, 4xx, 5xx */
    struct tester_lat lat;
    int64_t first_seen_us, last_seen_us; /* round times */
    /* the timeline: answered rounds (rounds with an answer from anyone) */
    uint64_t rounds_answered; /* in which it answered */
    uint64_t span;            /* answered rounds from its first to its last answer */
    uint64_t silent;          /* answered rounds since its last answer without it */
    int64_t silence_start_us;
    bool missing; /* the silence is a gap (see tester_gap_threshold) */
    struct tester_gap *gaps;
    size_t n_gaps;
    uint32_t *recent; /* answers per round over the window, a ring */
    uint64_t recent_sum;
};

struct tester_target_tally {
    uint64_t requests;
    uint64_t outcomes[TO_COUNT];
    struct tester_lat lat;
};

struct tester_global_gap {
    int64_t start_us, length_us;
    uint64_t rounds;
    bool open; /* still failing at the end */
};

enum tester_event_kind {
    TE_FIRST_SEEN,   /* a backend answered for the first time */
    TE_MISSING,      /* a backend's silence became a gap (since: at) */
    TE_BACK,         /* it answered again after a gap (length) */
    TE_ALL_FAILING,  /* every request of a round failed */
    TE_ANSWER_AGAIN, /* a request succeeded after all failed (length) */
};
struct tester_event {
    enum tester_event_kind kind;
    int64_t time_us;   /* the round that showed it */
    int64_t at_us;     /* FIRST_SEEN: round time; MISSING, BACK: the gap's start */
    int64_t length_us; /* BACK, ANSWER_AGAIN */
    char backend[TESTER_NAME_MAX + 1];
};

#define TESTER_EVENTS_KEPT 64

struct tester_tally {
    int64_t interval_us;
    size_t n_targets;
    struct tester_target_tally *targets;
    struct tester_lat lat; /* every response */
    uint64_t requests, failed;
    uint64_t outcomes[TO_COUNT];
    struct tester_backend *backends; /* in the order first seen */
    size_t n_backends, cap_backends;
    /* rounds, finalized in order once all their requests are in */
    struct tester_round *pending; /* ring */
    size_t pending_cap, pending_n;
    uint64_t next_final;   /* the next round to finalize */
    uint64_t rounds_final; /* rounds finalized */
    uint64_t answered_rounds;
    int64_t last_round_us;
    size_t window;          /* rounds in the recent window */
    uint64_t *recent_total; /* answers per round over the window, a ring */
    uint64_t recent_total_sum;
    struct tester_global_gap *ggaps;
    size_t n_ggaps;
    bool all_failing;
    /* events not yet taken (tester_tally_event), and the last ones kept */
    struct tester_event *queue;
    size_t queue_n, queue_cap;
    struct tester_event kept[TESTER_EVENTS_KEPT];
    size_t kept_n; /* total ever; kept[i % KEPT] */
};

void tester_tally_init(struct tester_tally *t, size_t n_targets, int64_t interval_us,
                       size_t window_rounds);
void tester_tally_free(struct tester_tally *t);
/* Round `round` (0, 1, 2, ... in order) started at t_us with n requests. */
void tester_tally_round(struct tester_tally *t, uint64_t round, int64_t t_us, unsigned n);
/* One request's result, in any order. */
void tester_tally_add(struct tester_tally *t, const struct tester_sample *s);
/* Finalizes the rounds still pending with what they have (an aborted run). */
void tester_tally_flush(struct tester_tally *t);
/* The next timeline event not yet taken; false when none. */
bool tester_tally_event(struct tester_tally *t, struct tester_event *out);
/* Rounds a backend may miss before the silence is a gap: at least 2, and
 * so many that missing them by chance, at the rate it answered so far
 * (rounds_answered / (span + 1)), has a chance below 1 in 1000. */
uint64_t tester_gap_threshold(uint64_t rounds_answered, uint64_t span);
/* A backend is gone when its last silence is a gap still open at the end. */
bool tester_backend_gone(const struct tester_backend *b);

/* ---- output (report.c, live.c) --------------------------------------------- */

/* The summary, for people. elapsed_us: the run's length. */
void tester_report_text(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t elapsed_us);
/* The summary as one JSON document (docs/maglevt.1 lists the fields). */
void tester_report_json(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t elapsed_us);
/* The live view: the whole screen for a terminal (without escapes), or one
 * plain line (status) for a pipe. */
void tester_live_screen(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t now_us);
void tester_live_line(struct strbuf *sb, const struct tester_tally *t, int64_t now_us);
/* One timeline event as a line ("  12.3s  b2 missing since 12.0s"). */
void tester_event_line(struct strbuf *sb, const struct tester_event *e);
/* "12.3s", "850ms", "1.2ms", "45µs" */
void tester_fmt_us(char *buf, size_t len, int64_t us);

/* ---- the run (run.c) ------------------------------------------------------- */

/* Runs until --duration or SIGINT/SIGTERM (then waits for the requests in
 * flight; a second signal abandons them), prints the summary. Returns the
 * exit code: 0 every request succeeded, 1 some failed or the run could not
 * start. */
int tester_run(const struct tester_opts *o);

#endif
