-- jobs: bad input gets a stable SQLSTATE and a hint, and nothing is enqueued.
begin;
select plan(32);
select tests.seed_two_brands();
do $$ begin perform jobs.create_queue('mail'); end $$;
do $$ begin perform jobs.create_queue('small', max_payload_bytes => 100); end $$;

create function tests.hint_of(sql text)
returns text
language plpgsql
as $$
declare
    h text;
begin
    execute sql;
    return null;
exception when others then
    get stacked diagnostics h = pg_exception_hint;
    return nullif(h, '');
end
$$;

select throws_ok($$select jobs.enqueue('nope', '{}')$$, '22023', 'unknown queue: nope', 'unknown queue');
select throws_ok($$select jobs.enqueue('mail', 'not json')$$, '22P02', null, 'a payload that is not JSON');
select
    throws_ok(
        $$select jobs.enqueue_many('mail', '{"a": 1}')$$, '22023', null, 'payloads that are not an array'
    );
select
    throws_ok(
        $$select jobs.enqueue_many('mail', '[{"a": 1}, {a: 2}]')$$, '22P02', null,
        'a batch with one element that is not JSON'
    );
select
    throws_ok(
        $$select jobs.enqueue('mail', '{}', delay => '-5 minutes')$$, '22023', null, 'a negative delay'
    );
select throws_ok(
    $$select jobs.enqueue('mail', '{}', run_at => now(), delay => '1 minute')$$, '22023', null,
    'run_at and delay together'
);
select throws_ok($$select jobs.enqueue('mail', '{}', max_attempts => 0)$$, '22023', null, 'zero attempts');
select
    throws_ok(
        $$select jobs.enqueue('mail', '{}', on_duplicate => 'merge')$$, '22023', null, 'unknown on_duplicate'
    );
select throws_ok(
    $$select jobs.enqueue('mail', '{}', gen_random_uuid())$$, 'PT404', null, 'a brand that does not exist'
);
select throws_ok(
    $$select jobs.enqueue_many('mail', '[{}, {}]', dedupe_keys => array['only-one'])$$, '22023', null,
    'dedupe keys that do not match the payloads'
);
select throws_ok(
    $$select jobs.enqueue('mail', '{}', run_at => 'infinity')$$, '22023', null, 'run_at infinity'
);
select isnt(tests.hint_of($$select jobs.enqueue('mail', '{}', run_at => '-infinity')$$), null, 'with a hint');
select throws_ok(
    $$select jobs.enqueue('mail', '{}', dedupe_key => repeat('k', 513))$$, '22001', null,
    'a dedupe key over 512 bytes'
);
select isnt(
    tests.hint_of($$select jobs.enqueue('mail', '{}', dedupe_key => repeat('k', 9600))$$), null, 'with a hint'
);
select lives_ok(
    $$select jobs.enqueue('mail', '{}', dedupe_key => repeat('k', 512))$$, 'a dedupe key of 512 bytes is fine'
);
select throws_ok(
    $$select jobs.enqueue('small', jsonb_build_object('x', repeat('a', 200)))$$, '22001', null,
    'a payload over the queue''s cap'
);
select throws_ok(
    $$select jobs.enqueue_many(
        'small', json_build_array('{}'::json, json_build_object('x', repeat('a', 200)))
    )$$,
    '22001', 'job payload 2 is 210 bytes, more than this queue''s cap of 100 bytes',
    'in a batch, the oversized payload is named'
);
select throws_ok(
    $$select jobs.enqueue('mail', (select jsonb_build_object('x', repeat('a', 262144))))$$, '22001', null,
    'the default cap is 256 kB'
);
select throws_ok($$select jobs.enqueue('mail', null)$$, '22023', null, 'a null payload');
select is(
    (select count(*)::int from jobs.job_queue), 1, 'none of it enqueued anything (but the 512-byte key)'
);

select
    throws_ok(
        $$select jobs.create_queue('Bad Name')$$, '22023', null, 'a queue name that is not an identifier'
    );
select throws_ok(
    $$select jobs.create_queue('q', max_attempts => -1)$$,
    '22023',
    'max_attempts must be between 1 and 1000, got -1',
    'max_attempts out of range: 22023, not the raw check constraint'
);
select isnt(tests.hint_of($$select jobs.create_queue('q', max_attempts => -1)$$), null, 'with a hint');
select throws_ok(
    $$select jobs.create_queue('q', on_success => 'explode')$$, '22023', null, 'an unknown on_success'
);
select throws_ok(
    $$select jobs.create_queue('q', backoff_base => '1 hour', backoff_max => '1 minute')$$, '22023', null,
    'a backoff cap below its base'
);
select throws_ok(
    $$select jobs.create_queue('q', max_payload_bytes => 0)$$, '22023', null, 'a payload cap of zero'
);
select throws_ok(
    $$select jobs.create_queue('q', handler => 'pg_catalog.now()')$$, '22023', null,
    'a SQL handler with the wrong signature'
);
select throws_ok(
    $$select jobs.create_queue('q', handler => 'public.no_such_function(jobs.job_queue)')$$, '22023', null,
    'a SQL handler that does not exist'
);
select
    throws_ok(
        $$select jobs.schedule('x', 'every day', 'mail')$$, '22023', null, 'an invalid cron expression'
    );
select throws_ok(
    $$select jobs.schedule('x', '61 * * * *', 'mail')$$, '22023',
    'invalid cron expression: 61 * * * *: 61 is out of range for the minute field',
    'a minute out of range is named, with a hint (not pg_cron''s bare "invalid schedule")'
);
select
    throws_ok(
        $$select jobs.schedule('x', '* * * * *', 'nope')$$, '22023', null, 'a schedule for an unknown queue'
    );
select throws_ok($$select jobs.claim('w', 0, array['mail'])$$, '22023', null, 'a claim of zero jobs');

select * from finish();
rollback;
