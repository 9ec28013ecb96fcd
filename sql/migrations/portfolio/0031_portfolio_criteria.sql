-- Portfolio pack: the scoring rules' JSON format, its validation, and the triggers that keep
-- criteria_versions valid and immutable. Scoring itself (score_user) reads the same format.

create function portfolio.validate_criteria(criteria jsonb)
returns void
language plpgsql
immutable
security definer
set search_path = ''
as $$
declare
    rule jsonb;
    i integer;
    key text;
    problem text;
    threshold jsonb;
begin
    if criteria is null or jsonb_typeof(criteria) <> 'array' then
        raise exception 'criteria must be a JSON array of rules, got %', coalesce(jsonb_typeof(criteria), 'null')
            using errcode = 'invalid_parameter_value',
                  detail = jsonb_build_object('rule', null, 'problem', 'not an array')::text;
    end if;
    if jsonb_array_length(criteria) = 0 then
        raise exception 'criteria must have at least one rule'
            using errcode = 'invalid_parameter_value',
                  detail = jsonb_build_object('rule', null, 'problem', 'no rules')::text;
    end if;

    for i in 0 .. jsonb_array_length(criteria) - 1 loop
        rule := criteria -> i;
        problem := null;
        if jsonb_typeof(rule) <> 'object' then
            problem := format('a rule must be a JSON object, got %s', jsonb_typeof(rule));
        else
            select format('unknown key "%s" (a rule has metric, operator, threshold, points)', k)
            into problem
            from jsonb_object_keys(rule) k
            where k not in ('metric', 'operator', 'threshold', 'points')
            order by k
            limit 1;
            if problem is null then
                foreach key in array array['metric', 'operator', 'threshold', 'points'] loop
                    if not rule ? key or jsonb_typeof(rule -> key) = 'null' then
                        problem := format('"%s" is required', key);
                        exit;
                    end if;
                end loop;
            end if;
            if problem is null then
                threshold := rule -> 'threshold';
                if jsonb_typeof(rule -> 'metric') <> 'string' or (rule ->> 'metric') !~ '^[a-z][a-z0-9_]*$' then
                    problem := format('"metric" must be a metric name (lower-case letters, digits, _), got %s', rule -> 'metric');
                elsif jsonb_typeof(rule -> 'operator') <> 'string'
                      or (rule ->> 'operator') not in ('>', '>=', '<', '<=', '=', 'between') then
                    problem := format('"operator" must be one of >, >=, <, <=, =, between, got %s', rule -> 'operator');
                elsif rule ->> 'operator' = 'between' then
                    if jsonb_typeof(threshold) <> 'array' or jsonb_array_length(threshold) <> 2
                       or jsonb_typeof(threshold -> 0) <> 'number' or jsonb_typeof(threshold -> 1) <> 'number' then
                        problem := format('"threshold" of "between" must be [lo, hi], two numbers, got %s', threshold);
                    elsif (threshold ->> 0)::numeric > (threshold ->> 1)::numeric then
                        problem := format('"threshold" of "between" must have lo <= hi, got %s', threshold);
                    end if;
                elsif jsonb_typeof(threshold) <> 'number' then
                    problem := format('"threshold" of "%s" must be a number, got %s', rule ->> 'operator', threshold);
                end if;
            end if;
            if problem is null and jsonb_typeof(rule -> 'points') <> 'number' then
                problem := format('"points" must be a number, got %s', rule -> 'points');
            end if;
        end if;
        if problem is not null then
            raise exception 'criteria[%]: %', i, problem
                using errcode = 'invalid_parameter_value',
                      detail = jsonb_build_object('rule', i, 'problem', problem)::text;
        end if;
    end loop;
end
$$;
comment on function portfolio.validate_criteria(jsonb) is
$doc$Raises 22023 (invalid_parameter_value) unless criteria is a valid rule set; returns nothing otherwise.

Format: a non-empty JSON array of rules, each an object with exactly these keys:
  metric     string, the name of an asset metric (portfolio.asset_metrics.metric): ^[a-z][a-z0-9_]*$
  operator   one of ">", ">=", "<", "<=", "=", "between"
  threshold  a JSON number; for "between" an array [lo, hi] of two numbers with lo <= hi (inclusive bounds)
  points     a JSON number (may be negative or fractional; exact: JSON numbers are read as numeric)
A rule matches when the asset's metric value <operator> threshold (between: lo <= value <= hi);
an asset's score is the sum of the points of the rules it matches (a missing metric matches nothing).
Example: [{"metric": "dividend_yield", "operator": ">=", "threshold": 4, "points": 10},
          {"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5.5}]

The error names the first bad rule by its 0-based index, as a JSON path: "criteria[2]: "operator" must be one of
..., got "!="". DETAIL carries the same as JSON, {"rule": 2, "problem": "..."} (rule null when the whole set is
wrong), for the HTTP layer's error envelope.$doc$;

create function portfolio._validate_criteria_version()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform portfolio.validate_criteria(new.criteria);
    return new;
end
$$;
comment on function portfolio._validate_criteria_version() is 'Trigger: a criteria version is saved only when valid (validate_criteria).';

create trigger criteria_versions_validate
    before insert or update of criteria on portfolio.criteria_versions
    for each row execute function portfolio._validate_criteria_version();
-- A version is immutable: scores and recommendations name the version they came from.
create trigger criteria_versions_immutable
    before update on portfolio.criteria_versions
    for each row execute function portfolio._refuse_change('Save a new version instead.');

revoke all on function portfolio.validate_criteria(jsonb), portfolio._validate_criteria_version() from public;
grant execute on function portfolio.validate_criteria(jsonb) to nightshift_service;
