// SPDX-License-Identifier: MIT
/* The endpoint: libmicrohttpd serves the last published data at /metrics. */
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG	     "metrics"
#define RENDER_SIZE  (64 * 1024)
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	struct metrics_data data;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	char *body = malloc(RENDER_SIZE);
	int len;

	if (!body)
		return MHD_NO;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		len = snprintf(body, RENDER_SIZE, "GET /metrics\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		len = snprintf(body, RENDER_SIZE, "mpstream serves /metrics\n");
	} else {
		pthread_mutex_lock(&m->lock);
		len = metrics_render(&m->data, body, RENDER_SIZE);
		pthread_mutex_unlock(&m->lock);
		if (len < 0) {
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			len = snprintf(body, RENDER_SIZE, "too many series\n");
		}
	}
	resp = MHD_create_response_from_buffer((size_t)len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_start(const struct sockaddr_in *listen, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	char a[INET_ADDRSTRLEN];

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	errno = 0;
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, ntohs(listen->sin_port), NULL,
				     NULL, serve, m, MHD_OPTION_SOCK_ADDR, listen,
				     MHD_OPTION_CONNECTION_LIMIT, 16U,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	inet_ntop(AF_INET, &listen->sin_addr, a, sizeof(a));
	if (!m->daemon) {
		int err = errno ? errno : EADDRINUSE;

		LOG_ERR(TAG, "cannot serve metrics on %s:%u: %s", a, ntohs(listen->sin_port),
			strerror(err));
		pthread_mutex_destroy(&m->lock);
		free(m);
		return -err;
	}
	LOG_INFO(TAG, "Prometheus metrics on http://%s:%u/metrics", a, ntohs(listen->sin_port));
	*out = m;
	return 0;
}

void metrics_publish(struct metrics *m, const struct metrics_data *d)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->data = *d;
	pthread_mutex_unlock(&m->lock);
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
