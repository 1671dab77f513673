/*
 * A librdkafka mock Kafka cluster as a standalone process, so the kafkajs bus can be tested
 * over the real Kafka wire protocol without a JVM, Docker or network.
 *
 *   cc mock-cluster.c -lrdkafka -o mock-cluster
 *   ./mock-cluster [--brokers N] [topic:partitions[:replication]]...
 *
 * Prints the bootstrap servers as one line on stdout, then reads commands from stdin, one per
 * line, answering each with one line:
 *
 *   topic <name> <partitions> [replication]
 *       -> "ok topic <name>"       created
 *          "exists topic <name>"   already there, left as it is (like Kafka's CreateTopics)
 *          "error <code> <reason>"
 *
 * Why a command channel: the mock broker does not implement the CreateTopics API (see
 * rdkafka_mock.h), so a test that wants a fresh topic per case has to ask this process to
 * create it with rd_kafka_mock_topic_create().
 *
 * Exits when stdin closes (the parent died or is done) or on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

/* Replication above the broker count is an error in the mock; clamp it so callers can say
 * "as replicated as possible" without knowing the broker count. */
static int clamp_replication(int replication, int broker_cnt) {
        if (replication < 1)
                return 1;
        return replication > broker_cnt ? broker_cnt : replication;
}

/* Returns 0 when created, 1 when it already existed, -1 on error (reported on `reply`). */
static int create_topic(rd_kafka_mock_cluster_t *mcluster,
                        const char *name,
                        int partitions,
                        int replication,
                        int broker_cnt,
                        FILE *reply) {
        rd_kafka_resp_err_t err;

        if (name[0] == '\0' || partitions < 1) {
                fprintf(reply,
                        "error invalid expected a topic name and partitions >= 1, "
                        "got name '%s' and partitions %d\n",
                        name, partitions);
                return -1;
        }
        err = rd_kafka_mock_topic_create(mcluster, name, partitions,
                                         clamp_replication(replication, broker_cnt));
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                return 1;
        if (err) {
                fprintf(reply, "error %s %s\n", rd_kafka_err2name(err), rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* "name:partitions[:replication]" from the command line. */
static int create_topic_from_arg(rd_kafka_mock_cluster_t *mcluster, char *arg, int broker_cnt) {
        char *colon = strchr(arg, ':');
        int partitions, replication = broker_cnt;
        if (!colon) {
                fprintf(stderr, "mock-cluster: expected topic:partitions[:replication], got '%s'\n", arg);
                return -1;
        }
        *colon = '\0';
        partitions = atoi(colon + 1);
        colon = strchr(colon + 1, ':');
        if (colon)
                replication = atoi(colon + 1);
        return create_topic(mcluster, arg, partitions, replication, broker_cnt, stderr) < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
        char errstr[512];
        char line[1024];
        int broker_cnt = 1;
        int i;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        struct sigaction sa;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        broker_cnt = atoi(argv[++i]);
                        if (broker_cnt < 1) {
                                fprintf(stderr, "mock-cluster: expected --brokers >= 1, got '%s'\n", argv[i]);
                                return 2;
                        }
                }
        }

        conf = rd_kafka_conf_new();
        /* The handle only owns the mock cluster; it never connects anywhere. Errors only, so
         * the parent's stderr capture stays readable. */
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-cluster: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
        if (!mcluster) {
                fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new(%d) failed\n", broker_cnt);
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers")) {
                        i++;
                        continue;
                }
                if (create_topic_from_arg(mcluster, argv[i], broker_cnt) != 0) {
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 2;
                }
        }

        /* No SA_RESTART: a signal must interrupt the blocking fgets() below. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));

        while (!stop_requested && fgets(line, sizeof(line), stdin)) {
                char name[512];
                int partitions = 0, replication = broker_cnt;
                int n = sscanf(line, "topic %511s %d %d", name, &partitions, &replication);
                if (n >= 2) {
                        int created = create_topic(mcluster, name, partitions, replication,
                                                   broker_cnt, stdout);
                        if (created == 0)
                                printf("ok topic %s\n", name);
                        else if (created == 1)
                                printf("exists topic %s\n", name);
                } else if (line[0] != '\n') {
                        line[strcspn(line, "\n")] = '\0';
                        printf("error invalid expected 'topic <name> <partitions> [replication]', "
                               "got '%s'\n",
                               line);
                }
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
