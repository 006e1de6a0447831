-- brandbase 0031 (search): state for the candidate step that runs as the pack's owner
-- (sql/search/15_rank.sql). Under RLS the planner may not use a table's GIN index (`@@`
-- is not leakproof), so the candidates of a search are found by a SECURITY DEFINER step
-- that filters by the brand itself; the page is then re-read as the caller under RLS.
-- The typo lexicon becomes one list of words per table (small) instead of one per brand.

alter table search.indexed add column read_permission text;
comment on column search.indexed.read_permission is
'The permission the owner''s candidate step checks in the brand before it reads the table '
'past RLS: the operator''s statement of the table''s read policy. Null: taken from the '
'table''s policies when they are brand.isolate()''s, else no owner step (see docs/search.md).';

create table search.words (
    table_name text not null,
    word text not null check (length(word) between 3 and 40),
    docs integer not null check (docs > 0),
    keys text[] not null,
    primary key (table_name, word)
);
-- Typo lookups: a query word's one-letter deletions meet a lexicon word's (SymSpell).
-- Without fastupdate: a refresh's rows would otherwise sit in the pending list, which
-- every lookup scans whole until a vacuum.
create index words_keys on search.words using gin (keys) with (fastupdate = off);
comment on table search.words is
'Every word (lexeme) of each search-enabled table, of all brands, with how many documents hold '
'it: the typo fallback corrects query words against it. Read only by the pack''s owner: a '
'correction is offered to a brand only when the brand''s own documents hold it.';
comment on column search.words.keys is
'search.typo_keys(word): the word and its one-letter deletions (from 4 letters on).';
alter table search.words enable row level security;
revoke all on search.words from public, anon, authenticated, service_role;

-- The per-brand lexicon (0025) held about ten words per brand document: 10M rows for a
-- million documents in 1,000 brands. search.words replaces it.
drop table search.lexicon;
