/*
 * twitch2mqtt: Twitch events onto MQTT. Parses the command line, loads the
 * configuration and hands both to the bridge.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "bridge.h"
#include "config.h"
#include "healthcheck.h"
#include "jsonmem.h"
#include "log.h"

extern char **environ;

enum { EXIT_USAGE = 2 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: twitch2mqtt [-c FILE] [--demo] [-v]\n"
	    "       twitch2mqtt -n [-c FILE]\n"
	    "       twitch2mqtt auth [-c FILE] [--scopes \"a b c\"]\n"
	    "       twitch2mqtt --healthcheck [-c FILE]\n"
	    "       twitch2mqtt --version | -h\n"
	    "\n"
	    "  -c FILE         configuration file (default $TWITCH2MQTT_CONFIG,\n"
	    "                  then ./twitch2mqtt.json if present)\n"
	    "  -n              check the configuration and exit\n"
	    "  -v              verbose: log at debug level\n"
	    "  --demo          emit sample events for channel 'demo'\n"
	    "  --demo-rate N   demo events per second (default 1)\n"
	    "  --demo-count N  stop the demo after N events (default endless)\n"
	    "  --pubsub-ping MS, --pubsub-pong MS\n"
	    "                  PubSub PING interval and PONG deadline (tests)\n"
	    "  --healthcheck   ask the running daemon's /healthz (for Docker)\n"
	    "\n"
	    "Every setting can also come from TWITCH2MQTT_<SECTION>_<KEY>;\n"
	    "see the README.\n");
}

struct cli {
	const char *config;
	bool check, verbose, demo, healthcheck, auth;
	double demo_rate;
	unsigned long demo_count;
	double ps_ping, ps_pong;
	const char *scopes;
};

static int
parse_number(const char *opt, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (*arg == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "twitch2mqtt: %s needs a positive number, not "
		    "'%s'\n", opt, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_cli(int argc, char **argv, struct cli *cli)
{
	enum { O_DEMO = 256, O_RATE, O_COUNT, O_HEALTH, O_VERSION, O_SCOPES,
	    O_PING, O_PONG };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "demo", no_argument, NULL, O_DEMO },
		{ "demo-rate", required_argument, NULL, O_RATE },
		{ "demo-count", required_argument, NULL, O_COUNT },
		{ "healthcheck", no_argument, NULL, O_HEALTH },
		{ "version", no_argument, NULL, O_VERSION },
		{ "scopes", required_argument, NULL, O_SCOPES },
		{ "pubsub-ping", required_argument, NULL, O_PING },
		{ "pubsub-pong", required_argument, NULL, O_PONG },
		{ NULL, 0, NULL, 0 }
	};
	double count;
	int ch;

	if (argc > 1 && strcmp(argv[1], "auth") == 0) {
		cli->auth = true;
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cli->config = optarg; break;
		case 'n': cli->check = true; break;
		case 'v': cli->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case O_VERSION: printf("twitch2mqtt %s\n", BR_VERSION); exit(0);
		case O_DEMO: cli->demo = true; break;
		case O_HEALTH: cli->healthcheck = true; break;
		case O_SCOPES: cli->scopes = optarg; break;
		case O_RATE:
			if (parse_number("--demo-rate", optarg, &cli->demo_rate))
				return -1;
			break;
		case O_PING:
			if (parse_number("--pubsub-ping", optarg, &cli->ps_ping))
				return -1;
			break;
		case O_PONG:
			if (parse_number("--pubsub-pong", optarg, &cli->ps_pong))
				return -1;
			break;
		case O_COUNT:
			if (parse_number("--demo-count", optarg, &count))
				return -1;
			cli->demo_count = (unsigned long)count;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "twitch2mqtt: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

static struct br_config *
load_config(const struct cli *cli)
{
	struct br_problems problems = { 0 };
	struct br_config *cfg = br_config_load(cli->config, environ, &problems);

	for (size_t i = 0; i < problems.n; i++)
		fprintf(stderr, "twitch2mqtt: configuration: %s\n",
		    problems.lines[i]);
	br_problems_free(&problems);
	return cfg;
}

static int
run(const struct cli *cli, struct br_config *cfg)
{
	struct bridge_options opts = { .config_path = cli->config,
		.demo = cli->demo, .demo_rate = cli->demo_rate,
		.demo_count = cli->demo_count,
		.pubsub_ping_ms = (long)cli->ps_ping,
		.pubsub_pong_ms = (long)cli->ps_pong };

	br_log_set_level(cli->verbose ? BR_LOG_DEBUG : cfg->bridge.log_level);
	br_log_hook_libraries();
	bridge_signals_install();
	struct bridge *b = bridge_new(cfg, &opts);
	if (b == NULL)
		return 1;
	int rc = bridge_run(b);
	bridge_free(b);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct br_config *cfg;
	int rc;

	br_jsonmem_install();
	if (parse_cli(argc, argv, &cli) < 0)
		return EXIT_USAGE;
	if ((cfg = load_config(&cli)) == NULL)
		return EXIT_USAGE;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cli.check) {
		puts("configuration OK");
		rc = 0;
	} else if (cli.healthcheck) {
		rc = br_healthcheck(cfg);
	} else if (cli.auth) {
		struct br_auth_options ao = {
			.client_id = cfg->twitch.client_id,
			.client_secret = cfg->twitch.client_secret,
			.access_token = cfg->twitch.access_token,
			.refresh_token = cfg->twitch.refresh_token,
			.state_dir = cfg->bridge.state_dir,
		};
		rc = br_auth_device_flow(&ao, cfg->twitch.auth_url,
		    cfg->twitch.ca_file, cli.scopes);
	} else {
		rc = run(&cli, cfg);
		cfg = NULL;     /* the bridge owned it */
	}
	br_config_free(cfg);
	curl_global_cleanup();
	br_jsonmem_flush();
	return rc;
}
