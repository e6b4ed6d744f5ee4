/* libFuzzer target: VPP API bytes from the socket must never crash, leak or
 * over-read. The input is fed to the frame reassembler in chunks whose sizes
 * come from the input itself; every complete body, and the raw input too, is
 * given to every generated decoder. Whatever decodes must re-encode to the
 * same length (exact-length rule) and be freed cleanly. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpp/gen/vpp_msgs.h"
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
            if (d->free)
                d->free(out);
        } else if (rc != -EBADMSG && rc != -ENOMEM) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_all(data, size);

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
