#!/usr/bin/env python3
"""Nightshift's HTTP fuzzer (`make fuzz`, `make fuzz-short`; issue 12 §5).

Property-based (Hypothesis) over loopback: every route of the README's "HTTP API" table and
every edge function of functions/Catalog.swift gets generated requests -- arbitrary JSON
bodies, bodies built from the route's own field names with values of every JSON type, raw
non-JSON bytes, oversized and deeply nested bodies, query strings and path ids -- each sent
with a token drawn from a set (none, anon, two users, a super admin, the service role, and
invalid ones). Every response must satisfy:

  no-5xx     the status is below 500, or 503 with Retry-After
  envelope   the body is {"data": ..., "error": ...} (error null on success, {code, message}
             with data null on failure; a success of an edge function with fieldsAtTopLevel also
             has data's own fields beside, equal to them); GET /metrics' 200 is Prometheus text
  no-hang    the answer arrives within --timeout seconds (5)
  no-write   a refused request (status >= 400) changes no row: every table of the engine's
             and the packs' schemas is hashed (as the owner) before and after each request
             (requests run one at a time and no worker runs, so the comparison is exact)
  authz      only the token kinds the route admits get a 2xx (an invalid token, an anon key
             with app_metadata.role = super_admin, a service key in apikey behind a user's
             bearer... never do)
  alive      the server never dies

Setup: a throwaway database fuzz_<pid> on the running cluster (DATABASE_URL's server; the
owner's login), migrated with `nightshift migrate`, seeded (portfolio, coverage, dossiers,
notifications); `nightshift serve --no-worker` on a free port logging in as nightshift_app,
with supabase-like-config/config.toml, whose [auth] jwt_secret signs the tokens minted here.
The server, the database and the copy of the binary are removed afterwards, always.

Each route runs rounds of --examples cases, its regression corpus first (requests that once
broke a property, regression_cases below): a round that finds a new problem ends with
Hypothesis' minimal example of it; later rounds, and other routes, count that problem without
shrinking it again, so every problem gets one minimal example and every route ends with a full
round of cases. The write rate limit is turned off in a copy of the config (else most write
cases end as 429); --keep-rate-limit serves the file as it is. Prints a summary and writes
bench/results/fuzz-<UTC stamp>.md; server logs stay in .nightshift/fuzz/. Exits 1 on any
failure, 2 on a setup error. Replay a run's draws with --seed N (printed first).
"""
import argparse
import base64
import collections
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import uuid
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis import strategies as st

# Hypothesis describes a strategy when it reports; ours are large trees, and it says so.
warnings.filterwarnings("ignore", message="Generating overly large repr")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIG = os.path.join(ROOT, "supabase-like-config", "config.toml")
README = os.path.join(ROOT, "README.md")
# Where the served edge functions are listed: the project's own, and each pack's.
CATALOGS = [os.path.join(ROOT, "functions", "Catalog.swift")] + sorted(
    os.path.join(ROOT, "Sources", "Packs", pack, f"{pack}Pack.swift")
    for pack in os.listdir(os.path.join(ROOT, "Sources", "Packs"))
    if "static let edgeFunctions" in open(os.path.join(ROOT, "Sources", "Packs", pack, f"{pack}Pack.swift"), encoding="utf-8").read())
SOURCE_DIRS = [os.path.join(ROOT, "functions"), os.path.join(ROOT, "Sources", "Packs")]
PORTFOLIO_SEED = os.path.join(ROOT, "sql", "seed", "portfolio_seed.sql")
RESULTS = os.path.join(ROOT, "bench", "results")
LOGS = os.path.join(ROOT, ".nightshift", "fuzz")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:54329/nightshift"

PROFILES = {"short": 60, "medium": 150, "long": 500}
MAX_ROUNDS = 6
# Schemas whose tables the no-write property hashes: everything the routes can reach.
WATCHED_SCHEMAS = ("nightshift", "notify", "dossier", "coverage", "portfolio", "cache")
# Static, large, and not writable by any request: left out of the hash.
UNWATCHED = {"nightshift.time_zones"}


def log(message):
    print(f"[fuzz {datetime.now(timezone.utc).strftime('%H:%M:%S')}] {message}", flush=True)


class SetupError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# What to fuzz: the README's table and the edge-function catalog, both checked against the
# routes below at start-up.

# The fields each edge function reads (functions/<name>/*.swift, Input). A function missing
# here stops the fuzzer: a new function cannot be forgotten.
EDGE_FIELDS = {
    "hello": ["name"],
    "dossier-stats": ["dossierId", "dossierIds"],
    "calculate-health-score": ["dossierId", "forceRecalculation"],
    "detect-overdue-commitments": ["dryRun"],
    "refresh-commitment-stats": [],
    "trigger-health-recalculation": ["dossierIds"],
    "notifications": ["unreadOnly", "limit"],
    "mark-notification-read": ["notificationId"],
}

# Every other row of the README's "HTTP API" table: (method, path as the README writes it).
API_ROUTES = {
    "GET /health": dict(kind="health", fields=[]),
    "POST /api/v1/functions/<id>/runs": dict(kind="trigger", fields=["payload", "idempotency_key"]),
    "POST /api/v1/events": dict(kind="events", fields=["name", "data", "idempotency_key"]),
    "GET /api/v1/runs": dict(kind="runs", fields=[]),
    "GET /api/v1/runs/<id>": dict(kind="run", fields=[]),
    "POST /api/v1/runs/<id>/cancel": dict(kind="run_action", fields=[]),
    "POST /api/v1/runs/<id>/rerun": dict(kind="run_action", fields=[]),
    "GET /api/v1/functions": dict(kind="functions", fields=[]),
    "PATCH /api/v1/functions/<id>": dict(kind="function_enable", fields=["enabled"]),
    "GET /api/v1/schedules": dict(kind="schedules", fields=[]),
    "GET /api/v1/events": dict(kind="events_list", fields=[]),
    "POST /api/v1/events/<id>/replay": dict(kind="replay", fields=[]),
    "GET /api/v1/deliveries": dict(kind="deliveries", fields=[]),
    "GET /api/v1/stream": dict(kind="stream", fields=[]),
    "POST /api/v1/deliveries/<id>/retry": dict(kind="retry", fields=[]),
    "GET /metrics": dict(kind="metrics", fields=[]),
    "GET /api/v1/openapi.json": dict(kind="openapi", fields=[]),
    "POST /api/v1/admin/coverage/recompute": dict(kind="recompute", fields=["institution_id"]),
    "GET /api/dashboard": dict(kind="dashboard", fields=[]),
    "GET /api/v1/audit/assets/<id>/calculations": dict(kind="audit", fields=["limit", "before"]),
    "POST /api/v1/criteria": dict(kind="criteria", fields=["criteria"]),
}
EDGE_ROW = "POST /functions/v1/<name>"
# GET /api/v1/runs's query parameters (the fuzzer draws values for each).
RUNS_QUERY = ["function", "status", "trigger", "since", "until", "limit", "before", "id", "correlation_id"]
# Fields a well-typed body of the route always carries (its handler refuses a body without them).
REQUIRED = {
    "POST /functions/v1/calculate-health-score": {"dossierId"},
    "POST /functions/v1/mark-notification-read": {"notificationId"},
    "POST /api/v1/events": {"name"},
    "POST /api/v1/admin/coverage/recompute": {"institution_id"},
    "POST /api/v1/criteria": {"criteria"},
    "PATCH /api/v1/functions/<id>": {"enabled"},
}


def readme_routes():
    """The endpoints of the README's "HTTP API" table, as "METHOD /path"."""
    text = open(README, encoding="utf-8").read()
    section = re.search(r"^## HTTP API\n(.*?)(?=^## )", text, re.S | re.M)
    if not section:
        raise SetupError("README.md has no \"## HTTP API\" section")
    routes = re.findall(r"^\|\s*`((?:GET|POST|PUT|PATCH|DELETE) /[^`]*)`", section.group(1), re.M)
    if not routes:
        raise SetupError("README.md's \"HTTP API\" table lists no endpoint")
    return routes


def catalog_functions():
    """{name: {"roles": [...] or None}} for every edge function the binary serves: those
    functions/Catalog.swift lists and those each pack lists (`static let edgeFunctions`)."""
    types = []
    for catalog in CATALOGS:
        text = open(catalog, encoding="utf-8").read()
        body = re.search(r"static\s+let\s+(?:all|edgeFunctions)\b[^=]*=\s*\[(.*?)\]", text, re.S)
        if not body:
            raise SetupError(f"{catalog}: no `static let all = [...]` or `static let edgeFunctions = [...]`")
        types += [(catalog, name) for name in re.findall(r"\b([A-Z][A-Za-z0-9_]*)\s*\(", body.group(1))]
    sources = {}
    for root in SOURCE_DIRS:
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith(".swift"):
                    sources[os.path.join(folder, name)] = open(os.path.join(folder, name), encoding="utf-8").read()
    found = {}
    for catalog, type_name in types:
        for path, source in sources.items():
            decl = re.search(r"struct\s+" + type_name + r"\s*:[^{]*\bEdgeFunction\b[^{]*\{", source)
            if not decl:
                continue
            rest = source[decl.end():]
            name = re.search(r"let\s+name\s*(?::\s*String\s*)?=\s*\"([^\"]+)\"", rest)
            if not name:
                raise SetupError(f"{path}: {type_name} has no `let name = \"...\"`")
            roles = re.search(r"allowedRoles[^{]*\{\s*(?:return\s+)?\[([^\]]*)\]", rest)
            found[name.group(1)] = {
                "type": type_name,
                "roles": None if not roles else re.findall(r"\.(\w+)", roles.group(1)),
            }
            break
        else:
            raise SetupError(f"{catalog} lists {type_name}(), but no `struct {type_name}: EdgeFunction` is under functions/ or Sources/Packs/")
    return found


def check_coverage():
    """Fails unless every README endpoint and every catalog function has a route here."""
    functions = catalog_functions()
    problems = []
    for name in functions:
        if name not in EDGE_FIELDS:
            problems.append(f"edge function \"{name}\" (functions/Catalog.swift or a pack) is not fuzzed: add its fields to EDGE_FIELDS in Tests/Fuzz/fuzz.py")
    for name in EDGE_FIELDS:
        if name not in functions:
            problems.append(f"EDGE_FIELDS names \"{name}\", which neither functions/Catalog.swift nor a pack lists")
    listed = readme_routes()
    for route in listed:
        if route != EDGE_ROW and route not in API_ROUTES:
            problems.append(f"README's HTTP API table lists `{route}`, which Tests/Fuzz/fuzz.py does not fuzz: add it to API_ROUTES")
    for route in list(API_ROUTES) + [EDGE_ROW]:
        if route not in listed:
            problems.append(f"Tests/Fuzz/fuzz.py fuzzes `{route}`, which README's HTTP API table does not list")
    if problems:
        raise SetupError("route coverage:\n  " + "\n  ".join(problems))
    return functions, listed


# ---------------------------------------------------------------------------------------------
# Tokens: HS256 JWTs minted with the project's secret (stdlib only).

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, secret, alg="HS256", header=None):
    head = header or {"alg": alg, "typ": "JWT"}
    signing_input = b64url(json.dumps(head, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(signature)


# Token kinds a valid token can have, and the invalid ones (never a 2xx but on /health).
VALID_KINDS = ["anon", "user_a", "user_b", "super_admin", "operator", "service", "user_nonuuid", "anon_super", "service_super"]
INVALID_KINDS = ["garbage", "wrong_secret", "expired", "alg_none", "hs384", "role_postgres",
                 "no_sub", "future_nbf", "no_exp_user", "malformed_header"]
TOKEN_KINDS = ["none"] + VALID_KINDS + INVALID_KINDS
USER_KINDS = {"user_a", "user_b", "super_admin", "operator"}  # authenticated, a UUID sub
AUTHENTICATED_KINDS = USER_KINDS | {"user_nonuuid"}
ROLE_KINDS = {"anon": {"anon", "anon_super"}, "authenticated": AUTHENTICATED_KINDS,
              "serviceRole": {"service", "service_super"}}


def mint_tokens(auth, project_id, users):
    secret = auth["jwt_secret"]
    now = int(time.time())
    user_extra = {}
    if auth.get("issuer"):
        user_extra["iss"] = auth["issuer"]
    if auth.get("audience"):
        user_extra["aud"] = auth["audience"]

    def user(sub, **more):
        return {"role": "authenticated", "sub": sub, "iat": now - 5, "exp": now + 6 * 3600,
                "aud": "authenticated", "iss": project_id, **user_extra, **more}

    def key(role, **more):
        return {"role": role, "iss": project_id, "iat": now - 5, "exp": now + 6 * 3600, **more}

    super_admin = {"role": "super_admin"}
    tokens = {
        "anon": jwt(key("anon"), secret),
        "user_a": jwt(user(users["a"]), secret),
        "user_b": jwt(user(users["b"]), secret),
        "super_admin": jwt(user(users["admin"], app_metadata=super_admin), secret),
        "operator": jwt(user(users["operator"], app_metadata={"role": "operator"}), secret),
        "service": jwt(key("service_role"), secret),
        "user_nonuuid": jwt(user("fuzz-user-not-a-uuid"), secret),
        "anon_super": jwt(key("anon", app_metadata=super_admin), secret),
        "service_super": jwt(key("service_role", app_metadata=super_admin), secret),
        "garbage": "not-a-jwt",
        "wrong_secret": jwt(key("service_role"), secret + "-wrong"),
        "expired": jwt(user(users["a"], iat=now - 7200, exp=now - 3600), secret),
        "alg_none": jwt(key("service_role"), secret, alg="none"),
        "hs384": jwt(key("service_role"), secret, alg="HS384"),
        "role_postgres": jwt(key("postgres"), secret),
        "no_sub": jwt({"role": "authenticated", "iat": now - 5, "exp": now + 3600, **user_extra}, secret),
        "future_nbf": jwt(user(users["a"], nbf=now + 3600), secret),
        "no_exp_user": jwt({k: v for k, v in user(users["a"]).items() if k != "exp"}, secret),
        "malformed_header": b64url(b"{not json") + "." + b64url(b"{}") + "." + b64url(b"x"),
    }
    return tokens


# ---------------------------------------------------------------------------------------------
# Requests and their outcome.

@dataclass
class Req:
    method: str
    path: str                     # already percent-encoded
    query: str = ""               # already encoded, without "?"
    token_kind: str = "none"
    header_style: str = "bearer"  # bearer | apikey | bearer-lower | both | malformed
    content_type: str = None
    body: bytes = None

    @property
    def target(self):
        # Whatever the strategies left unencoded (spaces, controls, non-ASCII) is percent-encoded
        # here: http.client refuses to send it raw, and so would any real client.
        return _escape_url(self.path + ("?" + self.query if self.query else ""))

    def describe(self):
        body = "(no body)" if self.body is None else describe_bytes(self.body)
        target = self.target if len(self.target) <= 300 else \
            f"{self.target[:200]}…{self.target[-60:]} ({len(self.target)} characters)"
        return (f"{self.method} {target}  token={self.token_kind} via {self.header_style}"
                f"  content-type={self.content_type!r}  body={body}")

    def __repr__(self):
        return "Req(" + self.describe() + ")"


def _escape_url(text):
    return re.sub(r'[\x00-\x20\x7f-\U0010ffff"<>\\^`{|}]',
                  lambda m: quote(m.group(0).encode("utf-8", "surrogatepass"), safe=""), text)


def describe_bytes(data, limit=240):
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit // 2]!r}…{data[-40:]!r} ({len(data)} bytes)"


@dataclass
class Outcome:
    status: int = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    error: str = None             # "timeout", "connection: ..."


@dataclass
class Failure:
    prop: str                     # no-5xx, envelope, no-hang, no-write, authz, alive
    signature: str
    detail: str
    request: Req
    cause: str = ""

    @property
    def problem(self):
        """The signature without the route: the same problem on several routes is one bug."""
        return self.signature.split(" | ", 1)[1]


class FuzzFailure(AssertionError):
    """Raised by the property; one subclass per signature so Hypothesis shrinks each apart."""
    failure = None


_failure_types = {}


def failure_type(signature):
    if signature not in _failure_types:
        name = "Failure_" + hashlib.sha1(signature.encode()).hexdigest()[:10]
        _failure_types[signature] = type(name, (FuzzFailure,), {})
    return _failure_types[signature]


# ---------------------------------------------------------------------------------------------
# Strategies.

TRICKY_STRINGS = [
    "", " ", "\u0000", "a\u0000b", "\ud800", "\udfff", "\ufeff", "\u202e", "null", "true", "0", "-1",
    "1e309", "NaN", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "' or 1=1 --", "\"; drop table nightshift.runs; --", "%s%n", "${jndi:ldap://x}", "../../etc/passwd",
    "\r\n", "\\", "{}", "[]", "😀" * 3, "ﷺ" * 10, "Ａ", "\u0085", "\x7f", "a" * 201, "é" * 300,
]
UUID_VARIANTS = [
    lambda u: str(u), lambda u: str(u).upper(), lambda u: "{" + str(u) + "}", lambda u: u.hex,
    lambda u: str(u)[:-1], lambda u: str(u) + "0", lambda u: " " + str(u), lambda u: "urn:uuid:" + str(u),
    lambda u: str(u).replace("-", "_"),
]
BIG_INTS = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63, -2 ** 63,
            -2 ** 63 - 1, 2 ** 64, 10 ** 30, -(10 ** 40), 10 ** 400]
NUMBER_LITERALS = ["1e400", "-1e400", "1e-400", "-0", "0.0", "1E2", "1.5e3", "00", "01", "1.", "+1", ".5",
                   "0x10", "NaN", "Infinity", "-Infinity", "1e", "--1", "1_000", "9" * 400]
METRICS = ["dividend_yield", "pe_ratio", "roe", "debt_to_equity"]
OPERATORS = [">", ">=", "<", "<=", "=", "between"]
METHODS_OTHER = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
CONTENT_TYPES = ["application/json"] * 4 + [None, "text/plain", "application/x-www-form-urlencoded",
                                             "application/json; charset=utf-16", "multipart/form-data; boundary=x"]
HEADER_STYLES = ["bearer"] * 4 + ["apikey"] * 2 + ["bearer-lower", "both", "malformed"]


POISON = ["\u0000", "\u0000", "\u0000", "\ud800", "\udfff", "\ufffe", "\uffff", "\U0010ffff", "\x1b", "\u2028"]


def text_values():
    # About a quarter of the strings carry a character PostgreSQL or JSON handles specially.
    poisoned = st.tuples(st.text(max_size=8), st.sampled_from(POISON), st.text(max_size=8)).map("".join)
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(exclude_categories=()), max_size=12),          # controls, NUL, lone surrogates
        st.sampled_from(TRICKY_STRINGS),
        poisoned,
        poisoned,
        st.uuids().map(str),
        st.tuples(st.uuids(), st.sampled_from(UUID_VARIANTS)).map(lambda t: t[1](t[0])),
        st.integers(0, 20000).map(lambda n: "x" * n),
        st.tuples(st.integers(1000, 12000), st.integers(0, 2 ** 32)).map(noise),  # long, incompressible
    )


def noise(size_seed):
    size, seed = size_seed
    return "".join(random.Random(seed).choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=size))


def number_values():
    return st.one_of(st.integers(), st.sampled_from(BIG_INTS),
                     st.floats(allow_nan=False, allow_infinity=False))


def json_values(max_leaves=20):
    keys = st.one_of(st.sampled_from(sorted(ALL_FIELDS)), st.text(max_size=12), st.sampled_from(TRICKY_STRINGS))
    scalars = st.one_of(st.none(), st.booleans(), number_values(), text_values())

    def containers(children):
        return st.one_of(st.lists(children, max_size=6), st.dictionaries(keys, children, max_size=6))
    return st.recursive(scalars, containers, max_leaves=max_leaves)


ALL_FIELDS = {f for fields in EDGE_FIELDS.values() for f in fields} | \
    {f for route in API_ROUTES.values() for f in route["fields"]}


@st.composite
def encoded_json(draw, values):
    value = draw(values)
    ascii_only = draw(st.booleans())
    compact = draw(st.booleans())
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":") if compact else None)
    # Lone surrogates left raw make invalid UTF-8: a body the server must refuse as such.
    return text.encode("utf-8", "surrogatepass")


class Known:
    """Ids of what the seed made, for values that reach the database."""

    def __init__(self):
        self.users = {}
        self.dossiers = []
        self.notifications = []
        self.institutions = []
        self.assets = []
        self.functions = []
        self.runs = []
        self.events = ["fuzz.event", "coverage.snapshot.created", "dossier.health.dropped", "nightshift.noop"]


def uuid_or(known_ids):
    options = [st.uuids().map(str)]
    if known_ids:
        options[:0] = [st.sampled_from(known_ids)] * 2
    return st.one_of(*options)


def good_values(known, max_body):
    """Per field: values of the right type, mostly naming things that exist."""
    rule = st.fixed_dictionaries({
        "metric": st.one_of(st.sampled_from(METRICS), st.sampled_from(["Bad", "x" * 70, "a-b", ""])),
        "operator": st.one_of(st.sampled_from(OPERATORS), st.sampled_from(["!=", "", "=="])),
        "threshold": st.one_of(number_values(), st.lists(number_values(), min_size=0, max_size=3)),
        "points": number_values(),
    }, optional={"extra": json_values(4)})
    valid_rule = st.one_of(
        st.fixed_dictionaries({"metric": st.sampled_from(METRICS), "operator": st.sampled_from(OPERATORS[:-1]),
                               "threshold": number_values(), "points": number_values()}),
        st.fixed_dictionaries({"metric": st.sampled_from(METRICS), "operator": st.just("between"),
                               "threshold": st.lists(st.integers(-100, 100), min_size=2, max_size=2).map(sorted),
                               "points": number_values()}))
    return {
        "dossierId": uuid_or(known.dossiers),
        "dossierIds": st.one_of(st.lists(uuid_or(known.dossiers), max_size=4),
                                st.sampled_from([100, 101, 1000, 1001]).map(lambda n: [str(uuid.UUID(int=i + 1)) for i in range(n)])),
        "forceRecalculation": st.booleans(),
        "notificationId": uuid_or(known.notifications),
        "unreadOnly": st.booleans(),
        "limit": st.one_of(st.integers(-3, 260), st.sampled_from(BIG_INTS)),
        "dryRun": st.booleans(),
        "criteria": st.one_of(st.lists(valid_rule, min_size=1, max_size=4), st.lists(valid_rule, min_size=1, max_size=4),
                              st.lists(rule, max_size=4), st.just([{"metric": "roe", "operator": ">", "threshold": 1, "points": 1}] * 101)),
        "institution_id": uuid_or(known.institutions),
        "payload": st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(POISON)), json_values(6), max_size=4),
        "idempotency_key": text_values(),
        "name": st.one_of(st.sampled_from(known.events), text_values()),
        "data": st.one_of(st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(POISON)), json_values(6), max_size=4),
                          json_values(6)),
        "before": st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
        "enabled": st.booleans(),
    }


def special_bodies(fields, max_body):
    """Bodies Hypothesis' JSON cannot make: non-JSON, oversized, deeply nested, odd literals."""
    field_names = fields or ["name"]
    oversized = st.sampled_from([max_body - 64, max_body, max_body + 1, 2 * max_body]).map(
        lambda n: b'{"' + field_names[0].encode() + b'":"' + b"a" * max(0, n - len(field_names[0]) - 7) + b'"}')
    return st.one_of(
        st.sampled_from([b"null", b"[]", b"{}", b'""', b"0", b"true", b" ", b"\n", b"{", b"}", b"[",
                         b'{"a":1,}', b"{}{}", b"{} x", b"/* c */ {}", b"\xef\xbb\xbf{}", b"{'a': 1}",
                         "{}".encode("utf-16"), b'{"a":"\xff\xfe"}', b'{"a":"\xed\xa0\x80"}',
                         b'{"a":"\\u0000"}', b'{"a":"\\ud800"}', b'{"a":"\\x41"}', b"\x00", b"\x00{}"]),
        st.binary(max_size=64),
        st.tuples(st.sampled_from(field_names), st.sampled_from(NUMBER_LITERALS)).map(
            lambda t: b'{"' + t[0].encode() + b'":' + t[1].encode() + b"}"),
        st.tuples(st.sampled_from(field_names), st.sampled_from(field_names)).map(
            lambda t: b'{"' + t[0].encode() + b'":1,"' + t[1].encode() + b'":"x"}'),
        st.integers(1, 100000).map(lambda d: b"[" * d + b"]" * d),
        st.integers(1, 50000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d),
        st.integers(1, 5000).map(lambda d: b"[" * d),
        oversized,
    )


def body_strategy(fields, known, max_body, required=frozenset()):
    goods = good_values(known, max_body)
    loose = st.fixed_dictionaries({}, optional={f: st.one_of(goods[f], json_values(8)) for f in fields})
    extra = st.dictionaries(st.one_of(st.sampled_from(sorted(ALL_FIELDS)), st.text(max_size=10)), json_values(6), max_size=2)
    typed = st.fixed_dictionaries({f: goods[f] for f in fields if f in required},
                                  optional={f: goods[f] for f in fields if f not in required})
    strategies = [
        st.none(),                                                            # no body at all
        st.just(b""),
        encoded_json(json_values()),                                          # any JSON value
        encoded_json(st.tuples(loose, extra).map(lambda t: {**t[1], **t[0]})),  # the fields, any types
        special_bodies(fields, max_body),                                     # non-JSON, huge, deep
    ]
    if fields:
        strategies[3:3] = [encoded_json(typed)] * 3                           # well-typed: reaches SQL
    return st.one_of(*strategies)


def quoted_segment():
    return st.one_of(
        st.uuids().map(str),
        st.tuples(st.uuids(), st.sampled_from(UUID_VARIANTS)).map(lambda t: quote(t[1](t[0]), safe="")),
        text_values().map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
        st.sampled_from(["", "%", "%zz", "%00", "%ff", "..", "%2e%2e", "%2F", "a%2Fb", ".", "%20", "+", "~", "*",
                         "x" * 3000]),
    )


def query_value():
    return st.one_of(
        st.integers(-5, 205).map(str),
        st.sampled_from([str(n) for n in BIG_INTS] + NUMBER_LITERALS + ["", " 5", "5 ", "abc", "true"]),
        text_values().map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
        st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: quote(d.isoformat(), safe="")),
        st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00%2B02:00",
                         "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                         "294276-12-31T23:59:59Z", "294277-01-01T00:00:00Z", "99999-01-01T00:00:00Z",
                         "-4713-11-24T00:00:00Z", "-300000-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "2026-01-01",
                         "infinity", "-infinity", "epoch", "now", "%zz", "%00", "%ff"]),
    )


def year_timestamp(year):
    return (f"{year:04d}" if year >= 0 else f"-{-year:04d}") + "-01-01T00:00:00Z"


def before_value():
    """Timestamps, most of them ISO 8601 the server accepts, from any year a parser may take."""
    return st.one_of(
        st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: quote(d.isoformat(), safe="")),
        st.integers(-400000, 400000).map(year_timestamp),
        st.integers(-400000, 400000).map(year_timestamp),
        query_value(),
    )


def limit_value():
    return st.one_of(st.integers(1, 100).map(str), st.integers(-5, 205).map(str), query_value())


def choice_value(*choices):
    """One of a parameter's values (most cases), else anything."""
    return lambda: st.one_of(st.sampled_from(list(choices)), st.sampled_from(list(choices)), query_value())


def uuid_value():
    return st.one_of(st.uuids().map(str), query_value())


NAMED_QUERY_VALUES = {"before": before_value, "limit": limit_value, "since": before_value, "until": before_value,
                      "status": choice_value("queued", "running", "completed", "failed", "cancelled"),
                      "trigger": choice_value("cron", "event", "manual", "rerun"),
                      "function": choice_value("nightshift/noop", "nightshift/diagnostics"),
                      "id": uuid_value, "correlation_id": uuid_value, "run": uuid_value,
                      "name": choice_value("t.happened", "coverage.gaps.detected"), "channel": choice_value("slack", "ops")}


@st.composite
def query_strategy(draw, names):
    shape = draw(st.sampled_from(["none", "well-formed", "well-formed", "chaotic"]))
    if shape == "none":
        return ""
    if shape == "well-formed":
        # Each parameter at most once, with a value of its own kind: these reach the handler.
        return "&".join(name + "=" + draw(NAMED_QUERY_VALUES.get(name, query_value)())
                        for name in names if draw(st.booleans()))
    pairs = []
    for name in names:
        for _ in range(draw(st.integers(0, 2))):
            pairs.append(name + "=" + draw(NAMED_QUERY_VALUES.get(name, query_value)()))
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.one_of(st.sampled_from(names or ["x"]), st.text(max_size=6).map(lambda s: quote(s, safe=""))))
        pairs.append(draw(st.sampled_from([key + "=" + draw(query_value()), key, "=", "&", "%zz=1", key + "=="])))
    return "&".join(draw(st.permutations(pairs)))


# ---------------------------------------------------------------------------------------------
# The regression corpus: requests that once broke a property, run (Hypothesis' explicit
# examples) before the generated cases of their route on every run, short profile included.

def regression_cases(route_key, known, max_body):
    asset = (known.assets or [str(uuid.UUID(int=1))])[0]
    rule = {"metric": "roe", "operator": ">", "threshold": 1, "points": 1}
    long_key = noise((3000, 7))        # past a btree entry's 2,704 bytes, incompressible
    json_body = lambda value: json.dumps(value).encode()  # noqa: E731
    audit = f"/api/v1/audit/assets/{asset}/calculations"
    corpus = {
        "GET /api/v1/audit/assets/<id>/calculations": [
            Req("GET", audit, "before=294276-12-31T23:59:59Z", "user_a"),     # Int64 overflow: the process died
            Req("GET", audit, "before=-300000-01-01T00:00:00Z", "user_a"),
            Req("GET", audit, "before=-4713-11-24T00:00:00Z", "user_a"),      # 22008 timestamp out of range: 500
            Req("GET", audit, "before=99999-01-01T00:00:00Z&limit=100", "user_a"),
        ],
        "POST /api/v1/events": [
            Req("POST", "/api/v1/events", "", "service", body=json_body({"name": "\u0000"})),
            Req("POST", "/api/v1/events", "", "service", body=json_body({"name": "x", "data": {"a": "\u0000"}})),
            Req("POST", "/api/v1/events", "", "service", body=json_body({"name": "x", "idempotency_key": "\u0000"})),
            Req("POST", "/api/v1/events", "", "service", body=json_body({"name": "x", "idempotency_key": long_key})),
        ],
        "POST /api/v1/functions/<id>/runs": [
            Req("POST", "/api/v1/functions/nightshift/noop/runs", "", "service", body=json_body({"payload": {"a": "\u0000"}})),
            Req("POST", "/api/v1/functions/nightshift/noop/runs", "", "service", body=json_body({"payload": {"\u0000": 1}})),
            Req("POST", "/api/v1/functions/nightshift/noop/runs", "", "service", body=json_body({"idempotency_key": "\u0000"})),
            Req("POST", "/api/v1/functions/nightshift/noop/runs", "", "service", body=json_body({"idempotency_key": long_key})),
        ],
        "POST /api/v1/criteria": [
            Req("POST", "/api/v1/criteria", "", "user_a", body=json_body({"criteria": [rule], "note": "\u0000"})),
            Req("POST", "/api/v1/criteria", "", "user_a", body=json_body({"criteria": [dict(rule, metric="a\u0000")]})),
        ],
        "POST /functions/v1/hello": [
            Req("POST", "/functions/v1/hello", "", "anon", body=json_body({"name": "\u0000"})),
            Req("POST", "/functions/v1/hello", "", "anon", body=b"[" * 100000 + b"]" * 100000),
            Req("POST", "/functions/v1/hello", "", "anon", body=b'{"name":"' + b"a" * max_body + b'"}'),
        ],
        "ANY <unknown path or method>": [
            Req("GET", "/" + "x" * 17000, "", "none"),                          # past max_header_bytes: a bare 400, by design
        ],
    }
    cases = corpus.get(route_key, [])
    for case in cases:
        if case.body is not None:
            case.content_type = "application/json"
    return cases


# ---------------------------------------------------------------------------------------------
# Routes.

@dataclass
class Route:
    key: str                      # as in the report: "POST /functions/v1/hello"
    method: str
    paths: object                 # a strategy of encoded paths
    fields: list
    query_names: list
    ok_kinds: object              # token kinds that may get a 2xx; None: any (health), () none
    text_ok: bool = False         # a 200 answered in text (metrics; the stream), of text_type
    text_type: str = "text/plain"
    fixed_query: str = ""         # appended to every drawn query (the stream's timeout=1, so it ends)
    json_ok: bool = False         # a 200 answered in JSON outside the envelope (the OpenAPI document)
    has_body: bool = True


def build_routes(functions, known, config):
    max_body = config["max_body"]
    routes = []

    def fixed(path):
        return st.just(path)

    for name, info in functions.items():
        verify = config["functions"].get(name, {}).get("verify_jwt", True)
        if info["roles"] is None:
            ok = set(VALID_KINDS)
        else:
            ok = set()
            for role in info["roles"]:
                ok |= ROLE_KINDS.get(role, set())
        if not verify:
            ok |= {"none"}
        routes.append(Route(f"POST /functions/v1/{name}", "POST", fixed(f"/functions/v1/{name}"),
                            EDGE_FIELDS[name], [], ok))
    unknown_names = st.one_of(text_values().map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
                              st.sampled_from(["Hello", "hello ", "hello%2F", "..%2Fhello", "_shared", "hello.swift"]))
    routes.append(Route("POST /functions/v1/<unknown>", "POST", unknown_names.map(lambda n: "/functions/v1/" + n),
                        sorted(ALL_FIELDS), [], set()))

    function_ids = known.functions or ["nightshift/noop"]
    trigger_paths = st.one_of(
        st.sampled_from(function_ids).map(lambda f: f"/api/v1/functions/{f}/runs"),
        st.sampled_from(function_ids).map(lambda f: f"/api/v1/functions/{f}/runs"),
        quoted_segment().map(lambda s: f"/api/v1/functions/{s}/runs"),
        st.tuples(st.sampled_from(function_ids), st.sampled_from(["", "/", "/run", "/runs/x", "/RUNS"])).map(
            lambda t: f"/api/v1/functions/{t[0]}{t[1]}"),
        st.lists(quoted_segment(), min_size=1, max_size=4).map(lambda parts: "/api/v1/functions/" + "/".join(parts)),
    )
    service = {"service", "service_super"}
    users = set(USER_KINDS)
    # The operator's routes: operators read, super admins and the service read and act.
    readers = service | {"super_admin", "operator"}
    actors = service | {"super_admin"}
    for key, spec in API_ROUTES.items():
        method, _ = key.split(" ", 1)
        kind = spec["kind"]
        if kind == "health":
            routes.append(Route(key, method, fixed("/health"), [], ["verbose"], None, has_body=False))
        elif kind == "trigger":
            routes.append(Route(key, method, trigger_paths, spec["fields"], [], service))
        elif kind == "events":
            routes.append(Route(key, method, fixed("/api/v1/events"), spec["fields"], [], service))
        elif kind == "runs":
            routes.append(Route(key, method, fixed("/api/v1/runs"), [], RUNS_QUERY, readers, has_body=False))
        elif kind == "run":
            paths = st.one_of(uuid_or(known.runs).map(lambda r: "/api/v1/runs/" + r),
                              quoted_segment().map(lambda s: "/api/v1/runs/" + s))
            routes.append(Route(key, method, paths, [], ["limit"], readers, has_body=False))
        elif kind == "run_action":
            action = key.rsplit("/", 1)[1]
            paths = st.one_of(uuid_or(known.runs).map(lambda r, a=action: f"/api/v1/runs/{r}/{a}"),
                              quoted_segment().map(lambda s, a=action: f"/api/v1/runs/{s}/{a}"))
            routes.append(Route(key, method, paths, [], [], actors, has_body=False))
        elif kind == "functions":
            routes.append(Route(key, method, fixed("/api/v1/functions"), [], ["limit"], readers, has_body=False))
        elif kind == "function_enable":
            paths = st.one_of(st.sampled_from(function_ids).map(lambda f: f"/api/v1/functions/{f}"),
                              st.lists(quoted_segment(), min_size=1, max_size=4).map(lambda p: "/api/v1/functions/" + "/".join(p)))
            routes.append(Route(key, method, paths, spec["fields"], [], actors))
        elif kind == "schedules":
            routes.append(Route(key, method, fixed("/api/v1/schedules"), [], ["limit"], readers, has_body=False))
        elif kind == "events_list":
            routes.append(Route(key, method, fixed("/api/v1/events"), [], ["name", "since", "until", "limit", "before"],
                                readers, has_body=False))
        elif kind == "replay":
            paths = st.one_of(st.uuids().map(lambda u: f"/api/v1/events/{u}/replay"),
                              quoted_segment().map(lambda s: f"/api/v1/events/{s}/replay"))
            routes.append(Route(key, method, paths, [], [], actors, has_body=False))
        elif kind == "deliveries":
            routes.append(Route(key, method, fixed("/api/v1/deliveries"), [], ["channel", "status", "limit", "before"],
                                readers, has_body=False))
        elif kind == "stream":
            # Server-Sent Events: timeout=1 on every request ends a stream a second after it opens.
            routes.append(Route(key, method, fixed("/api/v1/stream"), [], ["function", "run"], readers, text_ok=True,
                                text_type="text/event-stream", fixed_query="timeout=1", has_body=False))
        elif kind == "retry":
            paths = st.one_of(st.integers(-5, 2**63).map(lambda i: f"/api/v1/deliveries/{i}/retry"),
                              quoted_segment().map(lambda s: f"/api/v1/deliveries/{s}/retry"))
            routes.append(Route(key, method, paths, [], [], actors, has_body=False))
        elif kind == "metrics":
            routes.append(Route(key, method, fixed("/metrics"), [], ["name"], service, text_ok=True, has_body=False))
        elif kind == "openapi":
            routes.append(Route(key, method, fixed("/api/v1/openapi.json"), [], ["format"], None, json_ok=True, has_body=False))
        elif kind == "recompute":
            routes.append(Route(key, method, fixed("/api/v1/admin/coverage/recompute"), spec["fields"], [], {"super_admin"}))
        elif kind == "dashboard":
            routes.append(Route(key, method, fixed("/api/dashboard"), [], ["limit"], users, has_body=False))
        elif kind == "audit":
            paths = st.one_of(uuid_or(known.assets).map(lambda a: f"/api/v1/audit/assets/{a}/calculations"),
                              quoted_segment().map(lambda s: f"/api/v1/audit/assets/{s}/calculations"))
            routes.append(Route(key, method, paths, [], ["limit", "before"], users, has_body=False))
        elif kind == "criteria":
            routes.append(Route(key, method, fixed("/api/v1/criteria"), spec["fields"], [], users))
        else:
            raise SetupError(f"API_ROUTES: unknown kind {kind}")

    # Anything else: unknown paths and wrong methods (404/405 in the envelope).
    known_prefixes = ["/", "/api", "/api/v1", "/api/v1/runs", "/api/v1/admin", "/api/v1/audit/assets",
                      "/functions/v1", "/functions", "/health", "/metrics", "/api/dashboard", "/api/v1/criteria"]
    random_paths = st.tuples(st.sampled_from(known_prefixes), st.lists(quoted_segment(), max_size=3)).map(
        lambda t: (t[0].rstrip("/") + "/" + "/".join(t[1])) if t[1] else t[0])
    # ok_kinds None: a drawn path may be a real route (GET /health, GET /api/v1/functions...).
    routes.append(Route("ANY <unknown path or method>", "*", random_paths, sorted(ALL_FIELDS), ["limit"], None))
    return routes


def request_strategy(route, known, max_body):
    fields = route.fields
    bodies = body_strategy(fields, known, max_body, REQUIRED.get(route.key, frozenset()))
    # Every kind, with those the route admits drawn more often (about half the cases), so
    # most cases get past authentication to the body and the database.
    admitted = sorted(route.ok_kinds or ())
    kinds = st.sampled_from(admitted * max(1, len(TOKEN_KINDS) // max(1, len(admitted))) + TOKEN_KINDS)

    @st.composite
    def make(draw):
        if route.method == "*":
            method = draw(st.sampled_from(METHODS_OTHER))
        else:
            method = draw(st.sampled_from([route.method] * 40 + METHODS_OTHER))
        path = draw(route.paths)
        query = draw(query_strategy(route.query_names)) if (route.query_names or draw(st.integers(0, 5)) == 0) else ""
        if route.fixed_query:
            query = query + "&" + route.fixed_query if query else route.fixed_query
        if route.has_body or method not in ("GET", "HEAD"):
            body = draw(bodies)
        else:
            body = draw(st.one_of(st.none(), st.none(), st.none(), bodies))
        return Req(method=method, path=path, query=query,
                   token_kind=draw(kinds),
                   header_style=draw(st.sampled_from(HEADER_STYLES)),
                   content_type=draw(st.sampled_from(CONTENT_TYPES)) if body is not None else None,
                   body=body)
    return make()


# ---------------------------------------------------------------------------------------------
# The harness: database, server, snapshots, one request at a time.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url, user, database):
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = (user + "@" if user else "") + (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, ""))


class Harness:
    def __init__(self, args):
        self.args = args
        self.owner_base = os.environ.get("DATABASE_URL") or DEFAULT_URL
        parts = urlsplit(self.owner_base)
        self.owner_user = parts.username or "postgres"
        self.db = getattr(args, "database", None) or f"fuzz_{os.getpid()}"
        self.owner_url = with_database(self.owner_base, self.owner_user + (":" + parts.password if parts.password else ""), self.db)
        self.admin_url = with_database(self.owner_base, self.owner_user + (":" + parts.password if parts.password else ""), "postgres")
        self.app_url = with_database(self.owner_base, "nightshift_app", self.db)
        self.tmp = tempfile.mkdtemp(prefix="nightshift-fuzz-")
        self.bin = os.path.join(self.tmp, "nightshift")
        os.makedirs(LOGS, exist_ok=True)
        old_logs = sorted((os.path.join(LOGS, n) for n in os.listdir(LOGS) if n.startswith("serve-")), key=os.path.getmtime)
        for path in old_logs[:-19]:  # the server logs of the last 20 runs are kept
            os.remove(path)
        self.stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d_%H%MZ")
        self.log_path = os.path.join(LOGS, f"serve-{self.stamp}-{os.getpid()}.log")
        self.server = None
        self.port = None
        self.created_db = False
        self.snap_conn = None
        self.snap_sql = None
        self.last_snapshot = None
        self.restarts = 0
        self.crashes = []
        self.volatile = []
        self.known = Known()
        self.config = self.read_config()
        self.server_config()

    # -- config, binary, database ------------------------------------------------------------
    def read_config(self):
        with open(CONFIG, "rb") as f:
            data = tomllib.load(f)
        auth = data.get("auth", {})
        if not auth.get("jwt_secret"):
            raise SetupError(f"{CONFIG}: [auth] has no jwt_secret (a jwks_path setup cannot be fuzzed: no key to sign with)")
        return {
            "auth": auth,
            "project_id": data.get("project_id", "nightshift-local"),
            "max_body": int(data.get("api", {}).get("max_body_bytes", 1048576)),
            "functions": data.get("functions", {}),
        }

    def server_config(self):
        """The project's config.toml, or a copy of it with the write rate limit off: at 120
        writes a minute per token, most cases of the write routes would end as 429 before
        reaching their handler. --keep-rate-limit serves the file as it is."""
        self.config_path, self.config_note = CONFIG, "supabase-like-config/config.toml as it is"
        if self.args.keep_rate_limit:
            return
        text = open(CONFIG, encoding="utf-8").read()
        changed, count = re.subn(r"(?m)^(writes_per_minute\s*=\s*)\d+", r"\g<1>0", text)
        if count:
            self.config_path = os.path.join(self.tmp, "config.toml")
            with open(self.config_path, "w", encoding="utf-8") as f:
                f.write(changed)
            self.config_note = ("supabase-like-config/config.toml with [api] writes_per_minute = 0 (the write rate limit "
                                "off, so cases reach the handlers; --keep-rate-limit keeps it)")

    def copy_binary(self):
        source = self.args.bin if os.path.isabs(self.args.bin) else os.path.join(ROOT, self.args.bin)
        deadline = time.monotonic() + 180
        while True:
            try:
                shutil.copy2(source, self.bin)
                subprocess.run([self.bin, "version"], check=True, capture_output=True, timeout=30)
                return
            except (OSError, subprocess.SubprocessError) as error:
                if time.monotonic() > deadline:
                    raise SetupError(f"cannot use {source} ({error}): build it first (make build)")
                log(f"{source} unusable ({error.__class__.__name__}); being rebuilt? retrying")
                time.sleep(3)

    def run_bin(self, *args, url):
        env = self.env(url)
        result = subprocess.run([self.bin, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise SetupError(f"nightshift {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def env(self, url):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NIGHTSHIFT_", "OTEL_", "PORTFOLIO_", "DATABASE_")) and
               k not in ("ENABLE_SCHEDULED_JOBS", "OVERNIGHT_JOB_CRON", "COVERAGE_JOB_CRON",
                         "HEALTH_REFRESH_INTERVAL_MINUTES", "OVERDUE_CHECK_HOUR")}
        env["DATABASE_URL"] = url
        env["ENABLE_SCHEDULED_JOBS"] = "false"
        return env

    def create_database(self):
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'drop database if exists "{self.db}" with (force)')
            conn.execute(f'create database "{self.db}"')
        self.created_db = True
        self.run_bin("migrate", url=self.owner_url)
        # Registers the declared functions (serve --no-worker does not): runs, events and the
        # coverage recompute then reach real functions.
        self.run_bin("schedules", url=self.app_url)

    def seed(self):
        subprocess.run(["psql", self.owner_url, "-Xq", "-v", "ON_ERROR_STOP=1", "-f", PORTFOLIO_SEED],
                       check=True, capture_output=True, timeout=120)
        k = self.known
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            conn.execute("set client_min_messages = warning")
            conn.execute("select portfolio.seed(3, 30, 2, 4, 1)")
            users = [r[0] for r in conn.execute("select id::text from portfolio.users order by id")]
            k.users = {"a": users[0], "b": users[1], "admin": str(uuid.uuid4()), "operator": str(uuid.uuid4())}
            conn.execute("select coverage.seed(2, 120, 0.5)")
            k.institutions = [r[0] for r in conn.execute("select id::text from coverage.institutions order by id")]
            k.assets = [r[0] for r in conn.execute("select id::text from portfolio.assets order by id limit 5")]
            a, b = k.users["a"], k.users["b"]
            for name, owner, member, role in [("Fuzz A1", a, b, "editor"), ("Fuzz A2", a, b, "viewer"),
                                              ("Fuzz B1", b, None, None)]:
                dossier = conn.execute("insert into dossier.dossiers (name, owner_id) values (%s, %s) returning id::text",
                                       (name, owner)).fetchone()[0]
                conn.execute("insert into dossier.members (dossier_id, user_id, role) values (%s, %s, 'owner')", (dossier, owner))
                if member:
                    conn.execute("insert into dossier.members (dossier_id, user_id, role) values (%s, %s, %s)", (dossier, member, role))
                conn.execute("""insert into dossier.engagements (dossier_id, occurred_at, kind)
                                select %s, now() - make_interval(days => g * 3), (array['meeting','call','email'])[1 + g %% 3]
                                from generate_series(1, 6) g""", (dossier,))
                conn.execute("""insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at)
                                values (%s, %s, 'past due', current_date - 5, 'pending', null),
                                       (%s, %s, 'upcoming', current_date + 10, 'in_progress', null),
                                       (%s, %s, 'done', current_date - 2, 'completed', now())""",
                             (dossier, owner, dossier, owner, dossier, owner))
                k.dossiers.append(dossier)
            for user, n in [(a, 3), (b, 2)]:
                for i in range(n):
                    row = conn.execute("select notification_id::text from notify.send(%s, %s, %s)",
                                       (user, f"Fuzz title {i}", f"Fuzz message {i}")).fetchone()
                    if row and row[0]:
                        k.notifications.append(row[0])
            k.functions = [r[0] for r in conn.execute("select id from nightshift.functions order by id")]
            tables = conn.execute("""
                select n.nspname || '.' || c.relname
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = any(%s) and c.relkind in ('r', 'p', 'm') and not c.relispartition
                order by 1""", (list(WATCHED_SCHEMAS),)).fetchall()
        self.tables = [t for (t,) in tables if t not in UNWATCHED]
        parts = []
        for table in self.tables:
            schema, name = table.split(".")
            # Every row version a write creates has a new (ctid, xmin), and reading them needs no
            # column (no detoasting of megabyte payloads): the sum of their 64-bit hashes and the
            # count change with any committed insert, update or delete, and with nothing else.
            parts.append(f"select '{table}' as t, count(*) as n, "
                         f"coalesce(sum(hashtextextended(x.tableoid::text || x.ctid::text || x.xmin::text, 0)::numeric), 0)::text as h "
                         f'from "{schema}"."{name}" x')
        self.snap_sql = " union all ".join(parts)

    # -- server ------------------------------------------------------------------------------
    def start_server(self):
        self.port = free_port()
        env = self.env(self.app_url)
        env["NIGHTSHIFT_LOG_LEVEL"] = "notice"
        if self.restarts:
            # Shrinking a crash restarts the server many times: without the backtrace (the first
            # crash's is in the log) a crash ends the process at once, not after seconds.
            env["SWIFT_BACKTRACE"] = "enable=no"
        self.log_file = open(self.log_path, "ab")
        command = [self.bin, "serve", "--no-worker", "--port", str(self.port)]
        if self.config_path != CONFIG:
            command += ["--config", self.config_path]
        self.server = subprocess.Popen(command, cwd=ROOT, env=env,
                                       stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SetupError(f"nightshift serve exited with {self.server.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SetupError(f"nightshift serve did not answer GET /health = 200 within 60 s; see {self.log_path}")

    def stop_server(self):
        if self.server is None:
            return
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        self.server = None
        self.log_file.close()

    def restart_server(self):
        self.stop_server()
        self.restarts += 1
        self.start_server()

    def log_offset(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def causes_since(self, offset):
        """The server's "unhandled error" causes logged since offset."""
        causes = []
        for attempt in range(4):
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read().decode("utf-8", "replace")
            except OSError:
                chunk = ""
            crash = re.search(r"(Swift runtime failure: [^*\n]*|Fatal error: [^\n]*)", chunk)
            if crash:
                frame = re.search(r"crashed:.*?0x[0-9a-f]+ ([^\n]*?)(?: \+ \d+)? in \S+ at \S*?(Sources/[^\s]+)", chunk, re.S)
                causes.append(crash.group(1).strip() + (f" in {frame.group(1).strip()} at {frame.group(2)}" if frame else ""))
            for line in chunk.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") in ("error", "critical"):
                    causes.append(str(entry.get("error") or entry.get("message"))[:300])
            if causes:
                break
            time.sleep(0.05)
        return causes

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self):
        for attempt in range(3):
            try:
                if self.snap_conn is None or self.snap_conn.closed:
                    self.snap_conn = psycopg.connect(self.owner_url, autocommit=True, connect_timeout=10)
                return {t: (n, h) for t, n, h in self.snap_conn.execute(self.snap_sql)}
            except psycopg.OperationalError:
                self.snap_conn = None
                time.sleep(1)
        raise SetupError("cannot snapshot the fuzz database")

    def find_volatile(self):
        """Tables that change with no request at all are left out of the no-write check; and a
        canary: an update as the owner, and the one undoing it, must each show in the snapshots."""
        first = self.snapshot()
        time.sleep(2.0)
        second = self.snapshot()
        self.volatile = sorted(t for t in first if first[t] != second.get(t))
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            dossier = self.known.dossiers[0]
            conn.execute("update dossier.dossiers set name = name || ' (canary)' where id = %s", (dossier,))
            during = self.snapshot()
            conn.execute("update dossier.dossiers set name = left(name, -9) where id = %s", (dossier,))
        after = self.snapshot()
        if self.changed(second, during) != ["dossier.dossiers"] or self.changed(during, after) != ["dossier.dossiers"]:
            raise SetupError(f"the snapshot missed a canary update: {self.changed(second, during)} / {self.changed(during, after)}")
        self.last_snapshot = after

    def changed(self, before, after):
        return sorted(t for t in after if before.get(t) != after[t] and t not in self.volatile)

    # -- one request -------------------------------------------------------------------------
    def headers_for(self, req, tokens):
        headers = [("Host", f"127.0.0.1:{self.port}"), ("User-Agent", "nightshift-fuzz"), ("Accept", "*/*")]
        if req.content_type:
            headers.append(("Content-Type", req.content_type))
        if req.token_kind != "none":
            token = tokens[req.token_kind]
            if req.header_style == "bearer":
                headers.append(("Authorization", "Bearer " + token))
            elif req.header_style == "bearer-lower":
                headers.append(("Authorization", "bearer " + token))
            elif req.header_style == "apikey":
                headers.append(("apikey", token))
            elif req.header_style == "both":
                # The bearer must win over a (more powerful) apikey.
                headers.append(("Authorization", "Bearer " + token))
                headers.append(("apikey", tokens["service"]))
            else:
                forms = ["Basic " + token, "Bearer", "Bearer  ", token, "Token " + token]
                headers.append(("Authorization", forms[zlib.crc32(req.token_kind.encode()) % len(forms)]))
        return headers

    def send(self, req, tokens):
        outcome = Outcome()
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.args.timeout)
        try:
            conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers_for(req, tokens):
                conn.putheader(name, value)
            if req.body is not None:
                conn.putheader("Content-Length", str(len(req.body)))
            conn.endheaders()
            if req.body:
                try:
                    conn.send(req.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may answer (413) before reading everything
            response = conn.getresponse()
            outcome.status = response.status
            outcome.headers = {k.lower(): v for k, v in response.getheaders()}
            outcome.body = response.read() if req.method != "HEAD" else b""
        except (socket.timeout, TimeoutError):
            outcome.error = "timeout"
        except (ConnectionError, http.client.HTTPException, OSError) as error:
            outcome.error = f"connection: {error.__class__.__name__}: {error}"
        finally:
            conn.close()
            outcome.seconds = time.monotonic() - started
        return outcome


# ---------------------------------------------------------------------------------------------
# The properties.

def normalise(cause):
    cause = re.sub(r'"[^"]*"', '"…"', cause)
    cause = re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", "<uuid>", cause)
    return re.sub(r"(?<![A-Z0-9])\d{3,}(?![A-Z0-9])", "N", cause)


def check(route, req, outcome, changed, harness, log_offset):
    failures = []

    def fail(prop, signature, detail, cause=""):
        failures.append(Failure(prop, f"{route.key} | {prop} | {signature}", detail, req, cause))

    if outcome.error:
        # A crashing Swift process prints its backtrace (seconds) before it exits, holding the
        # connection open; without one, the connection drops a moment before the process is
        # gone. Give it that long before calling the request a hang or a dropped connection.
        try:
            harness.server.wait(timeout=15 if outcome.error == "timeout" else 3)
        except subprocess.TimeoutExpired:
            pass
        alive = harness.server.poll() is None
        if not alive:
            cause = "; ".join(harness.causes_since(log_offset))
            if not harness.crashes:
                harness.crashes.append(f"{req.describe()[:400]} → {cause}")
            fail("alive", f"server exited {harness.server.returncode}",
                 f"the server died ({harness.server.returncode}) on this request", cause)
            harness.restart_server()
        elif outcome.error == "timeout" or outcome.seconds > harness.args.timeout:
            fail("no-hang", "no answer in time", f"no answer within {harness.args.timeout:g} s ({outcome.error})")
        else:
            fail("no-hang", "connection dropped", f"no HTTP answer: {outcome.error}")
        return failures
    status = outcome.status
    if outcome.seconds > harness.args.timeout:
        fail("no-hang", "slow answer", f"{status} after {outcome.seconds:.1f} s")
    if status >= 500 and not (status == 503 and outcome.headers.get("retry-after")):
        causes = harness.causes_since(log_offset)
        cause = "; ".join(causes) or "(nothing logged)"
        fail("no-5xx", f"{status} {normalise(cause)}", f"status {status}: {describe_bytes(outcome.body)}", cause)
    # The envelope. One documented exception (README "Safe to expose"): a request line or header
    # block past [api] max_header_bytes is refused by the HTTP decoder itself, before any route
    # runs, with a bare 400 and the connection closed.
    oversized_head = status == 400 and not outcome.body and len(req.target) + 2048 > MAX_HEADER_BYTES
    if oversized_head:
        pass
    elif route.json_ok and status == 200 and req.method == "GET":
        try:
            if "openapi" not in json.loads(outcome.body):
                fail("envelope", "document without openapi", f"GET {req.target} 200 without an `openapi` key")
        except ValueError:
            fail("envelope", "document not JSON", f"GET {req.target} 200 that is not JSON: {describe_bytes(outcome.body)}")
    elif req.method != "HEAD" and not (route.text_ok and status == 200 and req.method == "GET"):
        problem = envelope_problem(status, outcome.body)
        if problem:
            fail("envelope", f"{status} {problem}", f"status {status}: {problem}: {describe_bytes(outcome.body)}")
    elif route.text_ok and status == 200 and not outcome.headers.get("content-type", "").startswith(route.text_type):
        fail("envelope", f"not {route.text_type}", f"GET {req.target} 200 with content-type {outcome.headers.get('content-type')!r}")
    # Nothing written by a refused request.
    if status >= 400 and changed:
        fail("no-write", f"{status} wrote {','.join(changed)}",
             f"refused with {status} but changed {', '.join(changed)}: {describe_bytes(outcome.body)}")
    # Who may get a 2xx.
    if 200 <= status < 300 and route.ok_kinds is not None:
        kind = req.token_kind if req.header_style != "malformed" or req.token_kind == "none" else "malformed"
        if kind not in route.ok_kinds:
            fail("authz", f"{kind} got {status}",
                 f"token kind {kind} ({req.header_style}) got {status}: {describe_bytes(outcome.body)}")
    return failures


# [api] max_header_bytes of supabase-like-config/config.toml (the server runs with it).
MAX_HEADER_BYTES = 16384


def envelope_problem(status, body):
    if not body:
        return "empty body"
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    if not isinstance(document, dict) or "data" not in document or "error" not in document:
        return "not {data, error}"
    beside = set(document) - {"data", "error"}
    if beside:
        # Edge functions with fieldsAtTopLevel (the dossier pack's) copy a success's fields beside
        # data and error: allowed exactly so, never on an error.
        data = document["data"]
        if status >= 400 or not isinstance(data, dict) or any(k not in data or data[k] != document[k] for k in beside):
            return "keys beyond data and error"
    error = document["error"]
    if status >= 400:
        if document["data"] is not None:
            return "data not null on an error"
        if not isinstance(error, dict) or not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
            return "error without code and message"
    elif error is not None:
        return "error not null on success"
    return None


# ---------------------------------------------------------------------------------------------
# Running the routes.

@dataclass
class RouteStats:
    cases: int = 0
    rounds: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    writes_2xx: collections.Counter = field(default_factory=collections.Counter)
    slowest: float = 0.0
    failures: dict = field(default_factory=dict)       # signature -> [Failure (minimal), flaky]
    seen: collections.Counter = field(default_factory=collections.Counter)  # signature -> cases


class Fuzzer:
    def __init__(self, harness, tokens, routes, examples, seed):
        self.h = harness
        self.tokens = tokens
        self.routes = routes
        self.examples = examples
        self.seed = seed
        self.stats = {route.key: RouteStats() for route in routes}
        self.problems = {}             # problem -> the route whose minimal example the report shows

    def exercise(self, route, req, ignored):
        stats = self.stats[route.key]
        offset = self.h.log_offset()
        outcome = self.h.send(req, self.tokens)
        after = self.h.snapshot()
        changed = self.h.changed(self.h.last_snapshot, after)
        self.h.last_snapshot = after
        stats.cases += 1
        stats.slowest = max(stats.slowest, outcome.seconds)
        stats.statuses[outcome.status if outcome.status else outcome.error.split(":")[0]] += 1
        if outcome.status and outcome.status < 400:
            for table in changed:
                stats.writes_2xx[table] += 1
        if self.h.args.verbose:
            print(f"    {outcome.status or outcome.error} {outcome.seconds * 1000:.0f} ms  {req.describe()[:400]}"
                  f"  -> {describe_bytes(outcome.body, 160)}", flush=True)
        failures = check(route, req, outcome, changed, self.h, offset)
        for failure in failures:
            stats.seen[failure.signature] += 1
        # A problem already shrunk on this route or another is counted, not raised (and shrunk) again.
        new = [f for f in failures if f.signature not in ignored and f.problem not in self.problems]
        if new:
            error = failure_type(new[0].signature)(new[0].signature)
            error.failure = new[0]
            raise error

    def run_route(self, route):
        stats = self.stats[route.key]
        strategy = request_strategy(route, self.h.known, self.h.config["max_body"])
        for round_number in range(MAX_ROUNDS):
            stats.rounds += 1
            ignored = set(stats.failures)

            @settings(max_examples=self.examples, deadline=None, database=None, derandomize=False,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink],
                      report_multiple_bugs=True, verbosity=Verbosity.quiet, print_blob=False)
            @hypothesis_seed(self.seed + 7919 * round_number + zlib_crc(route.key))
            @given(strategy)
            def prop(req):
                self.exercise(route, req, ignored)

            for case in regression_cases(route.key, self.h.known, self.h.config["max_body"]):
                prop = example(case)(prop)

            try:
                prop()
                return
            except BaseException as error:  # noqa: B036 -- Hypothesis groups failures
                if isinstance(error, KeyboardInterrupt):
                    raise
                found = collect_failures(error)
                if not found:
                    raise
                fresh = 0
                for failure, flaky in found:
                    if failure.signature in stats.failures or failure.problem in self.problems:
                        continue
                    fresh += 1
                    stats.failures[failure.signature] = [failure, flaky]
                    self.problems[failure.problem] = route.key
                    log(f"  FAILURE {failure.signature}\n      {failure.request.describe()}\n      {failure.detail}"
                        + (f"\n      server: {failure.cause}" if failure.cause else ""))
                if not fresh:
                    return

    def run(self):
        for route in self.routes:
            if self.h.args.route and self.h.args.route not in route.key:
                continue
            started = time.monotonic()
            self.run_route(route)
            s = self.stats[route.key]
            log(f"{route.key}: {s.cases} cases in {time.monotonic() - started:.1f} s, "
                f"statuses {dict(sorted(s.statuses.items(), key=str))}, failing cases {sum(s.seen.values())}")


def zlib_crc(text):
    return zlib.crc32(text.encode())


def collect_failures(error):
    """(Failure, flaky) for every FuzzFailure inside error (an ExceptionGroup, Flaky, ...)."""
    found = []
    seen = set()

    def walk(exc, flaky):
        if id(exc) in seen:
            return
        seen.add(id(exc))
        name = exc.__class__.__name__
        flaky = flaky or "Flaky" in name
        if isinstance(exc, FuzzFailure) and exc.failure is not None:
            found.append((exc.failure, flaky))
        for child in getattr(exc, "exceptions", ()) or ():
            walk(child, flaky)
        if exc.__cause__ is not None:
            walk(exc.__cause__, flaky)
        if exc.__context__ is not None:
            walk(exc.__context__, flaky)

    walk(error, False)
    return found


# ---------------------------------------------------------------------------------------------
# Report.

def report(harness, fuzzer, args, listed, functions, wall):
    stats = fuzzer.stats
    total = sum(s.cases for s in stats.values())
    failures = [(key, sig, entry) for key, s in stats.items() for sig, entry in s.failures.items()]
    ran = [key for key in stats if stats[key].cases]
    lines = [f"# HTTP fuzzing, {harness.stamp} ({args.profile})", ""]
    lines.append(f"`Tests/Fuzz/fuzz.py --profile {args.profile}`: Hypothesis {hypothesis_version()}, seed {args.seed}, "
                 f"{fuzzer.examples} examples per route and round, timeout {args.timeout:g} s, "
                 f"{len(ran)} routes ({len(functions)} edge functions of functions/Catalog.swift, "
                 f"{len(listed)} rows of README's HTTP API table, unknown functions, unknown paths and methods).")
    lines.append(f"Server: `nightshift serve --no-worker` as nightshift_app on a throwaway database, with {harness.config_note}.")
    lines.append("")
    failing = sum(sum(s.seen.values()) for s in stats.values())
    lines.append(f"**{total} cases**, **{len(fuzzer.problems)} distinct problems** ({failing} failing cases, "
                 f"shrinking included), wall time {wall:.0f} s (server restarts after a crash: {harness.restarts}).")
    lines.append("")
    lines.append("| route | cases | rounds | statuses | slowest | failing cases |")
    lines.append("| --- | ---: | ---: | --- | ---: | ---: |")
    for key, s in stats.items():
        if not s.cases:
            continue
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(s.statuses.items(), key=lambda kv: str(kv[0])))
        lines.append(f"| `{key}` | {s.cases} | {s.rounds} | {statuses} | {s.slowest * 1000:.0f} ms | {sum(s.seen.values())} |")
    lines.append(f"| **total** | **{total}** | | | | **{failing}** |")
    lines.append("")
    lines.append("Properties: no 5xx (503 only with Retry-After); the `{data, error}` envelope (GET /metrics: text); "
                 f"an answer within {args.timeout:g} s; no row changed by a refused request (status ≥ 400), "
                 f"checked by hashing {len(harness.tables) - len(harness.volatile)} tables of schemas "
                 f"{', '.join(WATCHED_SCHEMAS)} after every request; 2xx only for the token kinds the route admits; "
                 "the server stays up.")
    if harness.volatile:
        lines.append(f"Tables that changed with no request (left out of the no-write check): {', '.join(harness.volatile)}.")
    writes = {key: s.writes_2xx for key, s in stats.items() if s.writes_2xx}
    if writes:
        lines.append("")
        lines.append("Tables changed by accepted requests (allowed; listed to show the routes reached the database):")
        lines.append("")
        for key, counter in writes.items():
            lines.append(f"- `{key}`: " + ", ".join(f"{t} ({n})" for t, n in sorted(counter.items())))
    lines.append("")
    if failures:
        # Every route a problem was seen on, with how many of its cases showed it.
        groups = collections.OrderedDict((problem, []) for problem in fuzzer.problems)
        for key, s in stats.items():
            for signature, count in s.seen.items():
                groups.setdefault(signature.split(" | ", 1)[1], []).append(f"`{key}` ({count})")
        lines.append(f"## {len(groups)} distinct problems (routes where seen, with their failing cases)")
        lines.append("")
        for problem, keys in groups.items():
            lines.append(f"- {problem}: {', '.join(keys)}")
        lines.append("")
        lines.append("## Hypothesis' minimal example of each problem")
        lines.append("")
        for key, signature, (failure, flaky) in failures:
            count = stats[key].seen[signature]
            lines.append(f"- **{failure.prop}** on `{key}`{' (flaky: did not always reproduce)' if flaky else ''}, "
                         f"{count} of its {stats[key].cases} cases: {failure.detail}")
            lines.append(f"  - request: `{failure.request.describe()}`")
            if failure.cause:
                lines.append(f"  - server log: `{failure.cause}`")
        lines.append("")
    else:
        lines.append("No failures.")
        lines.append("")
    if harness.crashes:
        lines.append(f"First crash (its backtrace is in the server log; later restarts run without one): {harness.crashes[0]}")
        lines.append("")
    lines.append(f"Server log: `{os.path.relpath(harness.log_path, ROOT)}`.")
    text = "\n".join(lines) + "\n"
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"fuzz-{harness.stamp}.md")
    if os.path.exists(path):
        path = os.path.join(RESULTS, f"fuzz-{harness.stamp}-{os.getpid()}.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print()
    print(text)
    log(f"report: {os.path.relpath(path, ROOT)}")
    return len(fuzzer.problems) + failing


def hypothesis_version():
    import hypothesis
    return hypothesis.__version__


# ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--examples", type=int, help="examples per route and round (default: the profile's)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random, printed)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a request may take (default 5)")
    parser.add_argument("--route", default=None, help="fuzz only the routes whose key contains this")
    parser.add_argument("--bin", default=os.environ.get("NIGHTSHIFT_BIN", ".build/debug/nightshift"))
    parser.add_argument("--keep", action="store_true", help="keep the database (fuzz_<pid>) afterwards")
    parser.add_argument("--database", default=None, help="the throwaway database's name (default fuzz_<pid>)")
    parser.add_argument("--verbose", action="store_true", help="print every case: status, request, answer")
    parser.add_argument("--keep-rate-limit", action="store_true",
                        help="serve config.toml as it is (default: a copy with [api] writes_per_minute = 0)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2 ** 31)
    examples = args.examples or PROFILES[args.profile]
    random.seed(args.seed)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)

    started = time.monotonic()
    harness = None
    try:
        # Hypothesis' caches (unicode tables, constants) go with the other state, not into the checkout.
        os.makedirs(LOGS, exist_ok=True)
        set_hypothesis_home_dir(os.path.join(LOGS, "hypothesis"))
        functions, listed = check_coverage()
        log(f"seed {args.seed}; profile {args.profile}: {examples} examples per route and round; "
            f"{len(functions)} edge functions, {len(listed)} README endpoints")
        harness = Harness(args)
        harness.copy_binary()
        log(f"database {harness.db}: migrate, register functions, seed")
        harness.create_database()
        harness.seed()
        harness.start_server()
        log(f"serve --no-worker on 127.0.0.1:{harness.port} as nightshift_app; config: {harness.config_note}; "
            f"log {os.path.relpath(harness.log_path, ROOT)}")
        tokens = mint_tokens(harness.config["auth"], harness.config["project_id"], harness.known.users)
        prime(harness, tokens)
        harness.find_volatile()
        if harness.volatile:
            log(f"tables changing with no request (not checked): {', '.join(harness.volatile)}")
        routes = build_routes(functions, harness.known, harness.config)
        fuzzer = Fuzzer(harness, tokens, routes, examples, args.seed)
        fuzzer.run()
        failures = report(harness, fuzzer, args, listed, functions, time.monotonic() - started)
        return 1 if failures else 0
    except SetupError as error:
        log(f"setup error: {error}")
        return 2
    except KeyboardInterrupt as error:
        log(f"interrupted ({error})")
        return 130
    finally:
        if harness is not None:
            cleanup(harness, args)


def prime(harness, tokens):
    """A run and a well-formed request or two, so path ids name things that exist."""
    request = Req("POST", "/api/v1/functions/nightshift/noop/runs", token_kind="service",
                  content_type="application/json", body=b'{"payload": {"fuzz": true}}')
    outcome = harness.send(request, tokens)
    if outcome.status == 202:
        harness.known.runs.append(json.loads(outcome.body)["data"]["run_id"])
    else:
        raise SetupError(f"priming: {request.describe()} answered {outcome.status} {outcome.error or ''} {outcome.body[:300]!r}")


def cleanup(harness, args):
    try:
        harness.stop_server()
    except Exception:  # noqa: BLE001 -- clean up the rest regardless
        traceback.print_exc()
    try:
        if harness.snap_conn is not None:
            harness.snap_conn.close()
    except Exception:  # noqa: BLE001
        pass
    if harness.created_db and not args.keep:
        try:
            with psycopg.connect(harness.admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'drop database if exists "{harness.db}" with (force)')
        except Exception as error:  # noqa: BLE001
            log(f"could not drop {harness.db}: {error}")
    elif args.keep:
        log(f"kept database {harness.db}")
    shutil.rmtree(harness.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
