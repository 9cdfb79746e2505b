// SPDX-License-Identifier: MIT
#include "inet.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

bool mps_ip_set(struct mps_ip *ip, int family, const void *bytes, size_t len)
{
	memset(ip, 0, sizeof(*ip));
	if (family == AF_INET && len == sizeof(ip->v4)) {
		ip->family = AF_INET;
		memcpy(&ip->v4, bytes, len);
	} else if (family == AF_INET6 && len == sizeof(ip->v6)) {
		ip->family = AF_INET6;
		memcpy(&ip->v6, bytes, len);
		if (IN6_IS_ADDR_V4MAPPED(&ip->v6))
			return mps_ip_set(ip, AF_INET, &((const uint8_t *)bytes)[12],
					  sizeof(ip->v4));
	}
	return ip->family != AF_UNSPEC;
}

bool mps_ip_from_sockaddr(struct mps_ip *ip, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return mps_ip_set(ip, AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
				  sizeof(struct in_addr));
	if (sa->sa_family == AF_INET6)
		return mps_ip_set(ip, AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  sizeof(struct in6_addr));
	memset(ip, 0, sizeof(*ip));
	return false;
}

bool mps_ip_parse(struct mps_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->v4) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, &ip->v6) == 1)
		ip->family = AF_INET6;
	return ip->family != AF_UNSPEC;
}

const void *mps_ip_bytes(const struct mps_ip *ip, size_t *len)
{
	*len = ip->family == AF_INET ? sizeof(ip->v4) : ip->family == AF_INET6 ? sizeof(ip->v6) : 0;
	return ip->family == AF_INET ? (const void *)&ip->v4 : (const void *)&ip->v6;
}

bool mps_ip_equal(const struct mps_ip *a, const struct mps_ip *b)
{
	size_t la, lb;
	const void *pa = mps_ip_bytes(a, &la), *pb = mps_ip_bytes(b, &lb);

	return a->family == b->family && la == lb && !memcmp(pa, pb, la);
}

struct mps_ip mps_ip_prefix(const struct mps_ip *ip, int len)
{
	struct mps_ip out = *ip;
	size_t n;
	uint8_t *p = (uint8_t *)mps_ip_bytes(&out, &n);

	for (size_t k = 0; k < n; k++) {
		int bits = len - (int)k * 8;

		p[k] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	return out;
}

bool mps_ip_same_prefix(const struct mps_ip *a, const struct mps_ip *b, int len)
{
	struct mps_ip pa = mps_ip_prefix(a, len), pb = mps_ip_prefix(b, len);

	return mps_ip_equal(&pa, &pb);
}

socklen_t mps_ip_sockaddr(const struct mps_ip *ip, uint16_t port, bool mapped,
			  struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof(*out));
	if (ip->family == AF_INET && !mapped) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = ip->v4;
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (ip->family == AF_INET6) {
		sin6->sin6_addr = ip->v6;
	} else if (ip->family == AF_INET) {
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &ip->v4, sizeof(ip->v4));
	}
	return sizeof(*sin6);
}

void mps_sockaddr_unmap(struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct mps_ip ip;
	uint16_t port;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	port = ntohs(sin6->sin6_port);
	mps_ip_from_sockaddr(&ip, (const struct sockaddr *)ss);
	mps_ip_sockaddr(&ip, port, false, ss);
}

const char *mps_ip_str(const struct mps_ip *ip, char buf[MPS_IP_STRLEN])
{
	size_t n;
	const void *p = mps_ip_bytes(ip, &n);

	if (!n || !inet_ntop(ip->family, p, buf, MPS_IP_STRLEN))
		snprintf(buf, MPS_IP_STRLEN, "-");
	return buf;
}

const char *mps_family_name(int family)
{
	return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "-";
}

bool mps_hostport_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	port = strtol(colon + 1, &end, 10);
	return !*end && port >= 1 && port <= 65535;
}

int mps_hostport_lookup(const char *s, struct sockaddr_storage *addr, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	char host[256];
	size_t n;
	int ret;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return EAI_NONAME;
	memcpy(host, s, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	ret = getaddrinfo(host, colon + 1, &hints, &ai);
	if (ret)
		return ret;
	memcpy(addr, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}
