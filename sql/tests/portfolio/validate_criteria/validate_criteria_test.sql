-- validate_criteria: a valid rule set passes; a malformed one is refused (22023) with the
-- 0-based index of the first bad rule and the problem, in the message and as JSON in DETAIL;
-- criteria_versions saves only valid rule sets and never changes a saved one.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(24);

select lives_ok($$select portfolio.validate_criteria('[{"metric": "dividend_yield", "operator": ">=", "threshold": 4, "points": 10},
    {"metric": "pe_ratio", "operator": "between", "threshold": [5, 15.5], "points": 5.5},
    {"metric": "debt_to_equity", "operator": ">", "threshold": 2, "points": -3},
    {"metric": "roe", "operator": "=", "threshold": 0.1, "points": 0},
    {"metric": "beta", "operator": "<", "threshold": 1, "points": 1}, {"metric": "beta", "operator": "<=", "threshold": 1, "points": 1}]')$$,
    'every operator, fractional and negative points, between with inclusive bounds');
select lives_ok($$select portfolio.validate_criteria('[{"metric": "pe", "operator": "between", "threshold": [7, 7], "points": 1}]')$$,
    'between with lo = hi');

-- The whole set.
select throws_ok($$select portfolio.validate_criteria(null)$$, '22023', 'criteria must be a JSON array of rules, got null', 'null');
select throws_ok($$select portfolio.validate_criteria('{"metric": "pe"}')$$, '22023', 'criteria must be a JSON array of rules, got object', 'an object');
select throws_ok($$select portfolio.validate_criteria('[]')$$, '22023', 'criteria must have at least one rule', 'no rules');

-- One rule (the bad one is not the first, so the index is checked).
create function pg_temp.bad(rule text) returns text language sql as $$
    select '[{"metric": "pe", "operator": "<", "threshold": 20, "points": 1}, ' || rule || ']'
$$;
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('"pe"')), '22023',
    'criteria[1]: a rule must be a JSON object, got string', 'a rule is an object');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": 1, "points": 1, "weight": 2}')),
    '22023', 'criteria[1]: unknown key "weight" (a rule has metric, operator, threshold, points)', 'unknown keys are refused (typos)');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"operator": "<", "threshold": 1, "points": 1}')),
    '22023', 'criteria[1]: "metric" is required', 'metric is required');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "threshold": 1, "points": 1}')),
    '22023', 'criteria[1]: "operator" is required', 'operator is required');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": null, "points": 1}')),
    '22023', 'criteria[1]: "threshold" is required', 'a null threshold is a missing one');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": 1}')),
    '22023', 'criteria[1]: "points" is required', 'points are required');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "P/E", "operator": "<", "threshold": 1, "points": 1}')),
    '22023', 'criteria[1]: "metric" must be a metric name (lower-case letters, digits, _), got "P/E"', 'a metric is a metric name');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": 3, "operator": "<", "threshold": 1, "points": 1}')),
    '22023', 'criteria[1]: "metric" must be a metric name (lower-case letters, digits, _), got 3', 'a metric is a string');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "!=", "threshold": 1, "points": 1}')),
    '22023', 'criteria[1]: "operator" must be one of >, >=, <, <=, =, between, got "!="', 'an unknown operator');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": "20", "points": 1}')),
    '22023', 'criteria[1]: "threshold" of "<" must be a number, got "20"', 'a threshold is a JSON number, not a string');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": [1, 2], "points": 1}')),
    '22023', 'criteria[1]: "threshold" of "<" must be a number, got [1, 2]', 'a range only with between');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "between", "threshold": 5, "points": 1}')),
    '22023', 'criteria[1]: "threshold" of "between" must be [lo, hi], two numbers, got 5', 'between needs [lo, hi]');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "between", "threshold": [1, 2, 3], "points": 1}')),
    '22023', 'criteria[1]: "threshold" of "between" must be [lo, hi], two numbers, got [1, 2, 3]', 'exactly two bounds');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "between", "threshold": [15, 5], "points": 1}')),
    '22023', 'criteria[1]: "threshold" of "between" must have lo <= hi, got [15, 5]', 'lo <= hi');
select throws_ok(format('select portfolio.validate_criteria(%L)', pg_temp.bad('{"metric": "pe", "operator": "<", "threshold": 1, "points": "10"}')),
    '22023', 'criteria[1]: "points" must be a number, got "10"', 'points are a JSON number');

-- DETAIL: the same, as JSON, for the HTTP error envelope.
create function pg_temp.detail(criteria jsonb) returns jsonb language plpgsql as $$
declare d text;
begin
    perform portfolio.validate_criteria(criteria);
    return null;
exception when invalid_parameter_value then
    get stacked diagnostics d = pg_exception_detail;
    return d::jsonb;
end $$;
select is(pg_temp.detail(pg_temp.bad('{"metric": "pe", "operator": "~", "threshold": 1, "points": 1}')::jsonb),
    '{"rule": 1, "problem": "\"operator\" must be one of >, >=, <, <=, =, between, got \"~\""}'::jsonb,
    'DETAIL carries the rule index and the problem as JSON');

-- The table.
insert into portfolio.users (id, base_currency) values ('a0000000-0000-4000-8000-000000000001', 'USD');
select throws_ok($$insert into portfolio.criteria_versions (user_id, version, criteria)
                   values ('a0000000-0000-4000-8000-000000000001', 1, '[{"metric": "pe", "operator": "<", "threshold": 1}]')$$,
    '22023', 'criteria[0]: "points" is required', 'a malformed rule set is not saved');
insert into portfolio.criteria_versions (id, user_id, version, criteria)
values ('d0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 1,
        '[{"metric": "pe", "operator": "<", "threshold": 1, "points": 1}]');
select is((select count(*)::integer from portfolio.criteria_versions), 1, 'a valid one is');
select throws_ok($$update portfolio.criteria_versions set criteria = '[{"metric": "pe", "operator": "<", "threshold": 2, "points": 1}]'$$,
    'NSP01', 'portfolio.criteria_versions is append-only: UPDATE refused', 'a saved version never changes');

select * from finish();
rollback;
