-- define_function (0047) keeps credentials out of nightshift.functions.body: a header that
-- carries one must reference the worker's environment (${NAME}, expanded at each call).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

select throws_ok(
    $$select nightshift.define_function('crm/sync', 'http',
        '{"url": "https://crm.internal/sync", "headers": {"Authorization": "Bearer sk_live_abc123"}}')$$,
    '22023', 'header "Authorization" of function "crm/sync" holds a credential in plain text',
    'a literal bearer token is refused, naming the header and the function');
select throws_ok(
    $$select nightshift.define_function('crm/sync', 'http',
        '{"url": "https://crm.internal/sync", "headers": {"x-api-key": "abc"}}')$$,
    '22023', 'header "x-api-key" of function "crm/sync" holds a credential in plain text', 'so is an API key header');
select throws_ok(
    $$select nightshift.define_function('crm/sync', 'http',
        '{"url": "https://crm.internal/sync", "headers": {"X-Crm-Token": "abc"}}')$$,
    '22023', 'header "X-Crm-Token" of function "crm/sync" holds a credential in plain text', 'and any …token… header');
select is((select count(*)::integer from nightshift.functions where id = 'crm/sync'), 0, 'nothing was stored');

select is(
    (nightshift.define_function('crm/sync', 'http',
        '{"url": "https://crm.internal/sync", "headers": {"Authorization": "Bearer ${CRM_TOKEN}", "X-Team": "crm"}}')).body -> 'headers',
    '{"Authorization": "Bearer ${CRM_TOKEN}", "X-Team": "crm"}'::jsonb,
    'a reference to the environment is stored as written');
select lives_ok(
    $$select nightshift.define_function('crm/other', 'http',
        '{"url": "https://crm.internal/sync", "headers": {"X-Team": "crm", "Accept": "application/json"}}')$$,
    'headers that carry no credential are free');
select lives_ok($$select nightshift.define_function('ops/x', 'sql', '"select 1"')$$, 'a sql function has no headers to check');

select * from finish();
rollback;
