/* VPP API socket framing (shared/vpp/PROTOCOL.md 1.2): pure functions, no I/O.
 *
 * Every message on the API socket is a 16-byte header
 *     u64 q (send 0, ignore on receive) | u32 BE data_len | u32 (send 0, ignore)
 * followed by data_len body bytes; the body starts with the BE u16 message ID.
 * The reassembler takes whatever byte chunks read() returned and hands back
 * complete bodies. */
#ifndef MAGLEV_VPP_WIRE_H
#define MAGLEV_VPP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VPP_WIRE_HDR_LEN 16
/* Largest body accepted or produced by default (the message table reply is
 * ~150 KB; cli_inband replies tens of KB). Larger means a desynchronised
 * stream. */
#define VPP_WIRE_MAX_MSG (16u << 20)
/* Smallest body: the u16 message ID. */
#define VPP_WIRE_MIN_MSG 2u

/* Writes the header for a body of data_len bytes. -EINVAL if data_len is
 * below VPP_WIRE_MIN_MSG or above VPP_WIRE_MAX_MSG. */
int vpp_wire_hdr_encode(uint8_t hdr[VPP_WIRE_HDR_LEN], size_t data_len);

/* Reads data_len from a received header (q and the timestamp are ignored).
 * -EBADMSG if it is below VPP_WIRE_MIN_MSG or above max_msg. */
int vpp_wire_hdr_decode(const uint8_t hdr[VPP_WIRE_HDR_LEN], size_t max_msg, uint32_t *data_len);

/* The BE message ID at the start of a body; -EBADMSG if len < 2. */
int vpp_wire_msg_id(const uint8_t *body, size_t len, uint16_t *id);

/* Frame reassembly buffer. Zero-initialise it or call vpp_wire_rx_init(). */
struct vpp_wire_rx {
    uint8_t *buf;
    size_t cap;
    size_t start;   /* first unconsumed byte */
    size_t end;     /* one past the last buffered byte */
    size_t max_msg; /* 0 = VPP_WIRE_MAX_MSG */
    int err;        /* sticky framing error */
};

void vpp_wire_rx_init(struct vpp_wire_rx *rx, size_t max_msg);
/* Frees the buffer; rx can be re-used after vpp_wire_rx_init(). NULL-safe. */
void vpp_wire_rx_free(struct vpp_wire_rx *rx);

/* Appends n bytes. 0, -E2BIG (a size no buffer can hold), or the sticky error (-EBADMSG) of an
 * earlier bad header. A pointer returned by vpp_wire_rx_next() is invalid afterwards. */
int vpp_wire_rx_feed(struct vpp_wire_rx *rx, const uint8_t *data, size_t n);

/* Takes the next complete message: 1 with body and len set (valid until the next
 * feed), 0 if more bytes are needed, -EBADMSG if the stream is desynchronised
 * (header length out of range); the error is sticky — reconnect. */
int vpp_wire_rx_next(struct vpp_wire_rx *rx, const uint8_t **body, size_t *len);

/* Bytes buffered but not yet returned as messages. */
size_t vpp_wire_rx_pending(const struct vpp_wire_rx *rx);

#endif
