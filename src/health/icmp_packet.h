/* Internal to src/health: the pure part of the icmp probe (probe_icmp.c).
 *
 * ICMP/ICMPv6 echo requests built and received packets parsed, without
 * sockets: the Internet checksum, the echo request we send (identifier,
 * sequence number, a random cookie as payload), the parse of what a socket
 * hands us (an echo reply, or an ICMP error quoting one of our requests),
 * the texts of ICMP error types/codes, and the table of probes in flight
 * keyed by sequence number. */
#ifndef MAGLEV_HEALTH_ICMP_PACKET_H
#define MAGLEV_HEALTH_ICMP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

#define ICMP_COOKIE_LEN 16
#define ICMP_ECHO_LEN   (8 + ICMP_COOKIE_LEN) /* header and cookie */

/* ICMP types */
#define ICMP4_ECHO_REPLY   0
#define ICMP4_DEST_UNREACH 3
#define ICMP4_ECHO         8
#define ICMP4_TIME_EXCEED  11
#define ICMP4_PARAM_PROB   12
#define ICMP6_ECHO         128
#define ICMP6_ECHO_REPL    129

/* The Internet checksum (RFC 1071) of n bytes: the one's complement of
 * their one's complement sum, as a host-order value to store big-endian. */
uint16_t icmp_checksum(const uint8_t *b, size_t n);

/* Fills pkt with an echo request of family (AF_INET: ICMP, with its
 * checksum; AF_INET6: ICMPv6, checksum 0 as the kernel computes it) and
 * returns its length, ICMP_ECHO_LEN. */
size_t icmp_echo_build(uint8_t pkt[ICMP_ECHO_LEN], int family, uint16_t ident, uint16_t seq,
                       const uint8_t cookie[ICMP_COOKIE_LEN]);

/* An echo header of ours as seen in a reply or quoted in an error. */
struct icmp_echo {
    uint16_t ident, seq;
    bool has_cookie; /* the payload was long enough to hold one */
    uint8_t cookie[ICMP_COOKIE_LEN];
};

/* Reads an echo header of len bytes (8 and maybe the cookie) into e;
 * false when shorter than 8 bytes. The type and code are not looked at:
 * ping sockets hand ICMP errors over as just the quoted header. */
bool icmp_echo_parse(const uint8_t *b, size_t len, struct icmp_echo *e);

/* A received ICMP message of interest. */
struct icmp_msg {
    uint8_t type, code;
    bool is_reply;         /* an echo reply (code 0), echo is its header */
    struct icmp_echo echo; /* the reply's header or the quoted request's */
    struct ip_addr dst;    /* errors only: the quoted request's destination */
};

/* Parses a packet from a socket of family; with ip_header (raw IPv4
 * sockets) buf starts with the IPv4 header. Returns true for an echo reply
 * and for any other ICMP message quoting an echo request (an error; whether
 * its type is one is icmp_error_text's to say), false for anything else,
 * truncated or malformed. Never reads outside buf[0..len). */
bool icmp_parse(int family, bool ip_header, const uint8_t *buf, size_t len, struct icmp_msg *m);

/* "host unreachable", "TTL exceeded in transit", ... for an ICMP (family
 * AF_INET) or ICMPv6 error; NULL when type is not an error we accept
 * (destination unreachable, time exceeded, parameter problem, and for
 * ICMPv6 packet too big). */
const char *icmp_error_text(int family, uint8_t type, uint8_t code);

/* An open-addressed table (linear probing, no tombstones) of pointers keyed
 * by 16-bit sequence numbers, each present at most once. cap is 0 or a
 * power of two; icmp_seq_put() keeps n <= cap / 2. Zero-initialise. */
#define ICMP_SEQ_TABLE_MIN 64 /* the first capacity */

struct icmp_seq_slot {
    void *item; /* NULL = empty */
    uint16_t seq;
};

struct icmp_seq_table {
    struct icmp_seq_slot *slots;
    uint32_t cap, n;
};

/* The item stored under seq, or NULL. */
void *icmp_seq_find(const struct icmp_seq_table *t, uint16_t seq);
/* Stores item (not NULL) under seq, which must not be in t; grows the
 * table first when needed. */
void icmp_seq_put(struct icmp_seq_table *t, uint16_t seq, void *item);
/* Doubles the capacity (the first time: ICMP_SEQ_TABLE_MIN). */
void icmp_seq_grow(struct icmp_seq_table *t);
/* Removes seq's item; returns it, or NULL when seq is not in t. */
void *icmp_seq_remove(struct icmp_seq_table *t, uint16_t seq);
/* Frees the slots (not the items); t is empty afterwards. */
void icmp_seq_free(struct icmp_seq_table *t);

#endif
