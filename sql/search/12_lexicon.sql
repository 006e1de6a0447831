-- search: the typo lexicon. search.words holds each search-enabled table's words (of all
-- brands) with their SymSpell keys; search.refresh_lexicon() rebuilds a table's words
-- (search.enable and `brandbase search reindex` run it). Only the owner's functions read
-- it: search._correct (15_rank.sql) offers a brand only words its own documents hold.

-- 0025's per-brand typo keys went with search.lexicon (0031); search.words uses typo_keys.
drop function if exists search.typo_variants(uuid, text);

create or replace function search.typo_keys(word text)
returns text[]
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    -- The word and, from 4 to 40 characters, each one-letter deletion of it: two words one
    -- edit apart (a letter added, dropped, changed, or two swapped) share one of these.
    select array[word] || array(
        select pg_catalog.left(word, i - 1) || pg_catalog.substr(word, i + 1)
        from generate_series(1, pg_catalog.length(word)) as i
        where pg_catalog.length(word) between 4 and 40
    )
$$;

comment on function search.typo_keys(text) is
'A word''s typo keys (SymSpell): the word and its one-letter deletions (from 4 letters on).';

revoke all on function search.typo_keys(text) from public;

create or replace function search.one_edit(a text, b text)
returns boolean
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    -- Whether b is a (a letter added, dropped or changed, or two neighbours swapped): the
    -- typo keys also meet words two edits apart, which the correction tries after these.
    select case
        when a = b then true
        when pg_catalog.length(a) = pg_catalog.length(b) then
            (select count(*) from generate_series(1, pg_catalog.length(a)) as i
             where pg_catalog.substr(a, i, 1) <> pg_catalog.substr(b, i, 1)) = 1
            or exists (
                select from generate_series(1, pg_catalog.length(a) - 1) as i
                where pg_catalog.left(a, i - 1) || pg_catalog.substr(a, i + 1, 1) || pg_catalog.substr(a, i, 1)
                    || pg_catalog.substr(a, i + 2) = b
            )
        when pg_catalog.length(a) = pg_catalog.length(b) + 1 then exists (
            select from generate_series(1, pg_catalog.length(a)) as i
            where pg_catalog.left(a, i - 1) || pg_catalog.substr(a, i + 1) = b
        )
        when pg_catalog.length(b) = pg_catalog.length(a) + 1 then exists (
            select from generate_series(1, pg_catalog.length(b)) as i
            where pg_catalog.left(b, i - 1) || pg_catalog.substr(b, i + 1) = a
        )
        else false
    end
$$;

comment on function search.one_edit(text, text) is
'Whether two words are at most one edit apart (Damerau: a letter added, dropped, changed, or '
'two neighbours swapped).';

revoke all on function search.one_edit(text, text) from public;

create or replace function search.refresh_lexicon(target regclass)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    cfg search.indexed;
    made integer;
begin
    select * into cfg from search.indexed as i where i.target = refresh_lexicon.target::text;
    if not found then
        raise exception 'table % is not search-enabled', target
            using errcode = 'PT404', hint = 'An operator enables it: select search.enable(''schema.table'', ...).';
    end if;
    delete from search.words as w where w.table_name = target::text;
    -- One row per word of the table, whatever the brand (tens of thousands of words for a
    -- million documents): the typo step offers a brand only words its own documents hold.
    execute pg_catalog.format(
        'insert into search.words (table_name, word, docs, keys) '
        'select %L, w.lexeme, w.docs, search.typo_keys(w.lexeme) from ('
        'select u.lexeme, count(*)::integer as docs from %s as t '
        'cross join lateral pg_catalog.unnest(t.%I) as u '
        'where pg_catalog.length(u.lexeme) between 3 and 40 group by 1) as w',
        target::text, target, cfg.vector_column
    );
    get diagnostics made = row_count;
    update search.indexed as i set lexicon_at = brandbase.now() where i.target = refresh_lexicon.target::text;
    execute 'analyze search.words';
    return made;
end
$$;

comment on function search.refresh_lexicon(regclass) is
'Rebuilds the table''s lexicon (search.words: the words the typo fallback corrects to); how '
'many words. Run after bulk loads, or on a schedule (brandbase search reindex runs it).';

revoke all on function search.refresh_lexicon(regclass) from public;
