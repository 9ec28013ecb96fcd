#define _XOPEN_SOURCE 700
/* libpq's own cost, for the Swift wrapper to be compared against in the same run.
 *   libpq_baseline <conninfo> roundtrips N     : N sequential "select 1" (extended protocol)
 *   libpq_baseline <conninfo> pgbench-s N      : N sequential pgbench -S queries by random aid
 *   libpq_baseline <conninfo> decode N         : fetch N rows (int8, text, timestamptz, numeric) and parse every cell
 * Prints one line: "<mode> <count> <seconds>". */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(PGconn *conn, PGresult *res) {
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        fprintf(stderr, "query failed: %s", PQerrorMessage(conn));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s conninfo roundtrips|pgbench-s|decode N\n", argv[0]);
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(conn));
        return 1;
    }
    long n = atol(argv[3]);
    const char *mode = argv[2];
    double started = now();
    if (strcmp(mode, "roundtrips") == 0) {
        for (long i = 0; i < n; i++) {
            PGresult *res = PQexecParams(conn, "select 1", 0, NULL, NULL, NULL, NULL, 0);
            check(conn, res);
            volatile long v = atol(PQgetvalue(res, 0, 0));
            (void)v;
            PQclear(res);
        }
    } else if (strcmp(mode, "pgbench-s") == 0) {
        srand(42);
        char aid[32];
        for (long i = 0; i < n; i++) {
            snprintf(aid, sizeof aid, "%d", 1 + rand() % 100000);
            const char *params[1] = {aid};
            PGresult *res = PQexecParams(conn, "SELECT abalance FROM pgbench_accounts WHERE aid = $1", 1, NULL, params, NULL, NULL, 0);
            check(conn, res);
            volatile long v = atol(PQgetvalue(res, 0, 0));
            (void)v;
            PQclear(res);
        }
    } else if (strcmp(mode, "decode") == 0) {
        char limit[32];
        snprintf(limit, sizeof limit, "%ld", n);
        const char *params[1] = {limit};
        PGresult *res = PQexecParams(conn,
            "select g::int8, 'name-' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', (g * 1.25)::numeric(20,4) "
            "from generate_series(1, $1::int8) g", 1, NULL, params, NULL, NULL, 0);
        check(conn, res);
        int rows = PQntuples(res);
        volatile double sink = 0;
        for (int r = 0; r < rows; r++) {
            sink += atoll(PQgetvalue(res, r, 0));
            sink += PQgetlength(res, r, 1);
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            strptime(PQgetvalue(res, r, 2), "%Y-%m-%d %H:%M:%S", &tm);
            sink += tm.tm_sec;
            sink += strtod(PQgetvalue(res, r, 3), NULL);
        }
        PQclear(res);
        (void)sink;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf("%s %ld %.6f\n", mode, n, now() - started);
    PQfinish(conn);
    return 0;
}
