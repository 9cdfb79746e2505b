/* SPDX-License-Identifier: MIT */
/*
 * An IP address of either family, as an uplink, a subflow or failover's reach check has it.
 * An IPv4 address that arrives as IPv4-mapped IPv6 (a subflow of an AF_INET6
 * MPTCP socket, which carries IPv4 and IPv6 subflows alike) is made IPv4
 * again, so that one address compares equal however it was seen.
 */
#ifndef MPS_COMMON_INET_H
#define MPS_COMMON_INET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct mps_ip {
	int family; /* AF_INET, AF_INET6; AF_UNSPEC (0): no address */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/*
 * The address of @family whose @len bytes are at @bytes (IPv4-mapped IPv6
 * made IPv4). False (and no address) when @family is not IP or @len not its
 * length.
 */
bool mps_ip_set(struct mps_ip *ip, int family, const void *bytes, size_t len);

/* The address of @sa (IPv4-mapped IPv6 made IPv4). False when @sa is not IP. */
bool mps_ip_from_sockaddr(struct mps_ip *ip, const struct sockaddr *sa);

/* Parse a numeric IPv4 or IPv6 address (no brackets). False when it is neither. */
bool mps_ip_parse(struct mps_ip *ip, const char *s);

/* Same family and address; two "no address" are equal. */
bool mps_ip_equal(const struct mps_ip *a, const struct mps_ip *b);

/* Its bytes and their number (4, 16; 0 for no address). */
const void *mps_ip_bytes(const struct mps_ip *ip, size_t *len);

/* The prefix of @len bits of @a and of @b are the same. */
bool mps_ip_same_prefix(const struct mps_ip *a, const struct mps_ip *b, int len);

/* @ip's first @len bits, the rest zero. */
struct mps_ip mps_ip_prefix(const struct mps_ip *ip, int len);

/*
 * @ip and @port as a socket address of @ip's family, or, with @mapped, an
 * IPv4 address as IPv4-mapped IPv6 (for an AF_INET6 socket). Returns its length.
 */
socklen_t mps_ip_sockaddr(const struct mps_ip *ip, uint16_t port, bool mapped,
			  struct sockaddr_storage *out);

/* Make an IPv4-mapped IPv6 socket address IPv4. */
void mps_sockaddr_unmap(struct sockaddr_storage *ss);

#define MPS_IP_STRLEN INET6_ADDRSTRLEN
/* "10.1.0.2", "fd00:2::2", "-" for no address. Returns @buf. */
const char *mps_ip_str(const struct mps_ip *ip, char buf[MPS_IP_STRLEN]);

/* HOST:PORT or [V6ADDR]:PORT, the port a number from 1 to 65535. */
bool mps_hostport_valid(const char *s);

/*
 * The first address of HOST:PORT or [V6ADDR]:PORT (getaddrinfo()), into
 * @addr and @len. Returns 0 or getaddrinfo()'s error (EAI_*).
 */
int mps_hostport_lookup(const char *s, struct sockaddr_storage *addr, socklen_t *len);

/* "IPv4", "IPv6", "-". */
const char *mps_family_name(int family);

#endif
