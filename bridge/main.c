#include <stdio.h>

int
main(void)
{
	puts("twitch2mqtt " BR_VERSION);
	return 0;
}
