#!/usr/bin/env python3
"""The console in a real browser (`make console-check`; issue 14 §3).

Starts the real server with a worker (`nightshift serve` on a free loopback port, logging in as
nightshift_app, the chaos workload's functions registered: chaos/pipeline runs steps, sleeps
durably and fails on request) on a throwaway database of the running cluster, then drives
Debian's headless Chromium through Selenium (PyPI), pointed at the system browser and driver
(/usr/bin/chromium, /usr/bin/chromedriver: nothing is downloaded):

  1. sign in with the service-role key (the page never keeps it: a cookie comes back);
  2. trigger a run from SQL and see it appear on the runs page without a reload (live, through
     GET /api/v1/stream, which the page reads with its session cookie);
  3. open it and watch its steps complete, without a reload;
  4. cancel a sleeping run; 5. rerun a failed one;
  6. a form without its CSRF token is refused (403);
  7. an operator sees no action buttons, and a forged POST (with a valid CSRF token) is 403;
  8. Tab through the functions and runs pages: every focusable control has an accessible name,
     and every visible control is reached;
  9. sign out: the console sends you to the sign-in page again.
Between 8 and 9, past 20 functions: the functions page comes in pages, and a schedule's link
opens the page that holds its function's card.

A screenshot of each page lands in .nightshift/console-screens/. Exits 1 on any failure, 2 on a
setup error; the database and the server are removed afterwards, always.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import uuid
from datetime import datetime, timezone

import psycopg
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CONFIG = os.path.join(ROOT, "supabase-like-config", "config.toml")
SCREENS = os.path.join(ROOT, ".nightshift", "console-screens")
CHAOS_SCHEMA = os.path.join(ROOT, "Tests", "Chaos", "schema.sql")
BROWSER = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("CONSOLE_CHROMEDRIVER", "/usr/bin/chromedriver")


class SetupError(Exception):
    pass


def log(message):
    print(f"[console {datetime.now(timezone.utc).strftime('%H:%M:%S')}] {message}", flush=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, secret):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def with_user_and_db(url, user, database):
    match = re.match(r"^(postgres(?:ql)?://)(?:[^@/]*@)?([^/]*)(?:/.*)?$", url)
    if not match:
        raise SetupError(f"cannot read the database URL {url}")
    return f"{match.group(1)}{user}@{match.group(2)}/{database}"


class Harness:
    def __init__(self, binary):
        base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:54329/postgres"
        self.db = f"console_check_{os.getpid()}"
        self.admin_url = with_user_and_db(base, "postgres", "postgres")
        self.owner_url = with_user_and_db(base, "postgres", self.db)
        self.app_url = with_user_and_db(base, "nightshift_app", self.db)
        self.tmp = tempfile.mkdtemp(prefix="nightshift-console-")
        self.bin = os.path.join(self.tmp, "nightshift")
        source = binary if os.path.isabs(binary) else os.path.join(ROOT, binary)
        if not os.path.exists(source):
            raise SetupError(f"{source} is missing: build it first (swift build)")
        shutil.copy2(source, self.bin)
        # The resource bundles (bundled SQL, the console's templates) sit beside the binary.
        for name in os.listdir(os.path.dirname(source)):
            if name.endswith(".resources"):
                shutil.copytree(os.path.join(os.path.dirname(source), name), os.path.join(self.tmp, name))
        with open(CONFIG, "rb") as f:
            self.config = tomllib.load(f)
        self.server = None
        self.port = None
        self.created = False
        self.log_path = os.path.join(ROOT, ".nightshift", "console-serve.log")

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NIGHTSHIFT_", "OTEL_", "DATABASE_"))}
        env["DATABASE_URL"] = self.app_url
        env["ENABLE_SCHEDULED_JOBS"] = "false"
        env["NIGHTSHIFT_CHAOS_WORKLOAD"] = "1"
        env["NIGHTSHIFT_LOG_LEVEL"] = "notice"
        return env

    def start(self):
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{self.db}" with (force)')
            conn.execute(f'create database "{self.db}"')
        self.created = True
        env = self.env()
        env["DATABASE_URL"] = self.owner_url
        result = subprocess.run([self.bin, "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise SetupError(f"nightshift migrate failed:\n{result.stdout}\n{result.stderr}")
        subprocess.run(["psql", self.owner_url, "-Xq", "-v", "ON_ERROR_STOP=1", "-f", CHAOS_SCHEMA], check=True,
                       capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.server = subprocess.Popen([self.bin, "serve", "--port", str(self.port)], cwd=ROOT, env=self.env(),
                                       stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SetupError(f"nightshift serve exited with {self.server.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise SetupError(f"nightshift serve did not answer /health within 90 s; see {self.log_path}")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def sql(self, query, *args):
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            rows = conn.execute(query, args)
            return rows.fetchall() if rows.description else []

    def stream_available(self):
        """Whether GET /api/v1/stream exists (401 without credentials; 404 while not merged)."""
        request = urllib.request.Request(f"{self.base}/api/v1/stream")
        try:
            urllib.request.urlopen(request, timeout=3).close()
            return True
        except urllib.error.HTTPError as error:
            return error.code != 404
        except OSError:
            return False

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.created:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{self.db}" with (force)')
        shutil.rmtree(self.tmp, ignore_errors=True)


ACCESSIBLE_NAME = """
const el = arguments[0];
function text(n) { return (n && (n.innerText || n.textContent) || '').trim(); }
if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
const by = el.getAttribute('aria-labelledby');
if (by) return by.split(/\\s+/).map(id => text(document.getElementById(id))).join(' ').trim();
if (el.labels && el.labels.length) return Array.from(el.labels).map(text).join(' ').trim();
if (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type)) return (el.value || '').trim();
if (['A', 'BUTTON', 'SUMMARY'].includes(el.tagName)) return text(el) || (el.getAttribute('title') || '').trim();
return (el.getAttribute('title') || '').trim();
"""

DESCRIBE = "const e = arguments[0]; return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('href') ? '[href=' + e.getAttribute('href') + ']' : '') + (e.name ? '[name=' + e.name + ']' : '');"

VISIBLE_CONTROLS = """
return Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary'))
  .filter(e => e.offsetParent !== null && !e.disabled);
"""


class Check:
    def __init__(self, harness):
        self.h = harness
        self.failures = []
        self.notes = []
        options = webdriver.ChromeOptions()
        options.binary_location = BROWSER
        for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"]:
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.driver.set_page_load_timeout(30)
        auth = harness.config.get("auth", {})
        self.service_key = os.environ.get("NIGHTSHIFT_SERVICE_ROLE_KEY") or auth.get("service_role_key")
        now = int(time.time())
        self.operator_token = jwt({"role": "authenticated", "sub": str(uuid.uuid4()), "app_metadata": {"role": "operator"},
                                   "iat": now, "exp": now + 3600, "iss": harness.config.get("project_id", "nightshift-local")},
                                  auth.get("jwt_secret", ""))

    # -- helpers -------------------------------------------------------------------------------
    def expect(self, condition, message):
        if condition:
            log(f"ok    {message}")
        else:
            log(f"FAIL  {message}")
            self.failures.append(message)
        return condition

    def go(self, path):
        self.driver.get(self.h.base + path)

    def shot(self, name):
        os.makedirs(SCREENS, exist_ok=True)
        # The whole page: the window grows to the document's height for the picture.
        height = self.driver.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
        self.driver.set_window_size(1366, max(900, height))
        self.driver.save_screenshot(os.path.join(SCREENS, f"{name}.png"))
        self.driver.set_window_size(1366, 900)

    def wait(self, condition, timeout=20, message="condition"):
        # A live page replaces elements as the run moves: one found and then re-rendered before it
        # is read is stale, which means "look again", not "give up" (WebDriverWait only ignores
        # NoSuchElementException by default; a stale #run-status once ended a 60 s wait at once).
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                                 ).until(lambda d: condition())
        except Exception:
            return None

    def sign_in(self, token):
        self.go("/console")
        self.wait(lambda: "/console/sign-in" in self.driver.current_url, 10)
        field = self.driver.find_element(By.ID, "token")
        self.driver.execute_script("arguments[0].value = arguments[1]", field, token)
        field.send_keys(" ")  # a real keystroke too (trimmed by the server)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button[type=submit]").click()
        self.wait(lambda: "/console/sign-in" not in self.driver.current_url, 10)

    def status_of(self, run_id):
        return self.h.sql("select status from nightshift.runs where id = %s", run_id)[0][0]

    def wait_db(self, query, args, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.h.sql(query, *args)
            if predicate(rows):
                return rows
            time.sleep(0.3)
        return None

    # -- the steps -----------------------------------------------------------------------------
    def run(self):
        live = self.h.stream_available()
        self.expect(live, "GET /api/v1/stream is served (the live steps need it)")
        # Quiet cron functions (the chaos workload's every-second job) and a payload to show.
        self.h.sql("update nightshift.functions set enabled_override = false, enabled = false where id like 'chaos/cron-%%'")

        self.go("/console/sign-in")
        self.shot("01-sign-in")
        self.sign_in(self.service_key)
        self.expect(self.driver.current_url.rstrip("/").endswith("/console"), "the service key signs in and lands on the overview")
        cookie = self.driver.get_cookie("nightshift_console")
        self.expect(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
                    "the session is an HttpOnly, SameSite=Strict cookie")
        self.expect("service_role" not in self.driver.page_source and self.service_key not in self.driver.page_source,
                    "the page does not hold the key")

        # 2. A run triggered from SQL appears without reload.
        self.go("/console/runs")
        self.driver.execute_script("window.__consoleMarker = 'same page'")
        if live:
            self.wait(lambda: self.driver.find_element(By.ID, "runs").get_attribute("data-stream") == "open", 10)
        run_id = str(self.h.sql("select nightshift.trigger('chaos/pipeline', %s::jsonb)", json.dumps({"step_ms": 400, "fanout": True}))[0][0])
        appeared = self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, f"tr[data-run='{run_id}']"), 15)
        same_page = self.driver.execute_script("return window.__consoleMarker") == "same page"
        if live:
            self.expect(bool(appeared) and same_page, "a run triggered from SQL appears on the runs page without reload")
        else:
            log(f"wait  WAITING FOR STREAM: the new run {'appeared' if appeared else 'did not appear'} without reload")
        self.shot("03-runs")

        # 3. Its page follows its steps to completion.
        self.go(f"/console/runs/{run_id}")
        self.driver.execute_script("window.__consoleMarker = 'same page'")
        def completed():
            if not live:
                self.driver.refresh()
            return self.driver.find_element(By.ID, "run-status").text == "completed"
        done = self.wait(completed, 60)
        steps = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "table.steps td.mono")]
        if live:
            self.expect(bool(done) and self.driver.execute_script("return window.__consoleMarker") == "same page",
                        "the run's page shows it complete without reload")
        else:
            self.expect(bool(done), "the run's page shows it complete (by reload: WAITING FOR STREAM)")
        self.expect(steps[:7] == ["s1", "s2", "t1", "s3", "s4", "t2", "s5"] and len(steps) == 8,
                    f"its steps are listed in order, the event it sent last ({steps})")
        sent = self.driver.find_elements(By.XPATH, "//h2[normalize-space()='Events this run sent']/following-sibling::ul[1]/li")
        self.expect(len(sent) == 1 and "chaos.fanout" in sent[0].text, "the event it sent is listed on its page")
        outcomes = "//h2[normalize-space()='Attempts']/following-sibling::table[1]/tbody/tr/td[4]"
        ended = self.wait(lambda: [e.text for e in self.driver.find_elements(By.XPATH, outcomes)] == ["completed"], 10)
        self.expect(bool(ended), "its one attempt is listed as completed (the completing claim, read off the run): "
                    f"{[e.text for e in self.driver.find_elements(By.XPATH, outcomes)]}")
        self.shot("04-run-detail")
        self.go("/console/runs")
        self.shot("03-runs")

        # 4. Cancel a sleeping run.
        sleeper = str(self.h.sql("select nightshift.trigger('chaos/pipeline', %s::jsonb)",
                                 json.dumps({"step_ms": 50, "sleep_ms": 600000}))[0][0])
        slept = self.wait_db("select count(*) from nightshift.run_attempts where run_id = %s and outcome = 'sleeping'", (sleeper,),
                             lambda rows: rows[0][0] >= 1, 60)
        self.expect(slept is not None, "a pipeline run went to sleep in its nap step")
        self.go(f"/console/runs/{sleeper}")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Cancel this run']").click()
        self.wait(lambda: self.driver.find_element(By.ID, "run-status").text == "cancelled", 10)
        self.expect(self.status_of(sleeper) == "cancelled" and self.driver.find_element(By.ID, "run-status").text == "cancelled",
                    "cancelling the sleeping run from its page cancels it")

        # 5. Rerun a failed one.
        failing = str(self.h.sql("select nightshift.trigger('chaos/pipeline', %s::jsonb)", json.dumps({"step_ms": 50, "fail": True}))[0][0])
        failed = self.wait_db("select status from nightshift.runs where id = %s", (failing,), lambda rows: rows[0][0] == "failed", 60)
        self.expect(failed is not None, "a pipeline run asked to fail failed")
        self.go(f"/console/runs/{failing}")
        self.shot("05-run-failed")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Rerun with the same payload']").click()
        self.wait(lambda: failing not in self.driver.current_url, 10)
        rerun = self.driver.current_url.rsplit("/", 1)[-1]
        rows = self.h.sql("select rerun_of::text, trigger_kind from nightshift.runs where id::text = %s", rerun)
        self.expect(rows == [(failing, "rerun")], "rerunning the failed run from its page starts a rerun and shows it")

        # 6. A form without its CSRF token is refused.
        self.go(f"/console/runs/{failing}")
        self.driver.execute_script("""
            const form = document.querySelector("form[action$='/rerun']");
            form.querySelector("input[name=csrf]").remove();
            form.submit();""")
        self.wait(lambda: "403" in self.driver.title, 10)
        self.expect("403" in self.driver.title and "CSRF" in self.driver.page_source, "a form without its CSRF token is refused (403)")
        self.shot("06-csrf-refused")

        # Every page, for the record (and the overview and functions with data now).
        for name, path in [("02-overview", "/console"), ("07-functions", "/console/functions"), ("08-schedules", "/console/schedules"),
                           ("10-notifications", "/console/notifications")]:
            self.go(path)
            self.expect(self.driver.find_element(By.TAG_NAME, "h1").text != "" and "500" not in self.driver.title, f"{path} renders")
            self.shot(name)

        # The event it sent, with the three runs it fanned out to, and its replay.
        self.go("/console/events")
        fanned = self.driver.find_elements(By.CSS_SELECTOR, "td ul.plain li")
        self.expect(len(fanned) == 3, f"the events page lists the three runs chaos.fanout fanned out to ({len(fanned)})")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Replay chaos.fanout']").click()
        replays = self.wait_db("select count(*) from nightshift.events where replay_of is not null", (), lambda rows: rows[0][0] == 1, 10)
        self.expect(replays is not None, "replaying it sends the event again")
        self.shot("09-events")

        # Run now with a payload that is not JSON: the error shows in place.
        self.go("/console/functions")
        area = self.driver.find_element(By.ID, "f-chaos-pipeline-payload")
        area.clear()
        area.send_keys('{"step_ms": ')
        error = self.driver.find_element(By.ID, "f-chaos-pipeline-payload-error").text
        self.expect(error.startswith("Not valid JSON") and area.get_attribute("aria-invalid") == "true",
                    "a payload that does not parse shows its error next to the editor, as it is typed")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Run chaos/pipeline now']").click()
        self.expect("/console/functions" in self.driver.current_url, "and the form is not sent")
        self.shot("11-run-now-error")

        # 8. Keyboard: every control reachable by Tab and named.
        for path in ["/console/functions", "/console/runs"]:
            self.keyboard(path)

        # Past 20 functions the functions page comes in pages of 20; the schedules page links to
        # the page that holds a function's card, scrolled to it.
        self.h.sql("select nightshift.define_function('zz/page-' || lpad(i::text, 2, '0'), 'sql', '{\"sql\": \"select 1\"}'::jsonb, "
                   "case when i = 25 then '0 3 * * *' end) from generate_series(1, 25) i")
        total = self.h.sql("select count(*) from nightshift.functions")[0][0]
        self.go("/console/functions")
        cards = self.driver.find_elements(By.CSS_SELECTOR, "section.card")
        self.expect(len(cards) == 20 and f"of {total}, page 1 of" in self.driver.page_source,
                    f"the functions page shows the first 20 of {total} functions ({len(cards)} cards)")
        self.driver.find_element(By.LINK_TEXT, "Next functions").click()
        self.wait(lambda: "page=2" in self.driver.current_url, 10)
        cards = self.driver.find_elements(By.CSS_SELECTOR, "section.card")
        self.expect(len(cards) == min(20, total - 20), f"Next functions shows the next ones ({len(cards)} cards)")
        self.shot("13-functions-page-2")
        self.go("/console/schedules")
        self.driver.find_element(By.LINK_TEXT, "zz/page-25").click()
        self.wait(lambda: "function=zz/page-25" in self.driver.current_url, 10)
        card = self.driver.find_element(By.ID, "f-zz-page-25")
        in_view = self.driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight", card)
        self.expect(in_view, "a schedule's link opens the functions page that holds its card, scrolled to it")
        self.shot("14-functions-located")

        # 9. Sign out.
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
        self.wait(lambda: "/console/sign-in" in self.driver.current_url, 10)
        self.go("/console/runs")
        self.expect("/console/sign-in" in self.driver.current_url and self.driver.get_cookie("nightshift_console") is None,
                    "signing out clears the session: the console asks to sign in again")

        # 7. An operator.
        self.sign_in(self.operator_token)
        self.expect(self.driver.current_url.rstrip("/").endswith("/console"), "an operator's JWT signs in")
        for n, path in enumerate(["/console/functions", f"/console/runs/{failing}", "/console/events", "/console/notifications"]):
            self.go(path)
            self.shot(f"12-operator-{n + 1}-{path.split('/')[2]}")
            # Filters are GET forms; an action is a POST form (sign-out aside).
            buttons = [b.text for b in self.driver.find_elements(By.CSS_SELECTOR, "form[method=post] button") if b.text != "Sign out"]
            submit_forms = self.driver.find_elements(By.CSS_SELECTOR, "form[method=post]:not([action='/console/sign-out'])")
            self.expect(buttons == [] and submit_forms == [], f"an operator sees no action on {path} ({buttons})")
        status = self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const csrf = document.querySelector("form[action='/console/sign-out'] input[name=csrf]").value;
            fetch(arguments[0], {method: 'POST', credentials: 'same-origin', redirect: 'manual',
                                 headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                                 body: 'csrf=' + encodeURIComponent(csrf)})
              .then(r => done(r.status)).catch(e => done(String(e)));""", f"/console/runs/{sleeper}/rerun")
        count = self.h.sql("select count(*) from nightshift.runs where rerun_of = %s", sleeper)[0][0]
        self.expect(status == 403 and count == 0, f"an operator's forged POST (valid CSRF token) is 403 and starts nothing ({status})")

    def keyboard(self, path):
        # A fresh load: sequential focus navigation starts at the top of the document.
        self.go(path)
        seen, unnamed = [], []
        first = None
        for _ in range(400):
            webdriver.ActionChains(self.driver).send_keys(Keys.TAB).perform()
            element = self.driver.switch_to.active_element
            key = self.driver.execute_script(DESCRIBE, element) + f"@{element.id}"
            if first is None:
                first = key
            elif key == first:
                break
            if element.tag_name == "body":
                break
            seen.append(element.id)
            if not self.driver.execute_script(ACCESSIBLE_NAME, element):
                unnamed.append(self.driver.execute_script(DESCRIBE, element))
        controls = self.driver.execute_script(VISIBLE_CONTROLS)
        missed = [self.driver.execute_script(DESCRIBE, c) for c in controls if c.id not in seen]
        self.expect(not unnamed, f"{path}: every control reached by Tab has an accessible name ({len(seen)} reached; unnamed: {unnamed[:5]})")
        self.expect(not missed, f"{path}: every visible control is reached by Tab (missed: {missed[:5]})")

    def close(self):
        try:
            self.driver.quit()
        except Exception:
            pass


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/nightshift"
    started = time.monotonic()
    harness = None
    check = None
    try:
        harness = Harness(binary)
        harness.start()
        log(f"server on {harness.base}, database {harness.db}")
        check = Check(harness)
        check.run()
    except SetupError as error:
        log(f"setup error: {error}")
        return 2
    finally:
        if check:
            check.close()
        if harness:
            harness.stop()
    for note in check.notes:
        log(f"note  {note}")
    log(f"{len(check.failures)} failure(s) in {time.monotonic() - started:.0f} s; screenshots in {os.path.relpath(SCREENS, ROOT)}/")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
