"""Where the suite's processes live and how a worker is cut off from the database.

Two implementations with one interface:
- Namespaces: four network namespaces (three worker "hosts", one database "host" that also runs
  `nightshift serve` and the webhook receiver), a veth link from each worker host to the
  database host, addresses in 10.213.<host>.0/24 inside the suite's own namespaces only. A cut
  takes the database end of one link down: the worker's packets vanish (a blackhole, not a
  reset), and TCP delivers what it held back once the link is up again.
- Proxy (where namespaces cannot be created): everything on loopback; each worker reaches the
  database through a TCP proxy of the suite's own that, when cut, stops forwarding (holding the
  bytes, which flow on after the heal, as TCP's retransmissions would) or resets every connection.
"""
import os
import socket
import subprocess
import threading

SUBNET = "10.213"
NS_DB = "nsc-db"


def worker_ns(index):
    return f"nsc-w{index}"


def run(cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def namespaces_available():
    """Whether this process may create network namespaces (root with CAP_SYS_ADMIN, iproute2)."""
    probe = "nsc-probe"
    try:
        run(["ip", "netns", "del", probe], check=False)
        if run(["ip", "netns", "add", probe], check=False).returncode != 0:
            return False
        run(["ip", "netns", "del", probe], check=False)
        return True
    except FileNotFoundError:
        return False


def our_namespaces():
    try:
        out = run(["ip", "netns", "list"], check=False).stdout
    except FileNotFoundError:
        return []
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith("nsc-")]


def remove_namespaces():
    """Kills whatever still runs inside the suite's namespaces, then deletes them (and their veths)."""
    for ns in our_namespaces():
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", ns], check=False)


class Namespaces:
    kind = "namespaces"

    def __init__(self, workers, db_port, receiver_port):
        self.workers = workers
        self.db_port = db_port
        self.receiver_port = receiver_port

    def setup(self):
        remove_namespaces()
        run(["ip", "netns", "add", NS_DB])
        run(["ip", "-n", NS_DB, "link", "set", "lo", "up"])
        for i in range(1, self.workers + 1):
            ns = worker_ns(i)
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            # Both ends are created inside their namespaces: the root namespace never sees them.
            run(["ip", "link", "add", f"nscd{i}", "netns", NS_DB, "type", "veth", "peer", "name", f"nscw{i}", "netns", ns])
            run(["ip", "-n", NS_DB, "addr", "add", f"{SUBNET}.{i}.1/24", "dev", f"nscd{i}"])
            run(["ip", "-n", ns, "addr", "add", f"{SUBNET}.{i}.2/24", "dev", f"nscw{i}"])
            run(["ip", "-n", NS_DB, "link", "set", f"nscd{i}", "up"])
            run(["ip", "-n", ns, "link", "set", f"nscw{i}", "up"])

    def teardown(self):
        remove_namespaces()

    def listen_addresses(self):
        return ",".join(["127.0.0.1"] + [f"{SUBNET}.{i}.1" for i in range(1, self.workers + 1)])

    def db_prefix(self):
        return ["ip", "netns", "exec", NS_DB]

    def worker_prefix(self, index):
        return ["ip", "netns", "exec", worker_ns(index)]

    def worker_db_host(self, index):
        return f"{SUBNET}.{index}.1", self.db_port

    def worker_webhook(self, index):
        return f"http://{SUBNET}.{index}.1:{self.receiver_port}/hook"

    def serve_webhook(self):
        return f"http://127.0.0.1:{self.receiver_port}/hook"

    def cut(self, index, reset=False):
        # A link down is a blackhole either way; TCP resets need a peer that answers.
        run(["ip", "-n", NS_DB, "link", "set", f"nscd{index}", "down"])

    def heal(self, index):
        run(["ip", "-n", NS_DB, "link", "set", f"nscd{index}", "up"])
        # The connected route comes back with the link; wait until it has (a few ms).
        for _ in range(50):
            out = run(["ip", "-n", NS_DB, "route", "show", "dev", f"nscd{index}"], check=False).stdout
            if out.strip():
                return
            threading.Event().wait(0.02)


class _Proxy:
    """One worker's path to the database: forwards TCP, or holds everything while cut."""

    def __init__(self, listen_port, upstream):
        self.upstream = upstream
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", listen_port))
        self.listener.listen(128)
        self.open = threading.Event()
        self.open.set()
        self.closed = False
        self.sockets = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        self.open.wait()
        try:
            server = socket.create_connection(self.upstream, timeout=10)
            server.settimeout(None)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets.update([client, server])
        threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                # Cut: the bytes are held, as a partitioned network holds them in retransmission.
                self.open.wait()
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.lock:
            self.sockets.discard(source)
            self.sockets.discard(target)

    def reset(self):
        """Every connection of this worker torn down at once (a middlebox or NAT that forgot them)."""
        with self.lock:
            sockets = list(self.sockets)
        for s in sockets:
            try:
                # Linger 0, so the close the pump does next sends a reset; the shutdown wakes the
                # pump blocked in recv (a close from this thread would not).
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.open.set()
        self.listener.close()
        with self.lock:
            for s in list(self.sockets):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Proxies:
    kind = "proxy"

    def __init__(self, workers, db_port, receiver_port, first_proxy_port):
        self.workers = workers
        self.db_port = db_port
        self.receiver_port = receiver_port
        self.first_proxy_port = first_proxy_port
        self.proxies = {}

    def setup(self):
        for i in range(1, self.workers + 1):
            self.proxies[i] = _Proxy(self.first_proxy_port + i, ("127.0.0.1", self.db_port))

    def teardown(self):
        for proxy in self.proxies.values():
            proxy.close()

    def listen_addresses(self):
        return "127.0.0.1"

    def db_prefix(self):
        return []

    def worker_prefix(self, index):
        return []

    def worker_db_host(self, index):
        return "127.0.0.1", self.first_proxy_port + index

    def worker_webhook(self, index):
        return f"http://127.0.0.1:{self.receiver_port}/hook"

    def serve_webhook(self):
        return self.worker_webhook(0)

    def cut(self, index, reset=False):
        """Blackholes the worker's path (bytes held until the heal); with reset, also tears down its
        connections, so the worker sees errors at once rather than silence."""
        self.proxies[index].open.clear()
        if reset:
            self.proxies[index].reset()

    def heal(self, index):
        self.proxies[index].open.set()
