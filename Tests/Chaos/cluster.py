"""The suite's own PostgreSQL 15 cluster (never the shared development one: the suite restarts
it with `pg_ctl restart -m immediate`), and PgBouncer in front of one worker."""
import os
import pwd
import shutil
import subprocess
import time

import psycopg

PGBIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def as_owner(cmd):
    """initdb and pg_ctl refuse root: run them as the postgres OS user, as local-db.sh does."""
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


def chown_to_owner(path):
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


class Cluster:
    def __init__(self, state, port, prefix, listen_addresses, database="chaos"):
        self.state = state
        self.data = os.path.join(state, "data")
        self.sock = os.path.join(state, "run")
        self.log = os.path.join(state, "logs", "postgres.log")
        self.port = port
        self.prefix = prefix  # the namespace the postmaster lives in
        self.listen_addresses = listen_addresses
        self.database = database
        self.restarts = []  # (started, seconds until it accepted connections again)

    @property
    def url(self):
        """The harness's and serve's way in: the socket, which no network cut reaches."""
        return f"postgresql://postgres@/{self.database}?host={self.sock}&port={self.port}"

    def admin_url(self, database="postgres"):
        return f"postgresql://postgres@/{database}?host={self.sock}&port={self.port}"

    def pg_ctl(self, *args, check=True):
        cmd = self.prefix + as_owner([f"{PGBIN}/pg_ctl", "-D", self.data] + list(args))
        return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop_stale(self):
        """A cluster a crashed earlier run left behind: stopped (it is ours, by its data dir)."""
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(as_owner([f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def create(self):
        self.stop_stale()
        shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.sock, exist_ok=True)
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        for path in (self.state, self.sock, os.path.dirname(self.log)):
            chown_to_owner(path)
        subprocess.run(as_owner([f"{PGBIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                                 "--encoding=UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        preload = "pg_cron" if os.path.exists("/usr/lib/postgresql/15/lib/pg_cron.so") else ""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
# --- nightshift chaos suite ---
listen_addresses = '{self.listen_addresses}'
unix_socket_directories = '{self.sock}'
port = {self.port}
max_connections = 300
shared_buffers = 128MB
fsync = on
shared_preload_libraries = '{preload}'
cron.database_name = '{self.database}'
timezone = 'UTC'
datestyle = 'ISO, MDY'
log_min_messages = warning
log_line_prefix = '%m [%p] %a %e '
""")
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as hba:
            hba.write("host all all 10.213.0.0/16 trust\n")

    def start(self):
        self.pg_ctl("-l", self.log, "-w", "-t", "60", "start")
        with psycopg.connect(self.admin_url(), autocommit=True) as db:
            db.execute(f"create database {self.database}")

    def restart_immediate(self):
        """Crash-restart: no shutdown checkpoint, every connection cut, crash recovery on start."""
        started = time.time()
        self.pg_ctl("-l", self.log, "-m", "immediate", "-w", "-t", "60", "restart")
        self.restarts.append((started, time.time() - started))

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.pg_ctl("-m", "immediate", "-w", "stop", check=False)

    def remove(self):
        shutil.rmtree(self.data, ignore_errors=True)


class PgBouncer:
    """PgBouncer (Debian's) in front of one worker, in session or transaction mode."""

    def __init__(self, state, prefix, listen_port, upstream_host, upstream_port, database):
        self.dir = os.path.join(state, "pgbouncer")
        self.prefix = prefix
        self.listen_port = listen_port
        self.upstream = (upstream_host, upstream_port)
        self.database = database
        self.process = None

    @staticmethod
    def available():
        return shutil.which("pgbouncer") is not None

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.listen_port}/{self.database}"

    def start(self, mode, log_path):
        self.stop()
        os.makedirs(self.dir, exist_ok=True)
        chown_to_owner(self.dir)
        ini = os.path.join(self.dir, "pgbouncer.ini")
        users = os.path.join(self.dir, "userlist.txt")
        with open(users, "w") as f:
            f.write('"postgres" ""\n')
        with open(ini, "w") as f:
            f.write(f"""[databases]
{self.database} = host={self.upstream[0]} port={self.upstream[1]} dbname={self.database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = {mode}
max_client_conn = 200
default_pool_size = 40
server_connect_timeout = 5
server_login_retry = 1
query_wait_timeout = 30
; libpq's options (DateStyle, TimeZone, extra_float_digits) cannot pass a pooler: the suite's
; cluster has the same settings as its defaults.
ignore_startup_parameters = extra_float_digits,options
logfile = {log_path}
pidfile = {os.path.join(self.dir, "pgbouncer.pid")}
""")
        for path in (ini, users):
            chown_to_owner(path)
        if os.geteuid() == 0 and not os.path.exists(log_path):
            open(log_path, "a").close()
            chown_to_owner(log_path)
        # -u: pgbouncer drops root itself, so the process started is pgbouncer (no runuser between).
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(self.prefix + ["pgbouncer"] + user + [ini],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(f"pgbouncer did not start (log: {log_path})")
        self.mode = mode

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
