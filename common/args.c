// SPDX-License-Identifier: MIT
#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mps_open_regular(const char *path, int flags, long long max_bytes, struct stat *sb, char *why,
		     size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
	int ret = 0;

	if (fd < 0 || fstat(fd, sb) < 0) {
		ret = -errno;
		snprintf(why, size, "%s", strerror(-ret));
	} else if (S_ISDIR(sb->st_mode)) {
		ret = -EISDIR;
		snprintf(why, size, "%s", strerror(EISDIR));
	} else if (!S_ISREG(sb->st_mode)) {
		ret = -ENODEV;
		snprintf(why, size, "not a regular file");
	} else if (sb->st_size > max_bytes) {
		ret = -EFBIG;
		snprintf(why, size, "larger than %lld bytes (%lld)", max_bytes,
			 (long long)sb->st_size);
	}
	if (ret && fd >= 0)
		close(fd);
	return ret ? ret : fd;
}

int mps_check_file(const char *path, long long max_bytes, char *why, size_t size)
{
	struct stat sb;
	int fd = mps_open_regular(path, 0, max_bytes, &sb, why, size);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int mps_parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > 65535)
		return -EINVAL;
	*port = htons((uint16_t)n);
	return 0;
}

int mps_parse_listen_any(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	char addr[INET6_ADDRSTRLEN];
	const char *close;

	memset(out, 0, sizeof(*out));
	if (s[0] != '[') {
		if (strchr(s, ':'))
			return mps_parse_listen(s, (struct sockaddr_in *)out);
		v6->sin6_family = AF_INET6;
		v6->sin6_addr = in6addr_any;
		return parse_port(s, &v6->sin6_port);
	}
	close = strchr(s, ']');
	if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s + 1, (size_t)(close - s - 1));
	addr[close - s - 1] = '\0';
	v6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) != 1)
		return -EINVAL;
	return parse_port(close + 2, &v6->sin6_port);
}

int mps_parse_listen(const char *s, struct sockaddr_in *out)
{
	const char *colon = strrchr(s, ':');
	char addr[INET_ADDRSTRLEN];
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = htonl(INADDR_ANY);
	if (colon) {
		if ((size_t)(colon - s) >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (inet_pton(AF_INET, addr, &out->sin_addr) != 1)
			return -EINVAL;
		s = colon + 1;
	}
	errno = 0;
	port = strtol(s, &end, 10);
	if (errno || end == s || *end || port < 1 || port > 65535)
		return -EINVAL;
	out->sin_port = htons((uint16_t)port);
	return 0;
}
