/* libFuzzer target: VPP API bytes from the socket must never crash, leak or
 * over-read. The input is fed to the frame reassembler in chunks whose sizes
 * come from the input itself; every complete body, and the raw input too, is
 * given to every generated decoder. Whatever decodes must re-encode to the
 * same length (exact-length rule), format within bounds (the wire trail) and
 * be freed cleanly; a decoded sockclnt_create_reply goes through the
 * message-table check, and the raw input is also parsed as the text of
 * `show lb vips verbose` (the reply parsers of src/vpp). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpp/gen/vpp_msgs.h"
#include "vpp/lbcli.h"
#include "vpp/msgtable.h"
#include "vpp/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_all(const uint8_t *body, size_t len)
{
    _Alignas(max_align_t) unsigned char out[1024];
    for (size_t i = 0; i < VPPMSG_N_MSGS; i++) {
        const struct vppmsg_desc *d = &vppmsg_table[i];
        if (d->struct_size > sizeof(out))
            abort();
        /* a heap copy of exactly len bytes, so ASan sees any over-read */
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            return;
        if (len)
            memcpy(copy, body, len);
        int rc = d->decode(copy, len, out);
        free(copy);
        if (rc == 0) {
            uint8_t *e = malloc(len + 1);
            if (e) {
                int n = d->encode(out, e, len + 1);
                if (n != (int)len && n != -EINVAL)
                    abort();
                free(e);
            }
            char text[256];
            memset(text + 200, 0x5a, 56);
            size_t full = d->format(out, text, 200);
            if (strlen(text) >= 200 || full < strlen(text) || text[255] != 0x5a)
                abort();
            if (i == VPPMSG_IDX_SOCKCLNT_CREATE_REPLY) {
                static struct vpp_msgtable t;
                const struct vppmsg_sockclnt_create_reply *r = (const void *)out;
                int rc2 = vpp_msgtable_build(&t, r->message_table, r->count);
                if (rc2 != 0 && rc2 != -EPROTONOSUPPORT)
                    abort();
                for (int k = 0; k < VPPMSG_N_MSGS; k++)
                    if (t.id[k] && vpp_msgtable_index(&t, t.id[k]) != k)
                        abort();
            }
            if (d->free)
                d->free(out);
        } else if (rc != -EBADMSG && rc != -ENOMEM) {
            abort();
        }
    }
}

static void parse_cli(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    struct vpp_cli_vips v;
    if (vpp_lbcli_parse(copy, size, &v) == 0) {
        for (size_t i = 0; i < v.n; i++)
            if (vpp_cli_vips_find(&v, &v.v[i].key) == NULL && !v.v[i].removed)
                abort(); /* every live entry can be found again */
        vpp_cli_vips_free(&v);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_all(data, size);
    parse_cli(data, size);

    struct vpp_wire_rx rx;
    vpp_wire_rx_init(&rx, 1u << 20);
    size_t off = 0, step = 0;
    while (off < size) {
        /* chunk sizes 1..64 cycling through a pattern drawn from the input */
        size_t n = (size_t)(data[step % size] % 64) + 1;
        step++;
        if (n > size - off)
            n = size - off;
        if (vpp_wire_rx_feed(&rx, data + off, n) < 0)
            break;
        off += n;
        const uint8_t *body;
        size_t len;
        int rc;
        while ((rc = vpp_wire_rx_next(&rx, &body, &len)) == 1) {
            uint16_t id;
            if (vpp_wire_msg_id(body, len, &id) < 0)
                abort(); /* bodies are at least 2 bytes */
            decode_all(body, len);
        }
        if (rc < 0)
            break;
    }
    vpp_wire_rx_free(&rx);
    return 0;
}
