/*
 * The protocol notes and captures beside the project (../shared), found
 * through BR_SOURCE_DIR, which ctest sets. Include after cmocka.h.
 */
#ifndef BR_TEST_SHARED_PATH_H
#define BR_TEST_SHARED_PATH_H

#include <stdlib.h>

#include "util.h"

/* ../shared/<rel>, malloc()ed. */
static char *
shared_path(const char *rel)
{
	const char *root = getenv("BR_SOURCE_DIR");

	if (root == NULL)
		fail_msg("BR_SOURCE_DIR is not set; run the test with ctest");
	return br_xasprintf("%s/../shared/%s", root, rel);
}

#endif
