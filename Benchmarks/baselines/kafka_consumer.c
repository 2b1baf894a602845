/*
 * Plain librdkafka C consumer baseline for scripts/bench (row 3 of BENCHMARKS.md).
 *
 *   kafka_consumer BOOTSTRAP TOPIC PARTITIONS EXPECTED [key=value ...]
 *
 * Manual assignment of partitions 0..PARTITIONS-1 of TOPIC from the beginning, the given librdkafka
 * properties (the Swift bench passes the same ones its consumer runs with), then one
 * rd_kafka_consumer_poll() per message until EXPECTED messages were read, touching each payload.
 * No printing of messages, no offset commits. Prints key=value lines:
 *   messages, seconds and rate: messages/s from the moment 5% of EXPECTED were read to the last message (the
 *   figure compared; it leaves out the first fetch, which the mock cluster is slow to build, identically for both),
 *   total_seconds (assign to last message), first_ms (assign to first message),
 *   maxrss_kb (peak RSS of this process: VmHWM of /proc/self/status; getrusage's ru_maxrss would carry the
 *   parent's peak across fork and exec), anon_kb (RssAnon at the end: heap and stacks, without the pages of
 *   the program and its libraries), cpu_s (user + system CPU seconds of this process), bytes.
 * With BENCH_MAX_SECONDS=N in the environment it stops after N seconds even if fewer than EXPECTED messages came
 * (settings under which librdkafka 2.0.2 crawls would otherwise take minutes); the figures are then those of
 * the messages read, and messages= says how many.
 * Built by scripts/bench: gcc -O2 kafka_consumer.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Peak RSS in KiB of this process image (VmHWM), -1 if unknown. */
/* A "Name:   123 kB" line of /proc/self/status, in kB; -1 if absent. */
static long status_kb(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t length = strlen(name);
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, name, length) && line[length] == ':') { kb = atol(line + length + 1); break; }
    }
    fclose(f);
    return kb;
}

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_consumer: %s=%s: %s\n", key, value, err);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: kafka_consumer BOOTSTRAP TOPIC PARTITIONS EXPECTED [key=value ...]\n");
        return 2;
    }
    const char *bootstrap = argv[1], *topic = argv[2];
    int partitions = atoi(argv[3]);
    long long expected = atoll(argv[4]);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[64];
    snprintf(group, sizeof group, "bench-c-%d", (int)getpid());
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", group);
    /* What KafkaPartitionConsumer enforces: no commits or stores, no silent reset. */
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    set(conf, "auto.offset.reset", "error");
    for (int i = 5; i < argc; i++) {
        char *kv = strdup(argv[i]);
        char *eq = strchr(kv, '=');
        if (!eq) { fprintf(stderr, "kafka_consumer: not key=value: %s\n", argv[i]); return 2; }
        *eq = 0;
        set(conf, kv, eq + 1);
        free(kv);
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "kafka_consumer: %s\n", err); return 1; }
    rd_kafka_poll_set_consumer(rk);

    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    double t0 = now_s(), first = 0, mark = 0;
    long long mark_count = expected / 20, at_mark = 0;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) { fprintf(stderr, "kafka_consumer: assign: %s\n", rd_kafka_err2str(e)); return 1; }

    const char *max_env = getenv("BENCH_MAX_SECONDS");
    double max_seconds = max_env ? atof(max_env) : 0;
    long long count = 0, bytes = 0;
    unsigned checksum = 0;
    while (count < expected) {
        if (max_seconds > 0 && (count & 1023) == 0 && now_s() - t0 > max_seconds) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) {
            if (now_s() - t0 > 120) { fprintf(stderr, "kafka_consumer: stalled at %lld messages\n", count); return 1; }
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "kafka_consumer: %s\n", rd_kafka_message_errstr(m));
        } else {
            if (count == 0) first = now_s();
            count++;
            if (count == mark_count || (mark == 0 && count >= mark_count)) { mark = now_s(); at_mark = count; }
            bytes += (long long)m->len;
            if (m->len) checksum += ((const unsigned char *)m->payload)[m->len - 1];
        }
        rd_kafka_message_destroy(m);
    }
    double t1 = now_s();
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    printf("messages=%lld\nseconds=%.4f\nrate=%.0f\ntotal_seconds=%.4f\nfirst_ms=%.2f\nmaxrss_kb=%ld\nanon_kb=%ld\n"
           "cpu_s=%.3f\nbytes=%lld\nchecksum=%u\n",
           count, t1 - mark, (count - at_mark) / (t1 - mark), t1 - t0, (first - t0) * 1000, status_kb("VmHWM"),
           status_kb("RssAnon"), cpu, bytes, checksum);
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
