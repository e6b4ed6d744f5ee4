/* ipaddr: IPv4/IPv6 addresses as plain values. */
#ifndef MAGLEV_COMMON_IPADDR_H
#define MAGLEV_COMMON_IPADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

struct ip_addr {
    int family; /* AF_INET or AF_INET6; 0 = unset */
    union {
        struct in_addr v4;
        struct in6_addr v6;
        uint8_t bytes[16]; /* v4 uses the first 4, network order */
    } u;
};

/* Strict parse of a bare address: "192.0.2.1" or "2001:db8::1". No
 * brackets, ports, prefix lengths, zone ids, or surrounding spaces; IPv4
 * must be dotted quad without leading zeros. Returns 0 or -EINVAL. */
int ip_addr_parse(const char *s, struct ip_addr *out);

/* Canonical text (RFC 5952 for IPv6). buf holds IP_ADDR_STRLEN; returns buf. */
char *ip_addr_format(const struct ip_addr *a, char *buf, size_t len);

/* Total order: unset < IPv4 < IPv6, then numeric (network byte order). */
int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b);
bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b);
bool ip_addr_is_set(const struct ip_addr *a);
/* "ipv4" / "ipv6" / "unset" */
const char *ip_addr_family_name(int family);

#endif
