/* client: gRPC C core behind the client_* interface (see client.h).
 *
 * One channel and one pluck completion queue per client; calls are made one
 * at a time from one thread. A unary call is one batch of all six ops; a
 * stream is a start batch, one RECV_MESSAGE batch per message, then
 * RECV_STATUS_ON_CLIENT. Waiting plucks in 100 ms slices so that the
 * interrupt flag can cancel the call. */
#include "cli/client.h"

#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grpc_code.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "maglev.pb-c.h"

#define DEFAULT_TIMEOUT_MS 10000
#define POLL_MS            100
#define MAX_RECEIVE_BYTES  (64 * 1024 * 1024)

struct client {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    int timeout_ms;
    volatile sig_atomic_t *intr;
};

const char *client_code_name(int code)
{
    return grpc_code_name(code);
}

static void set_status(struct client_status *st, int code, const char *msg)
{
    st->code = code;
    st->connected = false;
    snprintf(st->message, sizeof(st->message), "%s", msg);
}

/* gRPC's own log lines go nowhere unless MAGLEVC_DEBUG is set: the status of
 * a call says what went wrong, in the operator's terms. */
static void grpc_log(gpr_log_func_args *a)
{
    if (getenv("MAGLEVC_DEBUG"))
        fprintf(stderr, "grpc: %s:%d: %s\n", a->file, a->line, a->message);
}

/* "unix:PATH" stays as it is; "HOST:PORT" becomes "dns:///HOST:PORT". */
static char *make_target(const char *addr, char *err, size_t errlen)
{
    if (strncmp(addr, "unix:", 5) == 0) {
        if (!addr[5]) {
            snprintf(err, errlen, "\"%s\": the unix socket path is missing", addr);
            return NULL;
        }
        return mem_strdup(addr);
    }
    const char *colon = strrchr(addr, ':');
    const char *p = colon ? colon + 1 : NULL;
    bool port_ok = p && *p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 5;
    if (!colon || colon == addr || !port_ok) {
        snprintf(err, errlen, "\"%s\": expected unix:PATH or HOST:PORT", addr);
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "dns:///%s", addr);
    return strbuf_detach(&sb);
}

/* The whole file (NUL-terminated) or NULL with err set. */
static char *read_file(const char *flag, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", flag, path, strerror(errno));
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&sb, buf, n);
    bool bad = ferror(f) || sb.len == 0 || !strstr(strbuf_str(&sb), "-----BEGIN ");
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s %s: not a PEM file", flag, path);
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

static bool tls_wanted(const struct client_tls *t)
{
    return t && (t->ca || t->cert || t->key || t->server_name);
}

/* SSL channel credentials from the files of t, or NULL with err set. */
static grpc_channel_credentials *tls_creds(const struct client_tls *t, char *err, size_t errlen)
{
    if (!t->cert != !t->key) {
        snprintf(err, errlen,
                 "--tls-cert and --tls-key go together (the client certificate "
                 "and its private key)");
        return NULL;
    }
    char *ca = NULL, *cert = NULL, *key = NULL;
    bool ok = (!t->ca || (ca = read_file("--tls-ca", t->ca, err, errlen))) &&
              (!t->cert || (cert = read_file("--tls-cert", t->cert, err, errlen))) &&
              (!t->key || (key = read_file("--tls-key", t->key, err, errlen)));
    grpc_channel_credentials *creds = NULL;
    if (ok) {
        grpc_ssl_pem_key_cert_pair pair = { .private_key = key, .cert_chain = cert };
        creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
        if (!creds)
            snprintf(err, errlen, "TLS: gRPC rejected the credentials");
    }
    free(ca);
    free(cert);
    if (key)
        memset(key, 0, strlen(key));
    free(key);
    return creds;
}

int client_open(const char *addr, const struct client_tls *tls, struct client **out, char *err,
                size_t errlen)
{
    *out = NULL;
    char *target = make_target(addr, err, errlen);
    if (!target)
        return -1;
    bool use_tls = tls_wanted(tls) && strncmp(addr, "unix:", 5) != 0;
    gpr_set_log_function(grpc_log);
    grpc_init();
    grpc_channel_credentials *creds =
        use_tls ? tls_creds(tls, err, errlen) : grpc_insecure_credentials_create();
    if (!creds) {
        free(target);
        grpc_shutdown();
        return -1;
    }
    struct client *c = mem_calloc(1, sizeof(*c));
    grpc_arg args[] = {
        { .type = GRPC_ARG_INTEGER,
          .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
          .value.integer = MAX_RECEIVE_BYTES },
        { .type = GRPC_ARG_STRING,
          .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
          .value.string = use_tls && tls->server_name ? (char *)tls->server_name : NULL },
    };
    grpc_channel_args chargs = { .num_args = args[1].value.string ? 2 : 1, .args = args };
    c->ch = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    free(target);
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    *out = c;
    return 0;
}

void client_close(struct client *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->ch);
    grpc_completion_queue_shutdown(c->cq);
    while (
        grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(c->cq);
    free(c);
    grpc_shutdown();
}

void client_set_timeout(struct client *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
}

void client_set_interrupt(struct client *c, volatile sig_atomic_t *flag)
{
    c->intr = flag;
}

static grpc_call *new_call(struct client *c, const char *method, gpr_timespec deadline)
{
    char path[256];
    snprintf(path, sizeof(path), "/%s/%s", maglev__maglev__descriptor.name, method);
    grpc_slice m = grpc_slice_from_copied_string(path);
    grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL,
                                               deadline, NULL);
    grpc_slice_unref(m);
    return call;
}

static grpc_byte_buffer *encode(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static ProtobufCMessage *decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

/* Waits for the batch tagged `tag`, cancelling the call once when the
 * interrupt flag is set. *cancelled reports (and remembers) that. */
static bool wait_batch(struct client *c, grpc_call *call, void *tag, bool *cancelled)
{
    for (;;) {
        gpr_timespec until =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(POLL_MS, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, until, NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            return ev.success != 0;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return false;
        if (c->intr && *c->intr && !*cancelled) {
            grpc_call_cancel(call, NULL);
            *cancelled = true;
        }
    }
}

static void take_status(struct client_status *st, grpc_status_code code, grpc_slice *details,
                        const char *error_string)
{
    size_t n = GRPC_SLICE_LENGTH(*details);
    st->code = (int)code;
    st->connected = false;
    if (n >= sizeof(st->message))
        n = sizeof(st->message) - 1;
    memcpy(st->message, GRPC_SLICE_START_PTR(*details), n);
    st->message[n] = '\0';
    if (!n && code != GRPC_STATUS_OK)
        snprintf(st->message, sizeof(st->message), "%s",
                 error_string ? error_string : client_code_name((int)code));
    grpc_slice_unref(*details);
    gpr_free((void *)error_string);
}

int client_call(struct client *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                struct client_status *st)
{
    *resp = NULL;
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
    grpc_call *call = new_call(c, method, deadline);
    if (!call) {
        set_status(st, CLIENT_INTERNAL, "cannot create the call");
        return -1;
    }
    grpc_metadata_array init_md, trail_md;
    grpc_metadata_array_init(&init_md);
    grpc_metadata_array_init(&trail_md);
    grpc_byte_buffer *send = encode(req), *recv = NULL;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    int rc = -1;
    bool cancelled = false;
    if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) != GRPC_CALL_OK) {
        set_status(st, CLIENT_INTERNAL, "cannot start the call");
        grpc_slice_unref(details);
    } else {
        wait_batch(c, call, (void *)1, &cancelled);
        take_status(st, code, &details, error_string);
        if (st->code == CLIENT_OK) {
            st->connected = true;
            *resp = recv ? decode(recv, resp_desc) : NULL;
            if (*resp)
                rc = 0;
            else
                set_status(st, CLIENT_INTERNAL, "malformed or missing response");
        } else if (cancelled) {
            set_status(st, CLIENT_CANCELLED, "interrupted");
        } else {
            /* a status the server sent leaves the channel connected; one
             * made up by the transport (cannot connect) does not */
            st->connected = grpc_channel_check_connectivity_state(c->ch, 0) == GRPC_CHANNEL_READY;
        }
    }
    grpc_byte_buffer_destroy(send);
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_call_unref(call);
    grpc_metadata_array_destroy(&init_md);
    grpc_metadata_array_destroy(&trail_md);
    return rc;
}

int client_stream(struct client *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *msg_desc, client_stream_fn fn, void *ctx,
                  struct client_status *st)
{
    grpc_call *call = new_call(c, method, gpr_inf_future(GPR_CLOCK_REALTIME));
    if (!call) {
        set_status(st, CLIENT_INTERNAL, "cannot create the call");
        return -1;
    }
    grpc_metadata_array init_md, trail_md;
    grpc_metadata_array_init(&init_md);
    grpc_metadata_array_init(&trail_md);
    grpc_byte_buffer *send = encode(req);
    bool cancelled = false, stopped = false, ok;

    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
    ok = grpc_call_start_batch(call, ops, 4, (void *)1, NULL) == GRPC_CALL_OK;
    if (ok)
        wait_batch(c, call, (void *)1, &cancelled); /* a failure shows in the status */

    while (ok && !cancelled && !stopped) {
        grpc_byte_buffer *recv = NULL;
        grpc_op op = { .op = GRPC_OP_RECV_MESSAGE };
        op.data.recv_message.recv_message = &recv;
        if (grpc_call_start_batch(call, &op, 1, (void *)2, NULL) != GRPC_CALL_OK)
            break;
        wait_batch(c, call, (void *)2, &cancelled);
        if (!recv)
            break; /* the end of the stream, or an error: see the status */
        ProtobufCMessage *m = decode(recv, msg_desc);
        grpc_byte_buffer_destroy(recv);
        if (!m) {
            grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "malformed message", NULL);
            break;
        }
        if (fn(m, ctx)) {
            grpc_call_cancel(call, NULL);
            stopped = true;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        if (c->intr && *c->intr && !cancelled) {
            grpc_call_cancel(call, NULL);
            cancelled = true;
        }
    }

    int rc = -1;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    grpc_op sop = { .op = GRPC_OP_RECV_STATUS_ON_CLIENT };
    sop.data.recv_status_on_client.trailing_metadata = &trail_md;
    sop.data.recv_status_on_client.status = &code;
    sop.data.recv_status_on_client.status_details = &details;
    sop.data.recv_status_on_client.error_string = &error_string;
    if (!ok || grpc_call_start_batch(call, &sop, 1, (void *)3, NULL) != GRPC_CALL_OK) {
        set_status(st, CLIENT_INTERNAL, "cannot start the call");
        grpc_slice_unref(details);
    } else {
        bool dummy = cancelled || stopped;
        wait_batch(c, call, (void *)3, &dummy);
        take_status(st, code, &details, error_string);
        if (cancelled || stopped) {
            set_status(st, CLIENT_CANCELLED, stopped ? "ended" : "interrupted");
            rc = 0;
        } else if (st->code == CLIENT_OK) {
            rc = 0;
        }
    }
    grpc_byte_buffer_destroy(send);
    grpc_call_unref(call);
    grpc_metadata_array_destroy(&init_md);
    grpc_metadata_array_destroy(&trail_md);
    return rc;
}
