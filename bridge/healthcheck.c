#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "healthcheck.h"

static size_t
discard(char *p, size_t size, size_t n, void *unused)
{
	return size * n;
}

int
br_healthcheck(const struct br_config *cfg)
{
	const char *listen = cfg->http.listen, *colon = strrchr(listen, ':');
	char url[128];
	long status = 0;

	if (*listen == '\0' || colon == NULL) {
		fprintf(stderr, "healthcheck: http.listen is not set, so there "
		    "is no /healthz to ask\n");
		return 1;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%s/healthz", colon + 1);
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return 1;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 4L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (status != 200) {
		fprintf(stderr, "healthcheck: %s answered %ld%s%s\n", url, status,
		    rc != CURLE_OK ? ": " : "",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "");
		return 1;
	}
	return 0;
}
