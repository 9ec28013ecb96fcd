"""The suite's verdict: each check is SQL over nightshift.*, notify.* and the workload's chaos.*
tables (plus the webhook receiver's log and the 100 ms concurrency samples), run after the
faults stopped and the system settled. A check returns how many things it looked at and the
violations it found, each with the evidence (run ids, counts) to start an investigation from."""
import json
from dataclasses import dataclass, field

OWN_FAILURE = "chaos: the payload asked this run to fail"
CHAOS = "chaos/%"


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.violations


def rows(db, sql, params=None):
    return db.execute(sql, params).fetchall()


def cron_slots(db):
    """Every due slot of each chaos cron schedule has exactly one run or one skip record."""
    check = Check("cron: every due slot has exactly one run or skip record")
    for function_id, missing, doubled, total, behind in rows(db, """
        with recursive s as (
            select sc.function_id, sc.cron, sc.timezone, sc.next_slot,
                   nightshift.next_fire(sc.cron, sc.timezone, f.created_at) as slot
            from nightshift.schedules sc join nightshift.functions f on f.id = sc.function_id
            where sc.function_id like 'chaos/%'
          union all
            select s.function_id, s.cron, s.timezone, s.next_slot, nightshift.next_fire(s.cron, s.timezone, s.slot)
            from s where s.slot < s.next_slot
        ), due as (
            select function_id, slot from s where slot < next_slot
        ), covered as (
            select d.function_id, d.slot,
                   (select count(*) from nightshift.runs r
                    where r.function_id = d.function_id and r.trigger_kind = 'cron' and r.trigger_slot = d.slot)
                 + (select count(*) from nightshift.skipped_slots k
                    where k.function_id = d.function_id and d.slot between k.first_slot and k.last_slot) as records
            from due d
        )
        select sc.function_id,
               (select array_agg(c.slot order by c.slot) from covered c where c.function_id = sc.function_id and c.records = 0),
               (select array_agg(c.slot order by c.slot) from covered c where c.function_id = sc.function_id and c.records > 1),
               (select count(*) from covered c where c.function_id = sc.function_id),
               now() - sc.next_slot > interval '5 seconds'
        from nightshift.schedules sc where sc.function_id like 'chaos/%' order by 1
        """):
        check.checked += total
        if missing:
            check.violations.append(f"{function_id}: {len(missing)} slot(s) with no run and no skip record: {[str(m) for m in missing[:5]]}")
        if doubled:
            check.violations.append(f"{function_id}: {len(doubled)} slot(s) recorded twice: {[str(d) for d in doubled[:5]]}")
        if behind:
            check.violations.append(f"{function_id}: the ticker fell behind (next_slot more than 5 s in the past)")
    # A run for a slot that was never due (outside the schedule's slots) is a double by another name.
    for function_id, stray in rows(db, """
        select r.function_id, count(*) from nightshift.runs r join nightshift.schedules sc on sc.function_id = r.function_id
        where r.function_id like 'chaos/%' and r.trigger_kind = 'cron' and r.trigger_slot >= sc.next_slot
        group by 1"""):
        check.violations.append(f"{function_id}: {stray} cron run(s) for slots not yet due")
    return check


def terminal(db, cutoff):
    """Every run triggered before the cutoff reached completed, failed or cancelled."""
    check = Check("runs: every triggered run reached a terminal state")
    check.checked = rows(db, "select count(*) from nightshift.runs where function_id like %s and created_at < %s", (CHAOS, cutoff))[0][0]
    for run_id, function_id, status, run_at, attempt, crash_count in rows(db, """
        select id, function_id, status, run_at, attempt, crash_count from nightshift.runs
        where function_id like %s and created_at < %s and status not in ('completed', 'failed', 'cancelled')
        order by created_at limit 20""", (CHAOS, cutoff)):
        check.violations.append(f"run {run_id} ({function_id}) still {status}, run_at {run_at}, attempt {attempt}, crash_count {crash_count}")
    return check


def failures(db):
    """Only runs whose own code fails may end failed; everything else failed because of a fault."""
    check = Check("runs: none failed because of the faults alone")
    own, = rows(db, """
        select count(*) from nightshift.runs
        where function_id like %s and status = 'failed' and error->>'message' = %s and (payload->>'fail')::boolean""",
                (CHAOS, OWN_FAILURE))[0]
    asked, = rows(db, "select count(*) from nightshift.runs where function_id like %s and (payload->>'fail')::boolean", (CHAOS,))[0]
    check.checked = own
    for run_id, function_id, error, attempt, crash_count in rows(db, """
        select id, function_id, error, attempt, crash_count from nightshift.runs
        where function_id like %s and status = 'failed'
          and not (error->>'message' = %s and coalesce((payload->>'fail')::boolean, false))
        order by finished_at""", (CHAOS, OWN_FAILURE)):
        check.violations.append(f"run {run_id} ({function_id}) failed: {json.dumps(error)} (attempt {attempt}, crash_count {crash_count})")
    for run_id, status in rows(db, """
        select id, status from nightshift.runs where function_id like %s and coalesce((payload->>'fail')::boolean, false)
          and status = 'completed'""", (CHAOS,)):
        check.violations.append(f"run {run_id} asked to fail but {status}")
    check.note = f"{own} of {asked} runs that asked to fail failed by their own code"
    return check


def transactions(db):
    """No step.transaction committed twice, none lost, none committed without its checkpoint."""
    check = Check("steps: no step.transaction row written twice (or lost)")
    check.checked = rows(db, "select count(*) from chaos.tx_effects")[0][0]
    for run_id, step, count in rows(db, """
        select run_id, step, count(*) from chaos.tx_effects group by 1, 2 having count(*) > 1 order by 3 desc limit 20"""):
        check.violations.append(f"run {run_id} step {step}: written {count} times")
    # Atomicity both ways: an effect without its checkpoint, or a checkpoint without its effect.
    for run_id, step, problem in rows(db, """
        select e.run_id, e.step, 'effect without checkpoint' from chaos.tx_effects e
        where not exists (select from nightshift.steps s where s.run_id = e.run_id and s.name = e.step)
        union all
        select s.run_id, s.name, 'checkpoint without effect' from nightshift.steps s join nightshift.runs r on r.id = s.run_id
        where r.function_id like 'chaos/%%' and s.name in ('t1', 't2', 'record')
          and not exists (select from chaos.tx_effects e where e.run_id = s.run_id and e.step = s.name)
        limit 20"""):
        check.violations.append(f"run {run_id} step {step}: {problem}")
    for run_id, count in rows(db, """
        select r.id, (select count(*) from chaos.tx_effects e where e.run_id = r.id) from nightshift.runs r
        where r.function_id = 'chaos/pipeline' and r.status = 'completed'
          and (select count(*) from chaos.tx_effects e where e.run_id = r.id) <> 2 limit 20"""):
        check.violations.append(f"completed pipeline run {run_id} has {count} transaction rows, not 2")
    return check


def step_executions(db):
    """A step.run body runs at most once plus once per attempt of its run that did not end well
    (crashed, killed, stopped past its lease, cut off, or failed and retried)."""
    check = Check("steps: no step.run body executed more than 1 + the crashes during it")
    check.checked = rows(db, "select count(*) from chaos.step_executions")[0][0]
    for run_id, step, executions, allowed in rows(db, """
        with e as (select run_id, step, count(*) as executions from chaos.step_executions group by 1, 2)
        select e.run_id, e.step, e.executions,
               1 + (select count(*) from nightshift.run_attempts a
                    where a.run_id = e.run_id and a.outcome in ('crashed', 'retrying', 'failed')) as allowed
        from e where e.executions > 1 + (select count(*) from nightshift.run_attempts a
                                          where a.run_id = e.run_id and a.outcome in ('crashed', 'retrying', 'failed'))
        order by 3 desc limit 20"""):
        check.violations.append(f"run {run_id} step {step}: body ran {executions} times, at most {allowed} allowed")
    return check


def concurrency(db, samples):
    """Never two singletons running, never a per-key limit exceeded: 100 ms samples, the
    unique index, and the recorded attempts' intervals."""
    check = Check("concurrency: singleton never twice, per-key limit never exceeded")
    check.checked = samples["count"]
    for violation in samples["violations"][:20]:
        check.violations.append(f"sample at {violation}")
    valid = rows(db, """
        select i.indisvalid from pg_catalog.pg_index i join pg_catalog.pg_class c on c.oid = i.indexrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'nightshift' and c.relname = 'runs_singleton_idx'""")
    if not valid or not valid[0][0]:
        check.violations.append("index nightshift.runs_singleton_idx is missing or invalid")
    # The attempts' history: two attempts of one (function, key) whose recorded intervals overlap.
    # Both ends are transaction start times (now()): a claim that began a few milliseconds before
    # the previous run's completion began, but counted after it committed, looks like an overlap
    # of those milliseconds although nothing ran twice. Real overlaps last a step at least (>= 50 ms
    # here), so only those longer than 20 ms count; the shorter ones are reported in the note.
    short = 0
    for function_id, key, limit, at, running, overlap, evidence in rows(db, """
        with a as (
            select r.function_id, r.concurrency_key, r.concurrency_limit, a.started_at, a.finished_at, a.run_id,
                   a.outcome, a.worker
            from nightshift.ended_attempts a join nightshift.runs r on r.id = a.run_id
            where r.function_id like 'chaos/%%' and r.concurrency_limit is not null
        ), pairs as (
            select x.function_id, x.concurrency_key, x.concurrency_limit, x.started_at,
                   count(*) as running,
                   min(least(x.finished_at, y.finished_at) - x.started_at) filter (where y.run_id <> x.run_id) as overlap,
                   string_agg(y.run_id::text || ' ' || y.outcome || ' ' || y.started_at::time::text || '-' ||
                              y.finished_at::time::text || ' ' || y.worker, '; ') as evidence
            from a x join a y on y.function_id = x.function_id
                and y.concurrency_key is not distinct from x.concurrency_key
                and y.started_at <= x.started_at and y.finished_at > x.started_at
            group by 1, 2, 3, 4, x.run_id
            having count(*) > x.concurrency_limit
        )
        select * from pairs order by overlap desc"""):
        if overlap is not None and overlap.total_seconds() <= 0.020:
            short += 1
            continue
        if len(check.violations) < 20:
            check.violations.append(f"{function_id} key {key}: {running} attempts overlapped by {overlap} at {at} "
                                    f"(limit {limit}): {evidence}")
    check.note = f"{short} overlaps of at most 20 ms between recorded transaction start times"
    return check


def notification_cap(db, cap):
    check = Check("notifications: the daily cap never exceeded per user and day")
    for user_id, day, sent, counted, suppressed in rows(db, """
        select c.user_id, c.day, c.sent,
               (select count(*) from notify.notifications n where n.user_id = c.user_id
                  and (n.created_at at time zone 'UTC')::date = c.day),
               c.suppressed
        from notify.daily_counts c"""):
        check.checked += 1
        if sent > cap or counted > cap:
            check.violations.append(f"user {user_id} on {day}: {counted} notifications ({sent} counted), cap {cap}")
        if sent != counted:
            check.violations.append(f"user {user_id} on {day}: daily_counts says {sent}, inbox has {counted}")
    check.note = "suppressed by the cap: %s" % rows(db, "select coalesce(sum(suppressed), 0) from notify.daily_counts")[0][0]
    return check


def deliveries(db, receiver_log):
    check = Check("webhooks: every delivery received, duplicates only with the same key")
    received = {}
    keys_by_notification = {}
    requests = 0
    try:
        with open(receiver_log) as f:
            for line in f:
                entry = json.loads(line)
                requests += 1
                if entry["answer"] == 200:
                    received[entry["key"]] = received.get(entry["key"], 0) + 1
                keys_by_notification.setdefault(entry["notification"], set()).add(entry["key"])
    except FileNotFoundError:
        pass
    known = {}
    for delivery_id, key, status, attempts, error in rows(db, """
        select id, idempotency_key, status, attempts, last_error from notify.deliveries order by id"""):
        check.checked += 1
        known[key] = True
        if status != "delivered":
            check.violations.append(f"delivery {delivery_id} ({key}) is {status} after {attempts} attempts: {error}")
        if key not in received:
            check.violations.append(f"delivery {delivery_id} ({key}) never received with a 2xx answer (status {status})")
    for notification, keys in keys_by_notification.items():
        if len(keys) > 1:
            check.violations.append(f"notification {notification} arrived under {len(keys)} different keys: {sorted(keys)}")
    for key in received:
        if key not in known:
            check.violations.append(f"received key {key} that no delivery has")
    duplicates = sum(count - 1 for count in received.values())
    check.note = f"{requests} requests, {duplicates} duplicate 2xx deliveries (same key)"
    check.duplicates = duplicates
    check.requests = requests
    return check


def leases(db):
    check = Check("leases: no run left running with an expired lease")
    check.checked = rows(db, "select count(*) from nightshift.runs where status = 'running'")[0][0]
    for run_id, owner, expired in rows(db, """
        select id, lease_owner, now() - lease_expires_at from nightshift.runs
        where status = 'running' and lease_expires_at < now() - interval '2 seconds'"""):
        check.violations.append(f"run {run_id} running with a lease expired {expired} ago (owner {owner})")
    return check


def orphans(db):
    check = Check("history: no orphan steps, attempts or effects")
    check.checked = rows(db, "select (select count(*) from nightshift.steps) + (select count(*) from nightshift.run_attempts)")[0][0]
    for what, count in rows(db, """
        select 'attempts without a run', count(*) from nightshift.run_attempts a
        where not exists (select from nightshift.runs r where r.id = a.run_id)
        union all
        select 'steps without a run', count(*) from nightshift.steps s
        where not exists (select from nightshift.runs r where r.id = s.run_id)
        union all
        select 'effects of unknown runs', count(*) from (select run_id from chaos.tx_effects union all
                                                         select run_id from chaos.step_executions) e
        where not exists (select from nightshift.runs r where r.id = e.run_id)
        union all
        select 'steps of runs never claimed', count(*) from nightshift.steps s join nightshift.runs r on r.id = s.run_id
        where r.started_at is null
        union all
        select 'attempts of the current claim recorded as ended', count(*) from nightshift.run_attempts a
        join nightshift.runs r on r.id = a.run_id where r.status = 'running' and r.lease_token = a.lease_token"""):
        if count:
            check.violations.append(f"{count} {what}")
    return check


def fanout(db):
    check = Check("events: every event fanned out to its three functions once")
    for event_id, enqueued, runs, functions in rows(db, """
        select e.id, e.runs_enqueued, count(r.id), count(distinct r.function_id)
        from nightshift.events e left join nightshift.runs r on r.trigger_event_id = e.id
        where e.name = 'chaos.fanout' group by e.id, e.runs_enqueued"""):
        check.checked += 1
        if not (enqueued == runs == functions == 3):
            check.violations.append(f"event {event_id}: runs_enqueued {enqueued}, {runs} runs over {functions} functions (3 expected)")
    for run_id, events in rows(db, """
        select r.id, (select count(*) from nightshift.events e where e.idempotency_key like 'run:' || r.id::text || ':%%')
        from nightshift.runs r where r.function_id = 'chaos/pipeline' and r.status = 'completed'
          and coalesce((r.payload->>'fanout')::boolean, false)
          and (select count(*) from nightshift.events e where e.idempotency_key like 'run:' || r.id::text || ':%%') <> 1"""):
        check.violations.append(f"pipeline run {run_id} sent {events} fan-out events (1 expected)")
    return check


def triggered(db, run_ids):
    """Every trigger the harness saw succeed is a run (an accepted trigger is never lost)."""
    check = Check("triggers: every accepted trigger is a run")
    check.checked = len(run_ids)
    if run_ids:
        found = rows(db, "select count(*) from nightshift.runs where id = any(%s)", (list(run_ids),))[0][0]
        if found != len(run_ids):
            check.violations.append(f"{len(run_ids) - found} accepted triggers have no run")
    return check


def resume_within(name, latencies, bound):
    check = Check(name)
    check.checked = len(latencies)
    for fault_at, run_id, latency in latencies:
        if latency is None:
            check.violations.append(f"run {run_id} held at the fault ({fault_at}) never resumed")
        elif bound is not None and latency > bound:
            check.violations.append(f"run {run_id}: resumed {latency:.2f} s after the fault, bound {bound:.1f} s")
    return check


# Each check must be able to fail: --self-check breaks each invariant once, inside a transaction
# that is rolled back, and expects the matching check to report it.
CORRUPTIONS = [
    ("transactions", "a step.transaction row written twice",
     "insert into chaos.tx_effects (run_id, step, attempt, pid) select run_id, step, attempt, pid from chaos.tx_effects limit 1"),
    ("step_executions", "a step.run body executed five more times",
     "insert into chaos.step_executions (run_id, step, attempt, pid) select e.run_id, e.step, e.attempt, e.pid "
     "from (select * from chaos.step_executions limit 1) e, generate_series(1, 5)"),
    ("failures", "a run failed by a fault",
     "update nightshift.runs set status = 'failed', error = '{\"message\": \"quarantined: worker lost 3 times in a row\"}' "
     "where id = (select id from nightshift.runs where function_id = 'chaos/singleton' and status = 'completed' limit 1)"),
    ("terminal", "a run left queued",
     "update nightshift.runs set status = 'queued', finished_at = null "
     "where id = (select id from nightshift.runs where function_id = 'chaos/limited' and status = 'completed' limit 1)"),
    ("cron_slots", "a due cron slot without its run",
     "delete from nightshift.runs where id = (select id from nightshift.runs where function_id like 'chaos/cron-%' limit 1)"),
    ("concurrency", "two attempts of the singleton overlapping",
     "insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome) "
     "select a.run_id, a.lease_token + 1000000000, a.attempt, 'self-check', a.started_at, a.finished_at, 'completed' "
     "from nightshift.ended_attempts a join nightshift.runs r on r.id = a.run_id where r.function_id = 'chaos/singleton' limit 1"),
    ("notification_cap", "a user over the daily cap",
     "update notify.daily_counts set sent = sent + 100 where user_id = (select user_id from notify.daily_counts limit 1)"),
    ("deliveries", "a delivery that failed",
     "update notify.deliveries set status = 'failed', delivered_at = null where id = (select min(id) from notify.deliveries)"),
    ("leases", "a run running under an expired lease",
     "update nightshift.runs set status = 'running', finished_at = null, lease_token = 1, lease_owner = 'self-check', "
     "claimed_at = now() - interval '1 minute', lease_expires_at = now() - interval '30 seconds' "
     "where id = (select id from nightshift.runs where function_id = 'chaos/pipeline' and status = 'completed' limit 1)"),
    ("orphans", "an attempt of a run that does not exist",
     "insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome) "
     "values (gen_random_uuid(), 1, 1, 'self-check', now(), now(), 'crashed')"),
    ("fanout", "an event whose fan-out lost a run",
     "delete from nightshift.runs where id = (select id from nightshift.runs where function_id = 'chaos/fanout-b' limit 1)"),
]


def self_check(url, cutoff, samples, cap, receiver_log, run_ids):
    """Returns (name, what was broken, violations the check reported) per corruption."""
    import psycopg
    out = []
    for name, what, sql in CORRUPTIONS:
        with psycopg.connect(url) as db:  # not autocommit: the corruption is rolled back
            db.execute(sql)
            check = {
                "transactions": lambda: transactions(db), "step_executions": lambda: step_executions(db),
                "failures": lambda: failures(db), "terminal": lambda: terminal(db, cutoff),
                "cron_slots": lambda: cron_slots(db), "concurrency": lambda: concurrency(db, samples),
                "notification_cap": lambda: notification_cap(db, cap),
                "deliveries": lambda: deliveries(db, receiver_log), "leases": lambda: leases(db),
                "orphans": lambda: orphans(db), "fanout": lambda: fanout(db),
            }[name]()
            db.rollback()
        out.append((name, what, len(check.violations)))
    import uuid
    out.append(("triggered", "an accepted trigger without its run",
                len(triggered(psycopg.connect(url, autocommit=True), set(run_ids) | {uuid.uuid4()}).violations)))
    return out
