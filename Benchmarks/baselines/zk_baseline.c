/*
 * Raw ZooKeeper C client baselines for scripts/bench (rows 1, 2 and 6 of BENCHMARKS.md).
 *
 *   zk_baseline CONNECT MODE ROOT N WARMUP REPS SEED [CHUNK_BYTES]
 *
 * The znodes ROOT/0 .. ROOT/N-1 must exist (the Swift bench creates them). Versions are read first
 * (pipelined, not timed). Then WARMUP untimed and REPS timed repetitions of MODE:
 *
 *   commit-sync   one synchronous zoo_set2 per znode, one after another (how Kafka 0.8 committed),
 *                 each conditional on the version last seen
 *   commit-multi  zoo_multi of all setData ops (conditional on versions), split into transactions
 *                 whose estimated size stays below CHUNK_BYTES with the rule ZooKeeperOffsetStore uses
 *                 (64 bytes per transaction + ZooKeeperOperation.estimatedRequestSize, 16 + path + data
 *                 bytes per op), one transaction after another
 *   read-sync     one synchronous zoo_get per znode, one after another, value parsed
 *   read-async    zoo_aget for every znode, then wait for all completions, values parsed
 *
 * Repetition r writes the value SEED + r*N + p to ROOT/p, so every commit changes every value.
 * Prints one line per timed repetition: elapsed microseconds. Errors go to stderr, exit 1.
 * Row 6 (operator commands) times this whole process with MODE commit-multi, WARMUP 0, REPS 1: start,
 * connect, read every znode pipelined (the version read above), write them all in zoo_multi chunks, close:
 * the C lower bound of `zkoffsets import/reset/migrate --execute` of the same N offsets.
 * REPS "-" is the driven mode (the Swift bench interleaves implementations in lockstep): after the warmup
 * print "ready", then run one timed repetition per line read from stdin, until end of input.
 * Built by scripts/bench: gcc -O2 zk_baseline.c -lzookeeper_mt
 */
#define _GNU_SOURCE
#define THREADED 1
#include <zookeeper/zookeeper.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int connected = 0;
static int pending = 0;
static int failures = 0;

static int n;
static char **paths;
static int *versions;
static long long *values;

static void die(const char *what, int rc) {
    fprintf(stderr, "zk_baseline: %s: %s (%d)\n", what, zerror(rc), rc);
    exit(1);
}

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)path; (void)ctx;
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
        pthread_mutex_lock(&lock);
        connected = 1;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
}

static long long parse(const char *value, int len) {
    char buf[32];
    if (len <= 0 || len >= (int)sizeof buf) return -1;
    memcpy(buf, value, (size_t)len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end) return -1;
    return v;
}

static void on_data(int rc, const char *value, int len, const struct Stat *stat, const void *data) {
    int i = (int)(long)data;
    pthread_mutex_lock(&lock);
    if (rc == ZOK) {
        values[i] = parse(value, len);
        versions[i] = stat->version;
    } else {
        failures++;
    }
    if (--pending == 0) pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Pipelined gets of every znode: zoo_aget all, then wait. */
static void read_async(zhandle_t *zh) {
    pthread_mutex_lock(&lock);
    pending = n;
    failures = 0;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++) {
        int rc = zoo_aget(zh, paths[i], 0, on_data, (const void *)(long)i);
        if (rc != ZOK) die("zoo_aget", rc);
    }
    pthread_mutex_lock(&lock);
    while (pending > 0) pthread_cond_wait(&cond, &lock);
    int failed = failures;
    pthread_mutex_unlock(&lock);
    if (failed) die("an async get failed", ZSYSTEMERROR);
}

static void read_sync(zhandle_t *zh) {
    char buf[64];
    struct Stat stat;
    for (int i = 0; i < n; i++) {
        int len = sizeof buf;
        int rc = zoo_get(zh, paths[i], 0, buf, &len, &stat);
        if (rc != ZOK) die("zoo_get", rc);
        values[i] = parse(buf, len);
        versions[i] = stat.version;
    }
}

static void commit_sync(zhandle_t *zh, long long base) {
    char buf[32];
    struct Stat stat;
    for (int i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "%lld", base + i);
        int rc = zoo_set2(zh, paths[i], buf, len, versions[i], &stat);
        if (rc != ZOK) die("zoo_set2", rc);
        versions[i] = stat.version;
    }
}

static zoo_op_t *ops;
static zoo_op_result_t *results;
static struct Stat *stats;
static char (*bufs)[32];

static void commit_multi(zhandle_t *zh, long long base, long chunk_bytes) {
    for (int i = 0; i < n; i++) {
        int len = snprintf(bufs[i], sizeof bufs[i], "%lld", base + i);
        zoo_set_op_init(&ops[i], paths[i], bufs[i], len, versions[i], &stats[i]);
    }
    int start = 0;
    while (start < n) {
        long size = 64; /* the store's fixed allowance per transaction */
        int end = start;
        while (end < n) {
            long op = 16 + (long)strlen(paths[end]) + (long)strlen(bufs[end]);
            if (end > start && size + op > chunk_bytes) break;
            size += op;
            end++;
        }
        int rc = zoo_multi(zh, end - start, &ops[start], &results[start]);
        if (rc != ZOK) die("zoo_multi", rc);
        start = end;
    }
    for (int i = 0; i < n; i++) versions[i] = stats[i].version;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: zk_baseline CONNECT commit-sync|commit-multi|read-sync|read-async ROOT N WARMUP REPS SEED [CHUNK_BYTES]\n");
        return 2;
    }
    const char *connect = argv[1], *mode = argv[2], *root = argv[3];
    n = atoi(argv[4]);
    int warmup = atoi(argv[5]);
    int driven = !strcmp(argv[6], "-");
    int reps = driven ? 1000000000 : atoi(argv[6]);
    long long seed = atoll(argv[7]);
    long chunk_bytes = argc > 8 ? atol(argv[8]) : 768 * 1024;

    paths = calloc((size_t)n, sizeof *paths);
    versions = calloc((size_t)n, sizeof *versions);
    values = calloc((size_t)n, sizeof *values);
    ops = calloc((size_t)n, sizeof *ops);
    results = calloc((size_t)n, sizeof *results);
    stats = calloc((size_t)n, sizeof *stats);
    bufs = calloc((size_t)n, sizeof *bufs);
    for (int i = 0; i < n; i++) {
        if (asprintf(&paths[i], "%s/%d", root, i) < 0) return 1;
    }

    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(connect, watcher, 10000, NULL, NULL, 0);
    if (!zh) { perror("zookeeper_init"); return 1; }
    /* As ZooKeeperClient does: without it the client re-resolves the server names (getaddrinfo, netlink,
     * /dev/urandom) every time its I/O thread polls, about a quarter of the CPU of 5,000 pipelined reads. */
    zoo_set_servers_resolution_delay(zh, 1000);
    pthread_mutex_lock(&lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    while (!connected) {
        if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT) {
            fprintf(stderr, "zk_baseline: no session with %s within 10 s\n", connect);
            return 1;
        }
    }
    pthread_mutex_unlock(&lock);

    read_async(zh); /* versions, not timed */

    for (int r = 0; r < warmup + reps; r++) {
        if (driven && r == warmup) { printf("ready\n"); fflush(stdout); }
        if (driven && r >= warmup) {
            char line[64];
            if (!fgets(line, sizeof line, stdin)) break;
        }
        long long base = seed + (long long)r * n;
        long long t0 = now_us();
        if (!strcmp(mode, "commit-sync")) commit_sync(zh, base);
        else if (!strcmp(mode, "commit-multi")) commit_multi(zh, base, chunk_bytes);
        else if (!strcmp(mode, "read-sync")) read_sync(zh);
        else if (!strcmp(mode, "read-async")) read_async(zh);
        else { fprintf(stderr, "zk_baseline: unknown mode %s\n", mode); return 2; }
        long long t1 = now_us();
        if (r >= warmup) printf("%lld\n", t1 - t0);
        fflush(stdout);
    }
    if (!strncmp(mode, "read", 4)) {
        for (int i = 0; i < n; i++) {
            if (values[i] < 0) { fprintf(stderr, "zk_baseline: %s holds no decimal offset\n", paths[i]); return 1; }
        }
    }
    zookeeper_close(zh);
    return 0;
}
