/* Control requests arrive from anyone who may publish on the request
 * topic: every byte sequence must parse or be refused, never crash. */
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "request.h"

static const char *const actions[] = { "subscribe", "unsubscribe",
	"subscriptions", "health", "simulate", "bogus" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	br_log_set_level(BR_LOG_ERROR);
	const char *action = actions[data[0] % 6];
	struct br_request *req = br_request_parse(action,
	    (const char *)data + 1, size - 1);
	br_request_free(req);
	return 0;
}
