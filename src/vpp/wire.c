/* VPP API socket framing: header codec and frame reassembly (see wire.h). */
#include "vpp/wire.h"
#include "common/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t max_of(const struct vpp_wire_rx *rx)
{
    return rx->max_msg ? rx->max_msg : VPP_WIRE_MAX_MSG;
}

int vpp_wire_hdr_encode(uint8_t hdr[VPP_WIRE_HDR_LEN], size_t data_len)
{
    if (data_len < VPP_WIRE_MIN_MSG || data_len > VPP_WIRE_MAX_MSG)
        return -EINVAL;
    memset(hdr, 0, VPP_WIRE_HDR_LEN);
    hdr[8] = (uint8_t)(data_len >> 24);
    hdr[9] = (uint8_t)(data_len >> 16);
    hdr[10] = (uint8_t)(data_len >> 8);
    hdr[11] = (uint8_t)data_len;
    return 0;
}

int vpp_wire_hdr_decode(const uint8_t hdr[VPP_WIRE_HDR_LEN], size_t max_msg, uint32_t *data_len)
{
    uint32_t n =
        ((uint32_t)hdr[8] << 24) | ((uint32_t)hdr[9] << 16) | ((uint32_t)hdr[10] << 8) | hdr[11];
    if (n < VPP_WIRE_MIN_MSG || n > max_msg)
        return -EBADMSG;
    *data_len = n;
    return 0;
}

int vpp_wire_msg_id(const uint8_t *body, size_t len, uint16_t *id)
{
    if (len < 2)
        return -EBADMSG;
    *id = (uint16_t)((body[0] << 8) | body[1]);
    return 0;
}

void vpp_wire_rx_init(struct vpp_wire_rx *rx, size_t max_msg)
{
    memset(rx, 0, sizeof(*rx));
    rx->max_msg = max_msg;
}

void vpp_wire_rx_free(struct vpp_wire_rx *rx)
{
    if (!rx)
        return;
    free(rx->buf);
    rx->buf = NULL;
    rx->cap = rx->start = rx->end = 0;
}

size_t vpp_wire_rx_pending(const struct vpp_wire_rx *rx)
{
    return rx->end - rx->start;
}

/* Validates the header at start, if complete: sets the sticky error early so
 * a bad length is reported before its body is buffered. */
static int check_head(struct vpp_wire_rx *rx, uint32_t *data_len)
{
    if (rx->err)
        return rx->err;
    if (vpp_wire_rx_pending(rx) < VPP_WIRE_HDR_LEN)
        return 0;
    if (vpp_wire_hdr_decode(rx->buf + rx->start, max_of(rx), data_len) < 0)
        rx->err = -EBADMSG;
    return rx->err ? rx->err : 1;
}

int vpp_wire_rx_feed(struct vpp_wire_rx *rx, const uint8_t *data, size_t n)
{
    uint32_t dl;
    if (rx->err)
        return rx->err;
    if (n == 0)
        return 0;
    if (rx->start > 0) { /* compact: consumed messages go away */
        size_t p = vpp_wire_rx_pending(rx);
        if (p)
            memmove(rx->buf, rx->buf + rx->start, p);
        rx->start = 0;
        rx->end = p;
    }
    if (n > rx->cap - rx->end) {
        if (n > SIZE_MAX / 2 - rx->end)
            return -E2BIG;
        size_t want = rx->end + n;
        size_t cap = rx->cap ? rx->cap : 4096;
        while (cap < want)
            cap *= 2;
        rx->buf = mem_realloc(rx->buf, cap);
        rx->cap = cap;
    }
    memcpy(rx->buf + rx->end, data, n);
    rx->end += n;
    int rc = check_head(rx, &dl);
    return rc < 0 ? rc : 0;
}

int vpp_wire_rx_next(struct vpp_wire_rx *rx, const uint8_t **body, size_t *len)
{
    uint32_t dl = 0;
    int rc = check_head(rx, &dl);
    if (rc <= 0)
        return rc;
    if (vpp_wire_rx_pending(rx) - VPP_WIRE_HDR_LEN < dl)
        return 0;
    *body = rx->buf + rx->start + VPP_WIRE_HDR_LEN;
    *len = dl;
    rx->start += VPP_WIRE_HDR_LEN + dl;
    if (rx->start == rx->end)
        rx->start = rx->end = 0; /* buffer empty: the next feed starts at 0 */
    return 1;
}
