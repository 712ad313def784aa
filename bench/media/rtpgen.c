// RTP-like load generator for bench/media: N one-way streams at one packet per 20 ms each
// (50 pkt/s, ptime 20), all sent from ONE socket (the caller's ip:port, as the relays were
// told in the SDP / relay leg) to N relay ports, and received on ONE socket (the callee's
// ip:port, where every relay forwards). Each packet carries (stream, seq) so the receiver
// counts per stream. Sends are spread over the 20 ms period in 1 ms slots (real streams are
// not in phase), batched with sendmmsg. Prints one JSON line at the end.
//
//   rtpgen SRC_IP SRC_PORT DST_IP PORTS_FILE RECV_IP RECV_PORT SECONDS SIZE
// PORTS_FILE: one relay port per line (its line number is the stream id).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 65536
#define BATCH 64
#define SLOTS 20 /* 1 ms slots per 20 ms period */

static int family;
static struct sockaddr_storage dst[MAX_STREAMS];
static int nstreams;
static volatile int stop_rx;
static uint64_t rx_per[MAX_STREAMS];
static uint64_t rx_total, rx_bad;
static int rx_fd;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int make_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, ip, &a->sin6_addr) == 1 ? AF_INET6 : -1;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	*len = sizeof(*a);
	return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? AF_INET : -1;
}

static void *rx_loop(void *arg)
{
	(void)arg;
	static char bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop_rx) {
		int n = recvmmsg(rx_fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			uint32_t stream;
			if (msgs[i].msg_len < 20) {
				rx_bad++;
				continue;
			}
			memcpy(&stream, bufs[i] + 12, 4); /* after a 12-byte RTP header */
			if (stream < (uint32_t)nstreams)
				rx_per[stream]++;
			else
				rx_bad++;
			rx_total++;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: rtpgen SRC_IP SRC_PORT DST_IP PORTS_FILE RECV_IP RECV_PORT SECONDS SIZE\n");
		return 2;
	}
	int seconds = atoi(argv[7]), size = atoi(argv[8]);
	if (size < 20 || size > 1400)
		size = 172;
	struct sockaddr_storage src, rx;
	socklen_t srclen, rxlen, dstlen = 0;
	family = make_addr(argv[1], atoi(argv[2]), &src, &srclen);
	if (family < 0 || make_addr(argv[5], atoi(argv[6]), &rx, &rxlen) < 0) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	FILE *pf = fopen(argv[4], "r");
	if (!pf) {
		perror("ports file");
		return 2;
	}
	int port;
	while (nstreams < MAX_STREAMS && fscanf(pf, "%d", &port) == 1)
		make_addr(argv[3], port, &dst[nstreams++], &dstlen);
	fclose(pf);

	int tx = socket(family, SOCK_DGRAM, 0);
	rx_fd = socket(family, SOCK_DGRAM, 0);
	int big = 64 << 20, one = 1;
	setsockopt(tx, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(rx_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(tx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct timeval tv = { 0, 100000 };
	setsockopt(rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(tx, (struct sockaddr *)&src, srclen) || bind(rx_fd, (struct sockaddr *)&rx, rxlen)) {
		perror("bind");
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, rx_loop, NULL);

	static char pkts[BATCH][1500];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0, send_err = 0;
	uint32_t seq = 0;
	uint64_t start = now_ns(), period = 20000000ull, slot_ns = period / SLOTS;
	uint64_t periods = (uint64_t)seconds * 50;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	for (uint64_t p = 0; p < periods; p++, seq++) {
		for (int s = 0; s < SLOTS; s++) {
			uint64_t due = start + p * period + s * slot_ns;
			uint64_t t;
			while ((t = now_ns()) < due) {
				uint64_t left = due - t;
				if (left > 200000) {
					struct timespec ts = { 0, (long)(left - 100000) };
					nanosleep(&ts, NULL);
				}
			}
			int first = nstreams * s / SLOTS, last = nstreams * (s + 1) / SLOTS;
			for (int i = first; i < last;) {
				int n = 0;
				for (; n < BATCH && i < last; n++, i++) {
					char *b = pkts[n];
					memset(b, 0, 12);
					b[0] = (char)0x80; /* RTP v2 */
					b[1] = 0; /* PCMU */
					uint16_t sq = htons((uint16_t)seq);
					memcpy(b + 2, &sq, 2);
					uint32_t stream = (uint32_t)i;
					memcpy(b + 12, &stream, 4);
					memcpy(b + 16, &seq, 4);
					iov[n].iov_base = b;
					iov[n].iov_len = size;
					memset(&msgs[n], 0, sizeof(msgs[n]));
					msgs[n].msg_hdr.msg_name = &dst[i];
					msgs[n].msg_hdr.msg_namelen = dstlen;
					msgs[n].msg_hdr.msg_iov = &iov[n];
					msgs[n].msg_hdr.msg_iovlen = 1;
				}
				int off = 0;
				while (off < n) {
					int r = sendmmsg(tx, msgs + off, n - off, 0);
					if (r < 0) {
						if (errno == EAGAIN || errno == ENOBUFS)
							continue;
						send_err += n - off;
						break;
					}
					off += r;
					sent += r;
				}
			}
		}
	}
	getrusage(RUSAGE_SELF, &ru1);
	/* Let the last packets arrive: until nothing came for 300 ms. */
	uint64_t last_total = rx_total - 1;
	while (last_total != rx_total) {
		last_total = rx_total;
		usleep(300000);
	}
	stop_rx = 1;
	pthread_join(th, NULL);
	uint64_t lossy = 0;
	for (int i = 0; i < nstreams; i++)
		if (rx_per[i] < periods)
			lossy++;
	double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		     ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
	double late = (now_ns() - start) / 1e9 - seconds;
	printf("{\"streams\":%d,\"sent\":%llu,\"received\":%llu,\"sendErrors\":%llu,\"bad\":%llu,"
	       "\"lossyStreams\":%llu,\"genCpuSeconds\":%.3f,\"seconds\":%d,\"drainSeconds\":%.2f}\n",
	       nstreams, (unsigned long long)sent, (unsigned long long)rx_total, (unsigned long long)send_err,
	       (unsigned long long)rx_bad, (unsigned long long)lossy, cpu, seconds, late);
	return 0;
}
