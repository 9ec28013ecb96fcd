/*
 * The least a LISTEN/NOTIFY queue can do per pickup on this machine, with nothing of any queue
 * library in the way: one connection enqueues a job (a durable INSERT that also NOTIFYs, in one
 * statement), paced as the latency workloads are; a second connection, on its own thread, LISTENs
 * and answers each notification with the smallest claim (one UPDATE ... FOR UPDATE SKIP LOCKED,
 * committed asynchronously as Nightshift's claims are). Pickup = just before the enqueue is sent
 * → the claim's reply read, both on this host's clock. Prints one line of figures (ms):
 *   p50 p99 max enqueue_p50 enqueue_p99 picked
 * Mode "push" prices handing a job to its worker in the enqueue's own transaction: the job is
 * inserted already running and its id NOTIFYed, and pickup ends when the notification is read
 * (no claim round trip after the commit).
 * Build: cc -O2 -pthread -I"$(pg_config --includedir)" pickup_floor.c -lpq -lm
 * Run:   pickup_floor <conninfo> <jobs> <per second> [claim|push]   (bench/engine/latency_floor.sh sets it up)
 */
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static PGconn *connect_or_die(const char *conninfo) {
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pickup_floor: cannot connect: %s", PQerrorMessage(conn));
        exit(1);
    }
    return conn;
}

static void run_or_die(PGconn *conn, const char *sql) {
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        fprintf(stderr, "pickup_floor: %s: %s", sql, PQerrorMessage(conn));
        exit(1);
    }
    PQclear(result);
}

struct shared {
    const char *conninfo;
    int jobs;
    double *claimed; /* by job id (1-based, bigserial of a fresh table): when its claim returned */
    int push;        /* the job came running: its notification is the pickup */
    volatile int listening;
};

static void *listener(void *arg) {
    struct shared *shared = arg;
    PGconn *conn = connect_or_die(shared->conninfo);
    run_or_die(conn, "set synchronous_commit = off");
    run_or_die(conn, "listen pickup_floor");
    shared->listening = 1;
    int picked = 0;
    while (picked < shared->jobs) {
        struct pollfd fd = {.fd = PQsocket(conn), .events = POLLIN};
        if (poll(&fd, 1, 5000) <= 0) break; /* nothing for 5 s: the enqueuer is gone */
        PQconsumeInput(conn);
        PGnotify *notify;
        while ((notify = PQnotifies(conn)) != NULL) {
            if (shared->push) {
                double at = now_ms();
                long id = atol(notify->extra);
                if (id >= 1 && id <= shared->jobs) shared->claimed[id - 1] = at;
                picked++;
                PQfreemem(notify);
                continue;
            }
            PQfreemem(notify);
            PGresult *result = PQexec(conn,
                "update floor_jobs set status = 'running' where id = ("
                " select id from floor_jobs where status = 'queued' order by id limit 1 for update skip locked)"
                " returning id");
            double at = now_ms();
            if (PQresultStatus(result) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pickup_floor: claim failed: %s", PQerrorMessage(conn));
                exit(1);
            }
            for (int row = 0; row < PQntuples(result); row++) {
                long id = atol(PQgetvalue(result, row, 0));
                if (id >= 1 && id <= shared->jobs) shared->claimed[id - 1] = at;
                picked++;
            }
            PQclear(result);
        }
    }
    PQfinish(conn);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile, as bench-engine computes it. */
static double percentile(const double *sorted, int count, double p) {
    if (count == 0) return -1;
    int index = (int)ceil(p * count) - 1;
    return sorted[index < 0 ? 0 : index < count ? index : count - 1];
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "claim") != 0 && strcmp(argv[4], "push") != 0)) {
        fprintf(stderr, "usage: pickup_floor <conninfo> <jobs> <per second> [claim|push]\n");
        return 2;
    }
    struct shared shared = {.conninfo = argv[1], .jobs = atoi(argv[2]), .push = argc == 5 && strcmp(argv[4], "push") == 0};
    double interval = 1000.0 / atof(argv[3]);
    shared.claimed = calloc(shared.jobs, sizeof(double));
    double *sent = calloc(shared.jobs, sizeof(double));
    double *returned = calloc(shared.jobs, sizeof(double));
    PGconn *conn = connect_or_die(shared.conninfo);
    pthread_t thread;
    pthread_create(&thread, NULL, listener, &shared);
    while (!shared.listening) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    struct timespec idle = {2, 0}; /* idle first, as the workers of the latency workloads are */
    nanosleep(&idle, NULL);
    double begin = now_ms();
    for (int i = 0; i < shared.jobs; i++) {
        double wait = begin + i * interval - now_ms();
        if (wait > 0) {
            struct timespec pause = {(time_t)(wait / 1000), (long)(((long long)(wait * 1e6)) % 1000000000LL)};
            nanosleep(&pause, NULL);
        }
        double at = now_ms();
        PGresult *result = PQexec(conn, shared.push
            ? "with job as (insert into floor_jobs (status) values ('running') returning id)"
              " select id, pg_notify('pickup_floor', id::text) from job"
            : "with job as (insert into floor_jobs default values returning id)"
              " select id, pg_notify('pickup_floor', '') from job");
        returned[i] = now_ms() - at;
        if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            fprintf(stderr, "pickup_floor: enqueue failed: %s", PQerrorMessage(conn));
            return 1;
        }
        long id = atol(PQgetvalue(result, 0, 0));
        if (id >= 1 && id <= shared.jobs) sent[id - 1] = at;
        PQclear(result);
    }
    pthread_join(thread, NULL);
    PQfinish(conn);
    double *pickups = calloc(shared.jobs, sizeof(double));
    int picked = 0;
    for (int i = 0; i < shared.jobs; i++) {
        if (sent[i] > 0 && shared.claimed[i] > 0) pickups[picked++] = shared.claimed[i] - sent[i];
    }
    qsort(pickups, picked, sizeof(double), by_value);
    qsort(returned, shared.jobs, sizeof(double), by_value);
    printf("%.3f %.3f %.3f %.3f %.3f %d\n", percentile(pickups, picked, 0.50), percentile(pickups, picked, 0.99),
           picked ? pickups[picked - 1] : -1, percentile(returned, shared.jobs, 0.50),
           percentile(returned, shared.jobs, 0.99), picked);
    return picked == shared.jobs ? 0 : 1;
}
