/* icmp_packet.c: ICMP echo packets and the sequence-number table, pure. */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/mem.h"
#include "health/icmp_packet.h"

static uint16_t rd16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void wr16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

uint16_t icmp_checksum(const uint8_t *b, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += rd16(b + i);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ---- echo requests and what comes back ---------------------------------- */

size_t icmp_echo_build(uint8_t pkt[ICMP_ECHO_LEN], int family, uint16_t ident, uint16_t seq,
                       const uint8_t cookie[ICMP_COOKIE_LEN])
{
    memset(pkt, 0, ICMP_ECHO_LEN);
    pkt[0] = family == AF_INET ? ICMP4_ECHO : ICMP6_ECHO;
    wr16(pkt + 4, ident);
    wr16(pkt + 6, seq);
    memcpy(pkt + 8, cookie, ICMP_COOKIE_LEN);
    if (family == AF_INET) /* ICMPv6 checksums are the kernel's */
        wr16(pkt + 2, icmp_checksum(pkt, ICMP_ECHO_LEN));
    return ICMP_ECHO_LEN;
}

bool icmp_echo_parse(const uint8_t *b, size_t len, struct icmp_echo *e)
{
    memset(e, 0, sizeof(*e));
    if (len < 8)
        return false;
    e->ident = rd16(b + 4);
    e->seq = rd16(b + 6);
    if (len >= ICMP_ECHO_LEN) {
        e->has_cookie = true;
        memcpy(e->cookie, b + 8, ICMP_COOKIE_LEN);
    }
    return true;
}

/* The body of an ICMP error (after its 8-byte header): the IP header of
 * our request and the start of its echo header. */
static bool parse_quoted(int family, const uint8_t *in, size_t inlen, struct icmp_msg *m)
{
    m->dst.family = family;
    if (family == AF_INET) {
        if (inlen < 20 + 8 || (in[0] >> 4) != 4 || in[9] != IPPROTO_ICMP)
            return false;
        size_t ihl = (size_t)(in[0] & 0x0f) * 4;
        if (ihl < 20 || inlen < ihl + 8)
            return false;
        memcpy(&m->dst.u.v4, in + 16, 4);
        if (in[ihl] != ICMP4_ECHO)
            return false;
        in += ihl;
        inlen -= ihl;
    } else {
        if (inlen < 40 + 8 || (in[0] >> 4) != 6 || in[6] != IPPROTO_ICMPV6)
            return false;
        memcpy(&m->dst.u.v6, in + 24, 16);
        if (in[40] != ICMP6_ECHO)
            return false;
        in += 40;
        inlen -= 40;
    }
    return icmp_echo_parse(in, inlen, &m->echo);
}

bool icmp_parse(int family, bool ip_header, const uint8_t *buf, size_t len, struct icmp_msg *m)
{
    memset(m, 0, sizeof(*m));
    const uint8_t *icmp = buf;
    if (ip_header) { /* raw IPv4 sockets see the IP header */
        if (len < 20)
            return false;
        size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
        if (ihl < 20 || len < ihl)
            return false;
        icmp += ihl;
        len -= ihl;
    }
    if (len < 8)
        return false;
    m->type = icmp[0];
    m->code = icmp[1];
    uint8_t reply = family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPL;
    if (icmp[0] == reply && icmp[1] == 0) {
        m->is_reply = true;
        return icmp_echo_parse(icmp, len, &m->echo);
    }
    return parse_quoted(family, icmp + 8, len - 8, m);
}

/* ---- error texts ---------------------------------------------------------- */

static const char *icmp4_error_text(uint8_t type, uint8_t code)
{
    static const char *const unreach[16] = {
        [0] = "network unreachable",
        [1] = "host unreachable",
        [2] = "protocol unreachable",
        [3] = "port unreachable",
        [4] = "fragmentation needed",
        [5] = "source route failed",
        [6] = "network unknown",
        [7] = "host unknown",
        [8] = "source host isolated",
        [9] = "network administratively prohibited",
        [10] = "host administratively prohibited",
        [11] = "network unreachable for TOS",
        [12] = "host unreachable for TOS",
        [13] = "communication administratively prohibited",
        [14] = "host precedence violation",
        [15] = "precedence cutoff in effect",
    };
    switch (type) {
    case ICMP4_DEST_UNREACH:
        return code < 16 ? unreach[code] : "destination unreachable";
    case ICMP4_TIME_EXCEED:
        return code == 1 ? "fragment reassembly time exceeded" : "TTL exceeded in transit";
    case ICMP4_PARAM_PROB:
        return "parameter problem";
    }
    return NULL;
}

static const char *icmp6_error_text(uint8_t type, uint8_t code)
{
    static const char *const unreach[7] = {
        [0] = "network unreachable", /* no route to destination */
        [1] = "communication administratively prohibited",
        [2] = "beyond scope of source address",
        [3] = "host unreachable", /* address unreachable */
        [4] = "port unreachable",
        [5] = "source address failed ingress/egress policy",
        [6] = "reject route to destination",
    };
    switch (type) {
    case ICMP6_DST_UNREACH:
        return code < 7 ? unreach[code] : "destination unreachable";
    case ICMP6_PACKET_TOO_BIG:
        return "packet too big";
    case ICMP6_TIME_EXCEEDED:
        return code == 1 ? "fragment reassembly time exceeded" : "hop limit exceeded in transit";
    case ICMP6_PARAM_PROB:
        return "parameter problem";
    }
    return NULL;
}

const char *icmp_error_text(int family, uint8_t type, uint8_t code)
{
    return family == AF_INET ? icmp4_error_text(type, code) : icmp6_error_text(type, code);
}

/* ---- the table of probes in flight, by sequence number ------------------- */

static uint32_t home_of(const struct icmp_seq_table *t, uint16_t seq)
{
    return seq & (t->cap - 1); /* sequence numbers are handed out in order */
}

void *icmp_seq_find(const struct icmp_seq_table *t, uint16_t seq)
{
    if (!t->cap)
        return NULL;
    for (uint32_t i = home_of(t, seq); t->slots[i].item; i = (i + 1) & (t->cap - 1))
        if (t->slots[i].seq == seq)
            return t->slots[i].item;
    return NULL;
}

/* Into the first free slot of seq's cluster; there is one (n < cap). */
static void slot_put(struct icmp_seq_table *t, uint16_t seq, void *item)
{
    uint32_t i = home_of(t, seq);
    while (t->slots[i].item)
        i = (i + 1) & (t->cap - 1);
    t->slots[i].item = item;
    t->slots[i].seq = seq;
}

void icmp_seq_grow(struct icmp_seq_table *t)
{
    uint32_t old_cap = t->cap;
    struct icmp_seq_slot *old = t->slots;
    uint32_t cap = old_cap ? old_cap * 2 : ICMP_SEQ_TABLE_MIN;
    struct icmp_seq_slot *slots = mem_calloc(cap, sizeof(*slots));
    t->slots = slots;
    t->cap = cap;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].item)
            slot_put(t, old[i].seq, old[i].item);
    free(old);
}

void icmp_seq_put(struct icmp_seq_table *t, uint16_t seq, void *item)
{
    if ((t->n + 1) * 2 > t->cap)
        icmp_seq_grow(t);
    slot_put(t, seq, item);
    t->n++;
}

/* Shifts later entries of the cluster back into the hole (no tombstones). */
void *icmp_seq_remove(struct icmp_seq_table *t, uint16_t seq)
{
    if (!t->cap)
        return NULL;
    uint32_t mask = t->cap - 1, i = home_of(t, seq);
    while (t->slots[i].item && t->slots[i].seq != seq)
        i = (i + 1) & mask;
    void *item = t->slots[i].item;
    if (!item)
        return NULL;
    t->slots[i].item = NULL;
    t->n--;
    for (uint32_t j = (i + 1) & mask; t->slots[j].item; j = (j + 1) & mask) {
        uint32_t k = home_of(t, t->slots[j].seq);
        /* the entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            t->slots[j].item = NULL;
            i = j;
        }
    }
    return item;
}

void icmp_seq_free(struct icmp_seq_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}
