-- The entry hash the sealer stores and audit.verify recomputes is one formula (sha256 of
-- the entry's fields as one jsonb array, unchanged since the first release, so seals made
-- by earlier releases still verify), and the sealed log keeps only the indexes a read
-- path uses (issue 16). The sealer's output itself is tested in tests/test_audit.py
-- (sealing needs the writers' transactions to have finished).
begin;
select plan(3);

select is(
    audit._hash_entry(
        '00000000-0000-0000-0000-000000000000', 7, '2026-01-01 00:00:00+00', 'public.t', '{"id": 1}',
        'INSERT', null, '{"id": 1, "x": "é"}', null, 'postgres', 42, 'req', '10.0.0.1'
    ),
    sha256(convert_to(
        '["00000000-0000-0000-0000-000000000000", 7, 1767225600.000000, "public.t", {"id": 1}, '
        '"INSERT", null, {"x": "é", "id": 1}, null, "postgres", 42, "req", "10.0.0.1"]',
        'UTF8'
    )),
    'the entry hash is sha256 of the fields as one jsonb array, in jsonb''s text form'
);
set local timezone = 'America/New_York';
select is(
    audit._hash_entry(
        '00000000-0000-0000-0000-000000000000', 7, '2026-01-01 00:00:00+00', 'public.t', '{"id": 1}',
        'INSERT', null, '{"id": 1, "x": "é"}', null, 'postgres', 42, 'req', '10.0.0.1/32'
    ),
    sha256(convert_to(
        '["00000000-0000-0000-0000-000000000000", 7, 1767225600.000000, "public.t", {"id": 1}, '
        '"INSERT", null, {"x": "é", "id": 1}, null, "postgres", 42, "req", "10.0.0.1"]',
        'UTF8'
    )),
    'and does not depend on the session''s TimeZone'
);
select is(
    (
        select array_agg(i.indexname::text order by i.indexname) from pg_indexes as i
        where i.schemaname = 'audit' and i.tablename = 'logs_sealed'
    ),
    array['logs_actor_idx', 'logs_record_idx', 'logs_sealed_pkey'],
    'the sealed log keeps the three indexes its read paths use (no BRIN on txid)'
);

select * from finish();
rollback;
