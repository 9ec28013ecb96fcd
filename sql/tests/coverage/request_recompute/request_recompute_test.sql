-- request_recompute: the manual trigger enqueues coverage/nightly-recompute for one
-- institution, or returns the run already queued or running for it.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-0000000000d1', 'One'), ('c0000000-0000-4000-8000-0000000000d2', 'Two');

select nightshift.sync_functions('[{"id": "tests/not-coverage"}]');
select throws_ok($$select coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1')$$,
    'NSF01', null, 'without a registered coverage/nightly-recompute there is nothing to enqueue');

select nightshift.sync_functions('[{"id": "coverage/nightly-recompute", "concurrency": {"limit": 1}}]');
create temp table requests (n integer primary key, r jsonb) on commit drop;
insert into requests values (1, coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1'));

select is((select r - 'job_id' from requests where n = 1), '{"status": "queued", "created": true}', 'a first request enqueues a run');
select is((select payload - 'triggered_at' from nightshift.runs where id = (select (r ->> 'job_id')::uuid from requests where n = 1)),
    '{"institution_id": "c0000000-0000-4000-8000-0000000000d1", "trigger_type": "manual"}',
    'limited to the institution by its payload (and manual: recompute_payload_test)');

insert into requests values (2, coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1'));
select is((select r from requests where n = 2), (select r || '{"created": false}' from requests where n = 1),
    'a second request while it is queued returns the same run, not created');

update nightshift.runs set status = 'running', lease_owner = 'w', lease_token = 1, lease_expires_at = now() + interval '1 minute',
                           started_at = now(), claimed_at = now()
where id = (select (r ->> 'job_id')::uuid from requests where n = 1);
select is(coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1'),
    (select jsonb_build_object('job_id', r -> 'job_id', 'status', 'running', 'created', false) from requests where n = 1),
    'so does one while it runs');

select is(coverage.request_recompute('c0000000-0000-4000-8000-0000000000d2') - 'job_id', '{"status": "queued", "created": true}',
    'another institution gets its own run');

update nightshift.runs set status = 'completed', finished_at = now(), lease_owner = null, lease_token = null, lease_expires_at = null
where id = (select (r ->> 'job_id')::uuid from requests where n = 1);
insert into requests values (3, coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1'));
select ok((select (r ->> 'created')::boolean and r ->> 'job_id' <> (select r ->> 'job_id' from requests where n = 1) from requests where n = 3),
    'once the run finished, a request enqueues a new one');

update nightshift.runs set status = 'cancelled', finished_at = now() where id = (select (r ->> 'job_id')::uuid from requests where n = 3);
select nightshift.trigger('coverage/nightly-recompute');
select is(coverage.request_recompute('c0000000-0000-4000-8000-0000000000d1') -> 'created', 'true',
    'a queued full nightly run does not count as a recompute of the institution');

select nightshift.trigger('coverage/nightly-recompute', '{"institution_id": "C0000000-0000-4000-8000-0000000000D2"}');
select is(coverage.request_recompute('c0000000-0000-4000-8000-0000000000d2') -> 'created', 'false',
    'a run triggered from the console with an upper-case id counts');

select throws_ok($$select coverage.request_recompute('c0000000-0000-4000-8000-0000000000ff')$$,
    'NSC01', 'unknown institution c0000000-0000-4000-8000-0000000000ff', 'an unknown institution is refused with NSC01');

select * from finish();
rollback;
