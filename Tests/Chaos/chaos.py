#!/usr/bin/env python3
"""Nightshift's chaos suite (`make chaos`, `make chaos-short`).

Starts its own PostgreSQL cluster, `nightshift serve`, three `nightshift worker` processes and a
webhook receiver; runs a workload mix (cron, fan-out events, multi-step runs with transactions
and durable sleeps, a singleton, a per-key limit, capped notifications, webhooks that fail and
stall); injects faults at seeded random moments (kill -9, SIGSTOP past the lease, PostgreSQL
crash-restarts, network cuts between a worker and the database, PgBouncer in session and
transaction mode in front of one worker); lets the system settle; then checks the invariants in
SQL and writes bench/results/chaos-<UTC stamp>.md and .jsonl. Exits 1 on any violation.

Workers run in network namespaces of their own ("hosts", section 4 of issue 11) where the suite
may create them, and behind a TCP proxy of its own otherwise; the report says which ran.
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
import net  # noqa: E402
from cluster import Cluster, PgBouncer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def state_dir():
    """.nightshift/chaos; but when the suite runs as root in a checkout the postgres user cannot
    enter (root's 0700 home), local-db.sh names a folder inside the embedded cluster's one that
    postgres owns (README "The embedded database"): the cluster and PgBouncer run as postgres."""
    default = os.path.join(ROOT, ".nightshift", "chaos")
    try:
        out = subprocess.run(["bash", os.path.join(ROOT, "supabase-like-config", "local-db.sh"), "dir", "chaos"],
                             check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return default
    return out or default


STATE = state_dir()
LOGS = os.path.join(STATE, "logs")
BUILT = os.path.join(ROOT, ".build", "debug", "nightshift")
# The suite runs a copy: a build in the shared checkout relinks .build/debug/nightshift, and a
# worker restarted mid-run must run the same code as the others ("Text file busy" otherwise).
BIN = os.path.join(STATE, "bin", "nightshift")
DB_PORT = 54339
RECEIVER_PORT = 54337
API_PORT = 54338
PROXY_BASE = 54340
BOUNCER_PORT = 54349
WORKERS = 3
DAILY_CAP = 10

# Fault counts and timings per profile. Every fault's moment and target come from the seed.
PROFILES = {
    "short": dict(window=105, kills=12, stops=3, pg_restarts=1, cuts=4, bouncer_phase=22, settle=85, rate=1.0),
    "long": dict(window=1260, kills=110, stops=20, pg_restarts=6, cuts=24, bouncer_phase=120, settle=120, rate=1.0),
}


def now():
    return time.time()


def log(message):
    print(f"[chaos {datetime.now(timezone.utc).strftime('%H:%M:%S')}] {message}", flush=True)


class Db:
    """A reconnecting autocommit connection: the database restarts under the suite's feet."""

    def __init__(self, url, name):
        self.url = url
        self.name = name
        self.conn = None

    def execute(self, sql, params=None, retry_for=60.0):
        deadline = now() + retry_for
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=3,
                                                application_name=f"chaos-{self.name}")
                return self.conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                try:
                    if self.conn:
                        self.conn.close()
                except Exception:
                    pass
                self.conn = None
                if now() > deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        if self.conn:
            self.conn.close()


class Process:
    """A nightshift child; its log goes to logs/<name>-<n>.log (one file per incarnation)."""

    def __init__(self, name, args, env, prefix):
        self.name = name
        self.args = args
        self.env = env
        self.prefix = prefix
        self.incarnation = 0
        self.popen = None
        self.stopped = False
        self.tag = None  # what the suite calls this incarnation (e.g. the PgBouncer mode in front of it)
        self.history = []  # (incarnation, pid, tag)

    def start(self):
        self.incarnation += 1
        path = os.path.join(LOGS, f"{self.name}-{self.incarnation}.log")
        out = open(path, "w")
        # ip netns exec execs the binary: the pid is nightshift's own.
        self.popen = subprocess.Popen(self.prefix + [BIN] + self.args, env=self.env, cwd=ROOT,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.history.append((self.incarnation, self.popen.pid, self.tag))
        self.stopped = False

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill9(self):
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def terminate(self, timeout=30):
        if not self.alive():
            return
        if self.stopped:
            os.kill(self.popen.pid, signal.SIGCONT)
        self.popen.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def logs(self):
        text = []
        for n in range(1, self.incarnation + 1):
            try:
                with open(os.path.join(LOGS, f"{self.name}-{n}.log")) as f:
                    text.append(f.read())
            except FileNotFoundError:
                pass
        return "\n".join(text)


# The ops channel's signing secret in the suite (27 bytes, base64): any valid one will do.
CHAOS_WEBHOOK_SECRET = "whsec_Y2hhb3Mtc3VpdGUtd2ViaG9vay1zZWNyZXQh"


def make_config(base_text, webhook_url, second_cron):
    """The project's config with the receiver as the ops channel, the packs' crons off, and
    the chaos crons overridable."""
    out = []
    section = ""
    for line in base_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        if section.startswith("[jobs.") and stripped.startswith("enabled"):
            line = "enabled = false   # chaos suite: the packs' schedules stay off"
        if section == "[notifications.channels.ops]" and stripped.startswith("webhook_url"):
            # Workers in network namespaces reach the receiver off loopback, where config
            # requires a signed channel: the suite's own secret, whatever the file has.
            line = f'webhook_url = "{webhook_url}"\nwebhook_secret = "{CHAOS_WEBHOOK_SECRET}"'
        if section == "[notifications.channels.ops]" and stripped.startswith("webhook_secret"):
            continue
        out.append(line)
    if second_cron:
        out.append(f'\n[jobs."chaos/cron-second"]\ncron = "{second_cron}"\n')
    return "\n".join(out) + "\n"


class Suite:
    def __init__(self, args):
        self.args = args
        self.profile = dict(PROFILES[args.profile])
        if args.window:
            self.profile["window"] = args.window
        self.seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
        self.lease = args.lease
        self.stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d_%H%MZ")
        self.started = now()
        self.faults = {"kill": 0, "stop": 0, "pg_restart": 0, "cut": 0, "bouncer_session": 0, "bouncer_transaction": 0}
        self.fault_log = []
        self.held = []  # (kind, fault time, run id, lease token) for resume latencies
        self.stranded = []  # (run id, lease token, worker, incarnation): runs a partition cut off
        self.run_ids = set()
        self.samples = {"count": 0, "violations": [], "errors": 0}
        self.stop_load = threading.Event()
        self.lock = threading.Lock()
        self.workers = {}
        self.worker_locks = {i: threading.Lock() for i in range(1, WORKERS + 1)}
        self.burst = threading.Event()
        self.bouncer = None
        self.bouncer_mode = None
        self.notes = []

    # --- set-up ---------------------------------------------------------------------------

    def setup(self):
        os.makedirs(LOGS, exist_ok=True)
        for name in os.listdir(LOGS):
            os.remove(os.path.join(LOGS, name))
        if not os.access(BUILT, os.X_OK) or self.args.build:
            log("building nightshift (swift build --product nightshift)")
            subprocess.run(["swift", "build", "--product", "nightshift"], cwd=ROOT, check=True)
        os.makedirs(os.path.dirname(BIN), exist_ok=True)
        shutil.copy2(BUILT, BIN + ".new")
        os.replace(BIN + ".new", BIN)
        # The migrations the binary carries live in its resource bundle, beside it.
        bundle = os.path.join(os.path.dirname(BUILT), "nightshift_NightshiftSQL.resources")
        shutil.rmtree(os.path.join(os.path.dirname(BIN), os.path.basename(bundle)), ignore_errors=True)
        shutil.copytree(bundle, os.path.join(os.path.dirname(BIN), os.path.basename(bundle)))
        net.remove_namespaces()  # a previous run that died before its clean-up
        kill_leftovers()
        if self.args.net == "proxy" or (self.args.net == "auto" and not net.namespaces_available()):
            self.net = net.Proxies(WORKERS, DB_PORT, RECEIVER_PORT, PROXY_BASE)
            if self.args.net == "auto":
                self.notes.append("network namespaces could not be created here (no privilege?): "
                                  "workers reach the database through the suite's TCP proxy instead")
        else:
            self.net = net.Namespaces(WORKERS, DB_PORT, RECEIVER_PORT)
        self.net.setup()
        log(f"seed {self.seed}, profile {self.args.profile}, network: {self.net.kind}, lease {self.lease} s")

        self.cluster = Cluster(STATE, DB_PORT, self.net.db_prefix(), self.net.listen_addresses())
        self.cluster.create()
        self.cluster.start()
        env = self.env(self.cluster.url)
        migrate = [BIN, "migrate"]
        if self.args.extra_migration:
            # A branch's migration the binary already needs (testing a merge before it lands): the
            # checkout's component folders plus each extra file, in the component folder it came
            # from (sql/migrations/<component>/NNNN_x.sql), else the engine's.
            folder = os.path.join(STATE, "migrations")
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(os.path.join(ROOT, "sql", "migrations"), folder)
            for extra in self.args.extra_migration:
                component = os.path.basename(os.path.dirname(os.path.abspath(extra)))
                if not os.path.isdir(os.path.join(folder, component)):
                    component = "engine"
                shutil.copy2(extra, os.path.join(folder, component))
            migrate += ["--migrations-dir", folder]
            self.notes.append(f"extra migrations applied: {[os.path.basename(e) for e in self.args.extra_migration]}")
        subprocess.run(migrate, env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with psycopg.connect(self.cluster.url, autocommit=True) as db:
            with open(os.path.join(os.path.dirname(__file__), "schema.sql")) as f:
                db.execute(f.read())

        self.receiver_log = os.path.join(LOGS, "receiver.jsonl")
        self.receiver = subprocess.Popen(
            self.net.db_prefix() + [sys.executable, os.path.join(os.path.dirname(__file__), "receiver.py"),
                                    "--port", str(RECEIVER_PORT), "--log", self.receiver_log, "--seed", str(self.seed)],
            stdout=open(os.path.join(LOGS, "receiver.out"), "w"), stderr=subprocess.STDOUT, start_new_session=True)
        with open(os.path.join(STATE, "receiver.pid"), "w") as f:
            f.write(str(self.receiver.pid))

        base = open(os.path.join(ROOT, "supabase-like-config", "config.toml")).read()
        second = os.environ.get("CHAOS_SECOND_CRON")
        self.configs = {}
        for i in range(0, WORKERS + 1):
            url = self.net.serve_webhook() if i == 0 else self.net.worker_webhook(i)
            path = os.path.join(STATE, f"config-{i}.toml")
            with open(path, "w") as f:
                f.write(make_config(base, url, second))
            self.configs[i] = path

        self.serve = Process("serve", ["serve", "--port", str(API_PORT), "--concurrency", "2"],
                             self.env(self.cluster.url, self.configs[0]), self.net.db_prefix())
        self.serve.start()
        for i in range(1, WORKERS + 1):
            self.workers[i] = Process(f"worker{i}", ["worker", "--concurrency", "8", "--lease-seconds", str(self.lease)],
                                      self.env(self.worker_url(i), self.configs[i]), self.net.worker_prefix(i))
            self.workers[i].start()
        self.db = Db(self.cluster.url, "main")
        deadline = now() + 60
        while now() < deadline:
            n = self.db.execute("select count(*) from nightshift.functions where id like 'chaos/%' and retired_at is null")[0][0]
            if n == 9 and all(w.alive() for w in self.workers.values()) and self.serve.alive():
                break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the workload functions were not synced within 60 s (see {LOGS})")
        self.smoke()
        log(f"cluster, serve, {WORKERS} workers and the receiver are up ({now() - self.started:.1f} s)")

    def smoke(self):
        """One run must complete before any fault: a binary built from sources that disagree with
        sql/migrations (someone mid-edit in the checkout) fails here, with its error, not as 1,000 violations."""
        run_id = self.db.execute("select nightshift.trigger('chaos/singleton', '{\"step_ms\": 1}', 'chaos-smoke')")[0][0]
        deadline = now() + 30
        while now() < deadline:
            status = self.db.execute("select status from nightshift.runs where id = %s", (run_id,))[0][0]
            if status == "completed":
                return
            time.sleep(0.2)
        errors = [line for w in self.workers.values() for line in w.logs().splitlines() if '"level":"error"' in line]
        raise RuntimeError(f"smoke run {run_id} did not complete in 30 s (status {status}); do the binary and "
                           f"sql/migrations agree? First worker error: {errors[0][:400] if errors else 'none'}")

    def env(self, url, config=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(DATABASE_URL=url, NIGHTSHIFT_CHAOS_WORKLOAD="1", NIGHTSHIFT_LOG_LEVEL="info",
                   NIGHTSHIFT_NOTIFICATIONS_DAILY_CAP=str(DAILY_CAP), NIGHTSHIFT_DB_PORT=str(DB_PORT))
        if config:
            env["NIGHTSHIFT_CONFIG"] = config
        return env

    def worker_url(self, index):
        if index == WORKERS and self.bouncer_mode:
            return self.bouncer.url
        host, port = self.net.worker_db_host(index)
        return f"postgresql://postgres@{host}:{port}/chaos"

    # --- the workload ---------------------------------------------------------------------

    def load(self):
        """Triggers the mix at seeded random moments until told to stop."""
        rng = random.Random(self.seed * 7 + 1)
        db = Db(self.cluster.url, "load")
        rate = self.profile["rate"]
        mix = [("chaos/pipeline", 1.4), ("chaos/singleton", 0.7), ("chaos/limited", 1.4), ("chaos/notify", 0.7),
               ("event", 0.4)]
        n = 0
        while not self.stop_load.is_set():
            time.sleep(0.1)
            if self.burst.is_set():
                self.burst.clear()
                for _ in range(60):
                    n += 1
                    row = db.execute("select nightshift.trigger('chaos/pipeline', %s::jsonb, %s)",
                                     (json.dumps({"step_ms": 100}), f"chaos-{self.seed}-{n}"), retry_for=120)
                    with self.lock:
                        self.run_ids.add(row[0][0])
            for kind, per_second in mix:
                if rng.random() >= per_second * rate * 0.1:
                    continue
                n += 1
                key = f"chaos-{self.seed}-{n}"
                if kind == "event":
                    db.execute("select nightshift.send_event('chaos.fanout', %s::jsonb, %s)",
                               (json.dumps({"n": n}), key), retry_for=120)
                    continue
                payload = {"step_ms": rng.randrange(50, 400)}
                if kind == "chaos/pipeline":
                    # Longer steps: a kill finds runs in flight more often (kill -> resume samples).
                    payload["step_ms"] = rng.randrange(100, 800)
                    payload.update(sleep_ms=rng.choice([0, 500, 1500]), fanout=rng.random() < 0.3)
                    if rng.random() < 0.08:
                        payload["fail"] = True
                    elif rng.random() < 0.1:
                        payload["fail_attempts"] = 1
                elif kind == "chaos/limited":
                    payload["tenant"] = rng.choice(["t1", "t2", "t3", "t4"])
                elif kind == "chaos/notify":
                    # Four recipients a minute, about ten notifications each: around the daily cap
                    # (some suppressed), and deliveries all through a long run, not only in its first minutes.
                    epoch = int((now() - self.t0) / 60)
                    payload = {"user": f"00000000-0000-4000-8000-{self.seed % 10**6:06d}{epoch * 4 + rng.randrange(4):06d}"}
                row = db.execute("select nightshift.trigger(%s, %s::jsonb, %s)", (kind, json.dumps(payload), key),
                                 retry_for=120)
                with self.lock:
                    self.run_ids.add(row[0][0])
        db.close()

    def sample(self):
        """Every 100 ms: no (function, key) with more running runs than its limit."""
        db = Db(self.cluster.url, "sampler")
        while not self.stop_load.is_set() or not self.sampling_done.is_set():
            try:
                for function_id, key, running, limit, ids in db.execute("""
                    select function_id, concurrency_key, count(*), min(concurrency_limit), array_agg(id)
                    from nightshift.runs where status = 'running' and concurrency_limit is not null
                    group by 1, 2 having count(*) > min(concurrency_limit)""", retry_for=1):
                    self.samples["violations"].append(
                        f"{datetime.now(timezone.utc).isoformat()}: {function_id} key {key}: {running} running, limit {limit}: {ids}")
                self.samples["count"] += 1
            except psycopg.Error:
                self.samples["errors"] += 1
            time.sleep(0.1)
        db.close()

    # --- faults ---------------------------------------------------------------------------

    def schedule(self):
        """The faults, their moments and targets: a function of the seed alone."""
        p = self.profile
        rng = random.Random(self.seed)
        kinds = ["kill"] * p["kills"] + ["stop"] * p["stops"] + ["pg_restart"] * p["pg_restarts"] + ["cut"] * p["cuts"]
        rng.shuffle(kinds)
        span = p["window"] - 8
        slot = span / len(kinds)
        plan = []
        for i, kind in enumerate(kinds):
            at = 4 + i * slot + rng.uniform(0, slot * 0.6)
            target = rng.randrange(1, WORKERS + 1)
            if kind == "kill":
                duration = rng.uniform(0.2, 2.0)  # down time before the restart
            elif kind == "stop":
                duration = self.lease + rng.uniform(1.0, 3.0)
            elif kind == "cut":
                # Most cuts outlast the lease (a partition); some are a short glitch.
                duration = self.lease + rng.uniform(1.0, 3.0) if rng.random() < 0.75 else rng.uniform(0.3, self.lease * 0.6)
            else:
                duration = 0
            plan.append((at, kind, target, duration))
        return plan

    def held_runs(self, pid):
        return self.db.execute("""
            select id, lease_token from nightshift.runs
            where status = 'running' and split_part(lease_owner, ':', 2) = %s""", (str(pid),))

    def inject(self, plan, t0):
        """Runs the plan: each fault holds its worker's lock for as long as it lasts, so two faults
        never act on one worker at once; cuts and crash-restarts run alone."""
        for at, kind, target, duration in plan:
            wait = t0 + at - now()
            if wait > 0:
                time.sleep(wait)
            if self.stop_load.is_set():
                break
            lock = self.worker_locks[target]
            if not lock.acquire(timeout=15):
                self.notes.append(f"fault {kind} on worker{target} at +{at:.1f} s skipped: the worker stayed busy")
                continue
            worker = self.workers[target]

            def act(kind=kind, target=target, worker=worker, duration=duration, lock=lock):
                try:
                    getattr(self, f"fault_{kind}")(target, worker, duration)
                except Exception as error:  # a fault that could not be injected is reported, not fatal
                    self.notes.append(f"fault {kind} on worker{target} failed: {error!r}")
                finally:
                    lock.release()
            if kind in ("cut", "pg_restart"):
                act()
            else:
                threading.Thread(target=act, daemon=True).start()
        rest = t0 + self.profile["window"] - now()
        if rest > 0:
            time.sleep(rest)

    def bouncer_phases(self, t0):
        """The window's last two phases: worker 3 behind PgBouncer in session, then transaction mode."""
        phase = self.profile["bouncer_phase"]
        for mode, at in (("session", self.profile["window"] - 2 * phase), ("transaction", self.profile["window"] - phase)):
            wait = t0 + at - now()
            if wait > 0:
                time.sleep(wait)
            with self.worker_locks[WORKERS]:
                try:
                    self.switch_bouncer(mode)
                except Exception as error:
                    self.notes.append(f"PgBouncer {mode} mode could not be set up: {error!r}")
            # More runs than the listening workers take at once: a worker that only polls gets
            # work only from a backlog.
            self.burst.set()

    def record(self, kind, target, **extra):
        with self.lock:
            self.faults[kind] += 1
        entry = dict(kind=kind, target=f"worker{target}" if target else None, at=now(), since_start=round(now() - self.t0, 2), **extra)
        self.fault_log.append(entry)
        return entry

    def fault_kill(self, target, worker, down):
        at = now()
        pid = worker.pid
        worker.kill9()
        held = self.held_runs(pid)
        for run_id, token in held:
            self.held.append(("kill", at, run_id, token))
        self.record("kill", target, pid=pid, held=len(held), down=round(down, 2))
        time.sleep(down)
        worker.env = self.env(self.worker_url(target), self.configs[target])
        worker.start()
        time.sleep(0.5)  # the new process syncs and starts claiming before the worker is a target again

    def fault_stop(self, target, worker, duration):
        at = now()
        os.kill(worker.pid, signal.SIGSTOP)
        worker.stopped = True
        held = self.held_runs(worker.pid)
        for run_id, token in held:
            self.held.append(("stop", at, run_id, token))
        self.record("stop", target, pid=worker.pid, seconds=round(duration, 2), held=len(held))
        time.sleep(duration)
        os.kill(worker.pid, signal.SIGCONT)
        worker.stopped = False
        time.sleep(0.5)

    def fault_cut(self, target, worker, duration):
        at = now()
        partition = duration > self.lease
        self.net.cut(target, reset=not partition)
        held = self.held_runs(worker.pid)
        if duration > self.lease:
            for run_id, token in held:
                self.held.append(("cut", at, run_id, token))
                self.stranded.append((run_id, token, worker, worker.incarnation))
        self.record("cut", target, pid=worker.pid, seconds=round(duration, 2), held=len(held), partition=partition,
                    reset=not partition and self.net.kind == "proxy")
        time.sleep(duration)
        self.net.heal(target)
        # Run alone: the next fault waits until the runs the cut stranded could resume.
        time.sleep(1.0)

    def fault_pg_restart(self, target, worker, duration):
        entry = self.record("pg_restart", None)
        self.cluster.restart_immediate()
        entry["seconds"] = round(self.cluster.restarts[-1][1], 2)
        time.sleep(1.0)

    def switch_bouncer(self, mode):
        """Restarts worker 3 behind PgBouncer in `mode` (the caller holds the worker's lock)."""
        target = WORKERS
        worker = self.workers[target]
        worker.terminate()
        if self.bouncer is None:
            host, port = self.net.worker_db_host(target)
            self.bouncer = PgBouncer(STATE, self.net.worker_prefix(target), BOUNCER_PORT, host, port, "chaos")
        self.bouncer.start(mode, os.path.join(LOGS, f"pgbouncer-{mode}.log"))
        self.bouncer_mode = mode
        worker.env = self.env(self.worker_url(target), self.configs[target])
        worker.tag = mode
        worker.start()
        # A worker waits at start for a database it cannot reach (--wait-for-database, 60 s) and
        # exits past that or on a rejected login: should it exit, do what its supervisor would.
        deadline, alive_since = now() + 15, now()
        while now() < deadline and now() - alive_since < 2:
            time.sleep(0.25)
            if not worker.alive():
                self.notes.append(f"worker{target} behind PgBouncer ({mode}) exited at start "
                                  f"(code {worker.popen.returncode}, the database was restarting): started again")
                worker.start()
                alive_since = now()
        self.record(f"bouncer_{mode}", target, pid=worker.pid)
        log(f"worker{target} now behind PgBouncer in {mode} mode")

    # --- settle ---------------------------------------------------------------------------

    def restore(self):
        """After the faults: every worker running, every link up (a fault in flight finishes first)."""
        for i, worker in self.workers.items():
            if self.worker_locks[i].acquire(timeout=30):
                self.worker_locks[i].release()
            if worker.stopped:
                os.kill(worker.pid, signal.SIGCONT)
                worker.stopped = False
            self.net.heal(i)
            if not worker.alive():
                worker.start()

    def settle(self):
        """Waits until every run created before now is terminal and the outbox is drained."""
        deadline = now() + self.profile["settle"]
        while True:
            open_runs, open_deliveries, cutoff = self.db.execute("""
                select (select count(*) from nightshift.runs where function_id like 'chaos/%%'
                          and status in ('queued', 'running') and created_at < now() - interval '3 seconds'),
                       (select count(*) from notify.deliveries where status in ('pending', 'delivering')),
                       now() - interval '3 seconds'""")[0]
            self.cutoff = cutoff  # runs created before it must be terminal
            if open_runs == 0 and open_deliveries == 0:
                return True
            if now() > deadline:
                self.notes.append(f"did not settle within {self.profile['settle']} s: {open_runs} runs, "
                                  f"{open_deliveries} deliveries still open")
                return False
            time.sleep(0.5)

    # --- figures --------------------------------------------------------------------------

    def resume_latencies(self, kind):
        out = []
        for k, at, run_id, token in self.held:
            if k != kind:
                continue
            row = self.db.execute("""
                select least((select min(a.started_at) from nightshift.ended_attempts a where a.run_id = %s and a.lease_token > %s),
                             (select r.claimed_at from nightshift.runs r where r.id = %s and r.lease_token > %s)),
                       (select status from nightshift.runs where id = %s),
                       (select count(*) from nightshift.ended_attempts a where a.run_id = %s and a.lease_token = %s and a.outcome = 'crashed')
                """, (run_id, token, run_id, token, run_id, run_id, token))[0]
            resumed_at, status, crashed = row
            if resumed_at is None:
                # Finished by the zombie itself (its lease never taken), or quarantined: no resumption.
                if status in ("completed", "failed", "cancelled") and not crashed:
                    continue
                out.append((at, run_id, None))
            else:
                out.append((at, run_id, resumed_at.timestamp() - at))
        return out

    def bouncer_evidence(self):
        """Per PgBouncer mode: runs the worker behind it claimed, and what it said about NOTIFY."""
        evidence = {}
        for incarnation, pid, mode in self.workers[WORKERS].history:
            if mode is None:
                continue
            claims = self.db.execute("""
                select (select count(*) from nightshift.ended_attempts where split_part(worker, ':', 2) = %s)
                     + (select count(*) from nightshift.runs where status = 'running' and split_part(lease_owner, ':', 2) = %s)""",
                                     (str(pid), str(pid)))[0][0]
            try:
                with open(os.path.join(LOGS, f"worker{WORKERS}-{incarnation}.log")) as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
            e = evidence.setdefault(mode, dict(claims=0, polling_warning=False, processes=0))
            e["claims"] += claims
            e["processes"] += 1
            e["polling_warning"] |= "NOTIFY does not reach this worker" in text
        return evidence

    # --- the run --------------------------------------------------------------------------

    def run(self):
        self.setup()
        self.bouncer_available = PgBouncer.available() and not self.args.no_bouncer
        if not self.bouncer_available:
            self.notes.append("pgbouncer is not installed (apt-get install pgbouncer): the PgBouncer phases did not run")
        plan = self.schedule()
        self.t0 = now()
        self.sampling_done = threading.Event()
        threads = [threading.Thread(target=self.load, daemon=True), threading.Thread(target=self.sample, daemon=True)]
        for t in threads:
            t.start()
        log(f"faults for {self.profile['window']} s: {len(plan)} scheduled")
        injector = threading.Thread(target=self.inject, args=(plan, self.t0), daemon=True)
        injector.start()
        if self.bouncer_available:
            bouncer = threading.Thread(target=self.bouncer_phases, args=(self.t0,), daemon=True)
            bouncer.start()
        injector.join(self.profile["window"] + 120)
        if self.bouncer_available:
            bouncer.join(60)
        self.stop_load.set()
        threads[0].join(150)
        window_end = now()
        log(f"faults stopped after {window_end - self.t0:.1f} s: {self.faults}")
        self.restore()
        settled = self.settle()
        settle_seconds = now() - window_end
        log(f"settled={settled} after {settle_seconds:.1f} s")
        self.sampling_done.set()
        threads[1].join(5)
        cutoff = self.cutoff
        return self.verdict(cutoff, settled, window_end - self.t0, settle_seconds)

    def verdict(self, cutoff, settled, window_seconds, settle_seconds):
        db = psycopg.connect(self.cluster.url, autocommit=True)
        results = [
            checks.cron_slots(db), checks.terminal(db, cutoff), checks.failures(db), checks.transactions(db),
            checks.step_executions(db), checks.concurrency(db, self.samples), checks.notification_cap(db, DAILY_CAP),
            checks.deliveries(db, self.receiver_log), checks.leases(db), checks.orphans(db), checks.fanout(db),
            checks.triggered(db, self.run_ids),
        ]
        latencies = {kind: self.resume_latencies(kind) for kind in ("kill", "stop", "cut")}
        results.append(checks.resume_within("kill -9: every run the worker held resumed", latencies["kill"], None))
        results.append(checks.resume_within("SIGSTOP past the lease: the zombie's runs resumed", latencies["stop"], None))
        results.append(checks.resume_within(
            f"partition: the cut worker's runs resumed on the others within lease + 1 s ({self.lease + 1} s)",
            latencies["cut"], self.lease + 1.0))
        zombie = self.zombie_evidence()
        results.append(self.partition_zombies())
        bouncer = self.bouncer_evidence() if self.bouncer_available else {}
        if "transaction" in bouncer:
            check = checks.Check("PgBouncer transaction mode: the worker noticed NOTIFY cannot reach it, and polled")
            check.checked = 1
            if not bouncer["transaction"]["polling_warning"]:
                check.violations.append("no 'NOTIFY does not reach this worker' warning in the log of the worker behind PgBouncer")
            if bouncer["transaction"]["claims"] == 0:
                check.violations.append("the worker behind PgBouncer (transaction mode) claimed no run")
            results.append(check)
        if "session" in bouncer:
            check = checks.Check("PgBouncer session mode: the worker behind it claimed runs")
            check.checked = 1
            if bouncer["session"]["claims"] == 0:
                check.violations.append("the worker behind PgBouncer (session mode) claimed no run")
            results.append(check)
        if not settled:
            results.append(checks.Check("settle: the system settled", 1, [self.notes[-1]]))

        figures = self.figures(db, latencies, window_seconds, settle_seconds, zombie, bouncer)
        db.close()
        if self.args.self_check:
            caught = checks.self_check(self.cluster.url, cutoff, self.samples, DAILY_CAP, self.receiver_log, self.run_ids)
            check = checks.Check("self-check: every check reports a violation planted in its data", len(caught))
            for name, what, found in caught:
                log(f"self-check: {name}: {what} -> {found} violation(s) reported")
                if found == 0:
                    check.violations.append(f"check {name} did not notice: {what}")
            results.append(check)
        return results, figures

    def partition_zombies(self):
        """After the heal, the cut-off worker learns its runs were taken over (NSL01 on its writes,
        or its heartbeat), logs it and drops each run."""
        check = checks.Check("partition: after the heal the zombie logged each lost run and dropped it")
        for run_id, token, worker, incarnation in self.stranded:
            taken = self.db.execute("""
                select exists (select from nightshift.ended_attempts a where a.run_id = %s and a.lease_token > %s)
                    or exists (select from nightshift.runs r where r.id = %s and r.lease_token > %s)""",
                                    (run_id, token, run_id, token))[0][0]
            if not taken:
                continue  # the zombie kept its lease (it healed before anyone claimed the run)
            check.checked += 1
            try:
                with open(os.path.join(LOGS, f"{worker.name}-{incarnation}.log")) as f:
                    lines = [line for line in f if str(run_id).lower() in line.lower()]
            except FileNotFoundError:
                lines = []
            if not any("lease" in line and ("lost" in line or "abandoned" in line) for line in lines):
                check.violations.append(f"run {run_id}: {worker.name} (incarnation {incarnation}) never logged that it lost the lease")
        try:
            with open(self.cluster.log) as f:
                refused = sum(1 for line in f if "ERROR:" in line and (" NSL01 " in line or "lease lost: run" in line))
        except FileNotFoundError:
            refused = 0
        check.note = f"{refused} writes refused with NSL01 in the database log"
        self.nsl01 = refused
        return check

    def zombie_evidence(self):
        """What the workers logged about fenced-off writes (NSL01) after stops and cuts."""
        counts = {"run abandoned": 0, "leases lost": 0, "lease lost before its failure was recorded": 0}
        for worker in self.workers.values():
            text = worker.logs()
            for phrase in counts:
                counts[phrase] += text.count(phrase)
        return counts

    def figures(self, db, latencies, window_seconds, settle_seconds, zombie, bouncer):
        runs = dict(db.execute("""
            select status, count(*) from nightshift.runs where function_id like 'chaos/%' group by 1""").fetchall())
        by_function = db.execute("""
            select function_id, count(*), count(*) filter (where status = 'completed'), count(*) filter (where status = 'failed')
            from nightshift.runs where function_id like 'chaos/%' group by 1 order by 1""").fetchall()
        steps, executions, effects, attempts, crashed = db.execute("""
            select (select count(*) from nightshift.steps s join nightshift.runs r on r.id = s.run_id where r.function_id like 'chaos/%'),
                   (select count(*) from chaos.step_executions), (select count(*) from chaos.tx_effects),
                   (select count(*) from nightshift.ended_attempts), (select count(*) from nightshift.ended_attempts where outcome = 'crashed')
            """).fetchone()
        notifications, suppressed, deliveries = db.execute("""
            select (select count(*) from notify.notifications), (select coalesce(sum(suppressed), 0) from notify.daily_counts),
                   (select count(*) from notify.deliveries)""").fetchone()

        def stats(values):
            values = sorted(v for _, _, v in values if v is not None)
            if not values:
                return None
            p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
            return dict(n=len(values), p50=round(statistics.median(values), 2), p99=round(p99, 2), max=round(values[-1], 2))

        return dict(
            seed=self.seed, profile=self.args.profile, network=self.net.kind, lease_seconds=self.lease,
            window_seconds=round(window_seconds, 1), settle_seconds=round(settle_seconds, 1),
            total_seconds=round(now() - self.started, 1), faults=self.faults,
            pg_restart_seconds=[round(s, 2) for _, s in self.cluster.restarts],
            runs=sum(runs.values()), runs_by_status=runs,
            runs_by_function={f: dict(runs=n, completed=c, failed=x) for f, n, c, x in by_function},
            steps=steps, step_executions=executions, transaction_rows=effects, attempts=attempts, crashed_attempts=crashed,
            notifications=notifications, suppressed=int(suppressed), deliveries=deliveries,
            samples=self.samples["count"], sample_errors=self.samples["errors"],
            kill_to_resume=stats(latencies["kill"]), stop_to_resume=stats(latencies["stop"]),
            partition_to_resume=stats(latencies["cut"]),
            zombie_log=zombie, nsl01_refused=getattr(self, "nsl01", None), pgbouncer=bouncer, notes=self.notes,
            machine=machine_line(self.cluster),
        )

    # --- clean-up -------------------------------------------------------------------------

    def cleanup(self):
        self.stop_load.set()
        for process in list(self.workers.values()) + [getattr(self, "serve", None)]:
            if process is not None:
                try:
                    process.terminate(timeout=10)
                except Exception:
                    pass
        if self.bouncer:
            self.bouncer.stop()
        receiver = getattr(self, "receiver", None)
        if receiver and receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        cluster = getattr(self, "cluster", None)
        if cluster:
            cluster.stop()
            if not self.args.keep:
                cluster.remove()
        if getattr(self, "net", None):
            self.net.teardown()
        net.remove_namespaces()


def kill_leftovers():
    """Processes a previous run left behind when it was killed itself (no clean-up ran): ours are
    recognised exactly, by the suite's own copy of the binary and its own pid files."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if exe == BIN or exe == BIN + " (deleted)":
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for name, marker in (("receiver.pid", "receiver.py"), ("pgbouncer/pgbouncer.pid", "pgbouncer")):
        path = os.path.join(STATE, name)
        try:
            pid = int(open(path).read().split()[0])
            if marker in open(f"/proc/{pid}/cmdline").read():
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def machine_line(cluster):
    try:
        server = "postgresql://postgres@" + cluster.sock.replace("/", "%2F") + f":{cluster.port}"
        out = subprocess.run(["bash", "-c", f"source {ROOT}/bench/support/machine.sh && machine"], capture_output=True,
                             text=True, timeout=20, env=dict(os.environ, SERVER=server)).stdout.strip()
        return "; ".join(line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line)
    except Exception:
        return f"{platform.node()} {os.cpu_count()} cores, loadavg {os.getloadavg()}"


def report(suite, results, figures):
    violations = sum(len(r.violations) for r in results)
    figures["violations"] = violations
    lines = [f"# Chaos suite, {suite.stamp} ({figures['profile']})", "",
             f"`{' '.join(sys.argv)}` — seed {figures['seed']}, network: {figures['network']}, lease {figures['lease_seconds']} s; "
             f"{figures['machine']}", ""]
    lines += ["| check | checked | violations |", "| --- | ---: | ---: |"]
    for r in results:
        note = f" ({r.note})" if getattr(r, "note", None) else ""
        lines.append(f"| {r.name}{note} | {r.checked} | {len(r.violations)} |")
    lines += ["", "| figure | value |", "| --- | --- |"]
    f = figures
    faults = ", ".join(f"{k} {v}" for k, v in f["faults"].items())
    lines += [
        f"| faults | {faults} |",
        f"| runs | {f['runs']} ({', '.join(f'{k} {v}' for k, v in sorted(f['runs_by_status'].items()))}) |",
        f"| steps (checkpoints) / step.run executions / transaction rows | {f['steps']} / {f['step_executions']} / {f['transaction_rows']} |",
        f"| attempts / crashed attempts | {f['attempts']} / {f['crashed_attempts']} |",
        f"| notifications sent / suppressed by the cap / deliveries | {f['notifications']} / {f['suppressed']} / {f['deliveries']} |",
        f"| concurrency samples (100 ms) | {f['samples']} ({f['sample_errors']} failed during restarts) |",
    ]
    for key, label in (("kill_to_resume", "kill -9 → resumed run"), ("stop_to_resume", "SIGSTOP → resumed run"),
                       ("partition_to_resume", "partition → resumed run")):
        s = f[key]
        lines.append(f"| {label} (p50 / p99 / max, s) | " + (f"{s['p50']} / {s['p99']} / {s['max']} (n={s['n']})" if s else "—") + " |")
    lines.append(f"| PostgreSQL crash-restart, seconds each | {f['pg_restart_seconds']} |")
    lines.append(f"| zombie log lines (run abandoned / leases lost) / writes refused with NSL01 | "
                 f"{f['zombie_log']['run abandoned']} / {f['zombie_log']['leases lost']} / {f['nsl01_refused']} |")
    for mode, e in f["pgbouncer"].items():
        lines.append(f"| PgBouncer {mode} mode: runs claimed / polling warning | {e['claims']} / {e['polling_warning']} |")
    lines.append(f"| faults window / settle / total, s | {f['window_seconds']} / {f['settle_seconds']} / {f['total_seconds']} |")
    lines.append(f"| **violations** | **{violations}** |")
    lines.append("")
    lines.append("Runs per function: " + ", ".join(
        f"{k} {v['runs']} ({v['completed']} completed, {v['failed']} failed)" for k, v in f["runs_by_function"].items()))
    if f["notes"]:
        lines += ["", "Notes:"] + [f"- {n}" for n in f["notes"]]
    bad = [r for r in results if r.violations]
    if bad:
        lines += ["", "## Violations", ""]
        for r in bad:
            lines.append(f"**{r.name}**")
            lines += [f"- {v}" for v in r.violations[:20]]
            lines.append("")
    text = "\n".join(lines) + "\n"
    results_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(results_dir, exist_ok=True)
    base = os.path.join(results_dir, f"chaos-{suite.stamp}")
    with open(base + ".md", "w") as out:
        out.write(text)
    with open(base + ".jsonl", "w") as out:
        out.write(json.dumps(dict(kind="summary", stamp=suite.stamp, **figures), default=str) + "\n")
        for r in results:
            out.write(json.dumps(dict(kind="check", name=r.name, checked=r.checked, violations=r.violations,
                                      note=getattr(r, "note", None)), default=str) + "\n")
        for entry in suite.fault_log:
            out.write(json.dumps(dict(entry, fault=entry["kind"], kind="fault"), default=str) + "\n")
    print(text)
    print(f"results: {base}.md, {base}.jsonl; logs: {LOGS}")
    return violations


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--seed", type=int, help="replays a run's schedule of faults (printed at the start)")
    parser.add_argument("--lease", type=int, default=2, help="workers' lease in seconds")
    parser.add_argument("--window", type=int, help="override the profile's fault window, seconds")
    parser.add_argument("--net", choices=["auto", "namespaces", "proxy"], default="auto")
    parser.add_argument("--no-bouncer", action="store_true", help="skip the PgBouncer phases")
    parser.add_argument("--self-check", action="store_true",
                        help="afterwards, plant one violation per check (rolled back) and expect each check to report it")
    parser.add_argument("--extra-migration", action="append", metavar="FILE",
                        help="also apply this migration file (a branch's, not yet in sql/migrations)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's data directory")
    parser.add_argument("--build", action="store_true", help="build nightshift first even if present")
    args = parser.parse_args()
    suite = Suite(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    try:
        results, figures = suite.run()
        violations = report(suite, results, figures)
    except BaseException as error:
        log(f"the suite stopped: {error!r} (seed {suite.seed}); logs in {LOGS}")
        suite.cleanup()
        raise
    suite.cleanup()
    log(f"{'FAILED' if violations else 'passed'}: {violations} violation(s), seed {suite.seed}")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
