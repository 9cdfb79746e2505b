// SPDX-License-Identifier: MIT
/*
 * linkem: a link emulator for the lab (this kernel has no netem). It joins two
 * interfaces of one network namespace at layer 2, like a wire, and passes every
 * frame through a model of the link in each direction (pipe.h): a capacity
 * that follows a schedule (one rate per 100 ms: a cellular trace) or a
 * recorded trace's delivery opportunities, a queue, a base delay with jitter,
 * random loss.
 *
 * Two trace formats, each with its own key (a file does not say which it is:
 * "1000" would be a rate of 1 Mbit/s in one and an opportunity at 1 s in the
 * other): trace=FILE, linkem's schedule, one rate per line; mahimahi=FILE,
 * mahimahi's format, in which the public recorded cellular traces are (one
 * line per 1500-byte delivery opportunity, a timestamp in ms, repeated for
 * several in one ms; the file loops at its last timestamp). An opportunity
 * carries 1500 bytes of IP packet: the frames' Ethernet header is not
 * counted against it, as mahimahi's link sees IP packets.
 *
 *   sender upN ==veth== A [linkem] B ==veth== rN router
 *
 * AF_PACKET sockets on A and B (promiscuous, their own sends ignored), with
 * the virtio-net header (PACKET_VNET_HDR): a frame whose checksum the sending
 * stack left to the "hardware" (veth offloads it, and forwarding keeps it so)
 * says so there, and linkem completes the checksum before passing it on
 * (without it, TCP through linkem fails and ping works). The frames must be
 * real frames: turn segmentation offloads off on the interfaces that feed it
 * (ethtool -K IF tso off gso off gro off), or a TCP segment of 64 kB arrives
 * as one frame (counted as "oversize" and dropped).
 */
#define _GNU_SOURCE
#include "pipe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static const char usage[] =
	"Usage: linkem [OPTION]... A B\n"
	"Join interfaces A (toward the sender) and B (toward the router) through an\n"
	"emulated link.\n"
	"  --up SPEC          the link from A to B\n"
	"  --down SPEC        the link from B to A\n"
	"  --stats-interval S print, every S seconds, each direction's mean capacity\n"
	"                     and what it carried (kbit/s)\n"
	"  --seed N           the random seed (loss, jitter); default 1\n"
	"SPEC: KEY=VALUE[,KEY=VALUE]...\n"
	"  rate=RATE          a fixed capacity (4mbit, 800k, 1gbit); default 1gbit\n"
	"  trace=FILE         the capacity from FILE: one rate per line (kbit/s, or\n"
	"                     with k/mbit), each for one slot, looped\n"
	"  slot=TIME          a trace's slot (default 100ms)\n"
	"  mahimahi=FILE      the capacity from a trace in mahimahi's format: one line\n"
	"                     per 1500-byte delivery opportunity (IP bytes), its time\n"
	"                     in ms (repeated for several in one ms), looped at the\n"
	"                     last; not with trace=\n"
	"  delay=TIME         base one-way delay (40ms, 1s, 200us; default 0)\n"
	"  jitter=TIME        uniform +-TIME on top of it, never reordering\n"
	"  swing=TIME/PERIOD  TIME more delay in the second half of every PERIOD\n"
	"                     (a bad link that is not dead: 550ms/6s)\n"
	"  loss=PERCENT       random loss on arrival (0.5 for 0.5 %)\n"
	"  queue=BYTES|TIME   the queue's limit, drop-tail (50000; or 100ms at the\n"
	"                     mean rate, the default)\n"
	"On SIGINT or SIGTERM: one line per direction with what it carried, exit 0.\n"
	"Exit status: 64 usage, 66 a trace unreadable, 69 an interface unusable.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One direction: its model, where its frames come from and go to. */
struct direction {
	const char *name;
	struct lem_params params;
	uint32_t fixed_kbps;
	uint32_t *trace; /* trace='s rates or mahimahi='s opportunities */
	struct lem_pipe *pipe;
	int from, to;
	uint64_t oversize, send_errors;
	uint64_t last_out_bytes;
};

static int read_file(const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	long size;
	int ret = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EIO;
	}
	*text = calloc(1, (size_t)size + 1);
	if (!*text)
		ret = -ENOMEM;
	else if (fread(*text, 1, (size_t)size, f) != (size_t)size)
		ret = -EIO;
	fclose(f);
	return ret;
}

/* One KEY=VALUE of a SPEC; returns 0, or the exit code with a line said. */
static int spec_item(struct direction *d, const char *key, const char *value)
{
	double pct;
	char *end, *text = NULL;
	int n, bad = 0, ret;

	if (!strcmp(key, "rate"))
		return lem_parse_rate(value, &d->fixed_kbps) ? 64 : 0;
	if (!strcmp(key, "delay"))
		return lem_parse_time(value, &d->params.delay_ns) ? 64 : 0;
	if (!strcmp(key, "jitter"))
		return lem_parse_time(value, &d->params.jitter_ns) ? 64 : 0;
	if (!strcmp(key, "swing")) {
		ret = lem_parse_swing(value, &d->params.swing_ns, &d->params.swing_period_ns);
		return ret ? 64 : 0;
	}
	if (!strcmp(key, "slot"))
		return lem_parse_time(value, &d->params.slot_ns) || !d->params.slot_ns ? 64 : 0;
	if (!strcmp(key, "loss")) {
		pct = strtod(value, &end);
		if (end == value || (*end && strcmp(end, "%")) || pct < 0 || pct > 100)
			return 64;
		d->params.loss = pct / 100;
		return 0;
	}
	if (!strcmp(key, "queue")) {
		unsigned long bytes = strtoul(value, &end, 10);

		if (end != value && !*end && bytes > 0 && bytes < (1UL << 30)) {
			d->params.queue_bytes = (uint32_t)bytes;
			return 0;
		}
		return lem_parse_time(value, &d->params.queue_ns) || !d->params.queue_ns ? 64 : 0;
	}
	if (!strcmp(key, "trace") || !strcmp(key, "mahimahi")) {
		bool opps = !strcmp(key, "mahimahi");

		if (d->trace) {
			fprintf(stderr, "linkem: --%s: one trace= or mahimahi= only\n", d->name);
			return 64;
		}
		if ((ret = read_file(value, &text))) {
			fprintf(stderr, "linkem: %s: %s\n", value, strerror(-ret));
			return 66;
		}
		n = opps ? lem_opportunities_parse(text, &d->trace, &bad)
			 : lem_schedule_parse(text, &d->trace, &bad);
		free(text);
		if (n < 0) {
			const char *what = opps ? "time in ms" : "rate";

			d->trace = NULL;
			if (!bad)
				fprintf(stderr, "linkem: %s: no %s in it\n", value, what);
			else
				fprintf(stderr, "linkem: %s: line %d: expected a %s%s\n", value,
					bad, what,
					opps ? ", not before the line above (the last above 0)"
					     : "");
			return 66;
		}
		if (opps) {
			d->params.opps_ms = d->trace;
			d->params.n_opps = (size_t)n;
			d->params.opp_header = ETH_HLEN;
		} else {
			d->params.rates_kbps = d->trace;
			d->params.n_rates = (size_t)n;
		}
		return 0;
	}
	return 64;
}

static int parse_spec(struct direction *d, const char *spec)
{
	char *copy = strdup(spec), *save = NULL, *item;
	int ret = copy ? 0 : 1;

	for (item = strtok_r(copy, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq) {
			ret = 64;
			break;
		}
		*eq = '\0';
		ret = spec_item(d, item, eq + 1);
		if (ret == 64)
			fprintf(stderr, "linkem: --%s: bad %s=%s (see --help)\n", d->name, item,
				eq + 1);
	}
	free(copy);
	return ret;
}

static int open_port(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};
	int one = 1, buf = 8 << 20, fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "linkem: %s: no such interface\n", ifname);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	/* The header first: it applies to what is received from the bind on. */
	if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		fprintf(stderr, "linkem: %s: PACKET_VNET_HDR: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "linkem: %s: %s\n", ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	mr.mr_ifindex = sll.sll_ifindex;
	/* Every frame, whatever its address; not the ones we send ourselves. */
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return fd;
}

/*
 * Complete a checksum the sender left to the device: the one's complement sum
 * from @start to the end (the field already holds the pseudo-header's sum),
 * stored at @start + @offset.
 */
static void complete_checksum(uint8_t *frame, size_t len, size_t start, size_t offset)
{
	uint32_t sum = 0;
	uint16_t csum;

	if (start + offset + 2 > len)
		return;
	for (size_t k = start; k + 1 < len; k += 2)
		sum += (uint32_t)frame[k] << 8 | frame[k + 1];
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	csum = (uint16_t)~sum;
	frame[start + offset] = (uint8_t)(csum >> 8);
	frame[start + offset + 1] = (uint8_t)csum;
}

/* Every frame waiting on @d's input, into its model. */
static void take_in(struct direction *d, int64_t now)
{
	struct {
		struct virtio_net_hdr vh;
		uint8_t frame[LEM_MAX_FRAME];
	} __attribute__((packed)) in;

	for (;;) {
		ssize_t n = recv(d->from, &in, sizeof(in), MSG_TRUNC);

		if (n < (ssize_t)sizeof(in.vh))
			return;
		n -= (ssize_t)sizeof(in.vh);
		if ((size_t)n > sizeof(in.frame) || in.vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			if (!d->oversize++)
				fprintf(stderr,
					"linkem: %s: a frame of %zd bytes dropped (segmentation "
					"offloads on? ethtool -K IF tso off gso off gro off)\n",
					d->name, n);
			continue;
		}
		if (in.vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			complete_checksum(in.frame, (size_t)n, in.vh.csum_start, in.vh.csum_offset);
		lem_pipe_push(d->pipe, in.frame, (size_t)n, now);
	}
}

/* Every frame of @d whose time has come, out. */
static void give_out(struct direction *d, int64_t now)
{
	struct virtio_net_hdr vh = {.gso_type = VIRTIO_NET_HDR_GSO_NONE};
	struct lem_packet pk;

	while (lem_pipe_pop(d->pipe, now, &pk)) {
		struct iovec iov[2] = {{&vh, sizeof(vh)}, {pk.data, pk.len}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

		if (sendmsg(d->to, &msg, 0) < 0)
			d->send_errors++;
	}
}

static void print_totals(const struct direction *d)
{
	const struct lem_stats *s = lem_pipe_stats(d->pipe);

	printf("%s: in %llu packets %llu bytes, out %llu packets %llu bytes, lost %llu, dropped "
	       "%llu, max queue %lld bytes, oversize %llu, send errors %llu\n",
	       d->name, (unsigned long long)s->in_packets, (unsigned long long)s->in_bytes,
	       (unsigned long long)s->out_packets, (unsigned long long)s->out_bytes,
	       (unsigned long long)s->lost_packets, (unsigned long long)s->dropped_packets,
	       (long long)s->max_queue_bytes, (unsigned long long)d->oversize,
	       (unsigned long long)d->send_errors);
	fflush(stdout);
}

/* The interval that ends at @now: its mean capacity and what left, both in kbit/s. */
static void print_interval(struct direction *d, int64_t now, int64_t start, double interval_s)
{
	const struct lem_stats *s = lem_pipe_stats(d->pipe);
	int64_t from = now - (int64_t)(interval_s * 1e9);

	printf("%.1f %s rate_kbps=%.0f out_kbps=%.0f\n", (double)(now - start) / 1e9, d->name,
	       lem_pipe_mean_kbps(d->pipe, from, now),
	       (double)(s->out_bytes - d->last_out_bytes) * 8 / 1000 / interval_s);
	d->last_out_bytes = s->out_bytes;
	fflush(stdout);
}

static void run(struct direction dirs[2], double interval_s)
{
	int64_t start = now_ns(), next_stats = start + (int64_t)(interval_s * 1e9);
	sigset_t none;

	sigemptyset(&none);
	while (!stop) {
		int64_t now = now_ns(), next = lem_pipe_next_ns(dirs[0].pipe, now);
		struct pollfd fds[2] = {{.fd = dirs[0].from, .events = POLLIN},
					{.fd = dirs[1].from, .events = POLLIN}};
		struct timespec ts, *tsp = NULL;

		if (lem_pipe_next_ns(dirs[1].pipe, now) < next)
			next = lem_pipe_next_ns(dirs[1].pipe, now);
		if (interval_s > 0 && next_stats < next)
			next = next_stats;
		if (next != INT64_MAX) {
			int64_t wait = next > now ? next - now : 0;

			ts = (struct timespec){wait / 1000000000, wait % 1000000000};
			tsp = &ts;
		}
		ppoll(fds, 2, tsp, &none);
		now = now_ns();
		for (int k = 0; k < 2; k++) {
			if (fds[k].revents & POLLIN)
				take_in(&dirs[k], now);
			give_out(&dirs[k], now);
		}
		if (interval_s > 0 && now >= next_stats) {
			print_interval(&dirs[0], now, start, interval_s);
			print_interval(&dirs[1], now, start, interval_s);
			next_stats += (int64_t)(interval_s * 1e9);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"up", required_argument, NULL, 'u'},
		{"down", required_argument, NULL, 'd'},
		{"stats-interval", required_argument, NULL, 's'},
		{"seed", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct direction dirs[2] = {{.name = "up", .fixed_kbps = 1000000},
				    {.name = "down", .fixed_kbps = 1000000}};
	struct sigaction sa = {.sa_handler = on_signal};
	double interval_s = 0;
	uint64_t seed = 1;
	sigset_t block;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1 && !ret) {
		if (c == 'u' || c == 'd')
			ret = parse_spec(&dirs[c == 'd'], optarg);
		else if (c == 's')
			ret = (interval_s = atof(optarg)) > 0 ? 0 : 64;
		else if (c == 'S')
			seed = strtoull(optarg, NULL, 10);
		else if (c == 'h')
			return fputs(usage, stdout) == EOF;
		else
			ret = 64;
	}
	if (!ret && argc - optind != 2)
		ret = 64;
	if (ret) {
		if (ret == 64)
			fputs(usage, stderr);
		return ret;
	}
	for (int k = 0; k < 2 && !ret; k++) {
		struct direction *d = &dirs[k];

		if (!d->params.n_rates && !d->params.n_opps) {
			d->params.rates_kbps = &d->fixed_kbps;
			d->params.n_rates = 1;
		}
		d->params.seed = seed + (uint64_t)k;
		if (lem_pipe_create(&d->params, now_ns(), &d->pipe))
			ret = 64;
	}
	dirs[0].from = dirs[1].to = open_port(argv[optind]);
	dirs[1].from = dirs[0].to = open_port(argv[optind + 1]);
	if (dirs[0].from < 0 || dirs[1].from < 0)
		return 69;
	/* Signals arrive only inside ppoll(): no frame is half taken in. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Wake-ups on time to the microsecond, not the default 50 us slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	fprintf(stderr, "linkem: %s <-> %s ready\n", argv[optind], argv[optind + 1]);
	run(dirs, interval_s);
	for (int k = 0; k < 2; k++) {
		print_totals(&dirs[k]);
		lem_pipe_destroy(dirs[k].pipe);
		free(dirs[k].trace);
	}
	return 0;
}
