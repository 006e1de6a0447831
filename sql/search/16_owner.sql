-- search: the owner's side of the candidate step. search._rank_as_owner() runs search._rank
-- (15_rank.sql) as the pack's owner, where the table's GIN index is usable, after checking
-- in the brand what the table's read policy checks (search._read_permission), and corrects
-- typos against search.words (search._corrected), offering only words the brand's own
-- documents hold. search.query() then re-reads the page's rows as the caller, under RLS.
-- See docs/search.md, "Under RLS: the owner's candidate step".

create or replace function search._read_permission(target regclass)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
-- The operator's statement (search.enable's read_permission), else the permission of
-- brand.isolate()'s read policy when it is the only policy that lets `authenticated` (or
-- public) read the table, RLS is on, and no restrictive policy narrows it. PL/pgSQL, not
-- SQL: its plans are kept (a SQL function with SET options is planned at every call).
declare
    cfg search.indexed;
    quals text[];
begin
    select * into cfg from search.indexed as i where i.target = _read_permission.target::text;
    if not found then
        return null;
    elsif cfg.read_permission is not null then
        return cfg.read_permission;
    end if;
    select array_agg(case when p.polpermissive then pg_catalog.pg_get_expr(p.polqual, p.polrelid) end)
    into quals
    from pg_catalog.pg_policy as p
    inner join pg_catalog.pg_class as c on p.polrelid = c.oid
    where p.polrelid = target and c.relrowsecurity and p.polcmd in ('r', '*')
        and (0::oid = any(p.polroles) or 'authenticated'::regrole::oid = any(p.polroles));
    if cardinality(quals) is distinct from 1 then
        return null;
    end if;
    return pg_catalog.substring(
        quals[1],
        '^\(' || pg_catalog.regexp_replace(cfg.brand_column, '([^[:alnum:]_])', '\\\1', 'g')
        || ' IN \( SELECT brand\.brands_with\(''([a-z0-9_.]+)''::text\) AS brands_with\)\)$'
    );
end
$$;

comment on function search._read_permission(regclass) is
'The permission a member needs in a brand to read a search-enabled table, as its RLS intends: '
'search.indexed.read_permission, else the permission of brand.isolate()''s read policy; null '
'when neither (the owner''s candidate step is then not used).';

revoke all on function search._read_permission(regclass) from public;

create or replace function search._owner_may_read(target regclass, brand_id uuid)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
-- Inside the owner's definer functions: whether they may read the table past RLS for this
-- caller and brand. False (the caller's own path is then taken) when the table's read
-- policy is not known, the caller is neither authenticated nor service_role, or the owner
-- itself would be under RLS. Raises 42501 as RLS and grants would: no SELECT on the table,
-- no search.read or no read permission in the brand.
declare
    perm text := search._read_permission(target);
begin
    if perm is null or pg_catalog.row_security_active(target)
        or not pg_catalog.has_table_privilege(target, 'select')
        or not (brand.invoking_role() = 'authenticated' or brand.caller_is_service()) then
        return false;
    end if;
    if not pg_catalog.has_table_privilege(brand.invoking_role(), target, 'select') then
        raise exception 'permission denied for table %', target
            using errcode = '42501', hint = 'Grant select on the table to the role that searches it.';
    end if;
    perform brand.require_permission(brand_id, 'search.read');
    perform brand.require_permission(brand_id, perm);
    return true;
end
$$;

comment on function search._owner_may_read(regclass, uuid) is
'Whether the owner''s candidate step may read the table for the caller in the brand (the read '
'permission of the table''s policy checked, 42501 otherwise); false when it cannot be used.';

revoke all on function search._owner_may_read(regclass, uuid) from public;

create or replace function search._corrected(target regclass, brand_id uuid, config regconfig, words text[])
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
-- The probes are EXISTS, costed for their first row: a sequential scan "expected" to meet
-- a match soon reads the whole table when no row of the brand holds the word. Without it
-- a probe is a GIN bitmap (rare words) or a walk of the brand's recency index (common
-- ones), never longer than the brand.
set enable_seqscan = off
as $$
-- Inside search._rank_as_owner, as the owner: each query word (stemmed) replaced by the
-- table's most frequent word one edit away that the brand's own documents hold (the word
-- itself when they hold it; a stop word dropped). The corrected words, '{}' when none
-- changed, null when the table has no lexicon (never refreshed). One GIN probe of search.words per word and one
-- of the table's (brand, vector) index per word tried.
declare
    cfg search.indexed;
    probe text;
    rare_probe text;
    candidate_docs integer;
    fixed text[] := '{}'::text[];
    changed boolean := false;
    word text;
    lexeme text;
    best text;
    candidate text;
    held boolean;
begin
    select * into cfg from search.indexed as x where x.target = _corrected.target::text;
    if not found or cfg.lexicon_at is null then
        return null;
    end if;
    probe := pg_catalog.format(
        'select exists (select from %s as t where t.%I = $1 and t.%I operator(pg_catalog.@@) $2)',
        target, cfg.brand_column, cfg.vector_column
    );
    rare_probe := pg_catalog.format(
        'select exists (select from %s as t where (t.%I = $1) is true and t.%I operator(pg_catalog.@@) $2)',
        target, cfg.brand_column, cfg.vector_column
    );
    foreach word in array (coalesce(words, '{}'::text[]))[1:5] loop
        lexeme := (
            select x.lexeme from pg_catalog.unnest(pg_catalog.to_tsvector(config, pg_catalog.left(word, 40))) as x
            limit 1
        );
        continue when lexeme is null;  -- a stop word
        -- The word itself when the brand's documents hold it, else the table's most
        -- frequent neighbours, each tried in the brand. A word the lexicon lacks (no
        -- document of the table held it at the last refresh) is not probed. One query on
        -- search.words, planned with the keys in hand (EXECUTE: the GIN index, not a walk
        -- of the table's whole lexicon); the words in the order they are tried.
        -- Words one edit away first (the keys also meet words two edits away), each group
        -- the most frequent first. A candidate in under 300 documents of the table is
        -- probed alone in GIN, the brand checked per row (the (brand, vector) index would
        -- read the brand's whole posting list).
        best := null;
        for candidate, candidate_docs in execute
            'select w.word, w.docs from search.words as w where w.table_name = $1 '
            'and w.keys operator(pg_catalog.&&) $3 '
            'order by w.word = $2 desc, search.one_edit(w.word, $2) desc, w.docs desc, w.word limit 9'
            using target::text, lexeme, search.typo_keys(lexeme)
        loop
            execute case when candidate_docs < 300 then rare_probe else probe end
            into held using brand_id, pg_catalog.plainto_tsquery('simple', candidate);
            if held then
                best := candidate;
                exit;
            end if;
        end loop;
        fixed := fixed || coalesce(best, lexeme);
        changed := changed or coalesce(best <> lexeme, false);
    end loop;
    return case when changed then fixed else '{}'::text[] end;
end
$$;

comment on function search._corrected(regclass, uuid, regconfig, text[]) is
'search._rank_as_owner''s typo step: the words corrected against search.words, offering only '
'words the brand''s documents hold; {} when none changed, null without a lexicon.';

revoke all on function search._corrected(regclass, uuid, regconfig, text[]) from public;

create or replace function search._rank_as_owner(
    target regclass, brand_id uuid, tsq tsquery, options jsonb, config regconfig, words text[]
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
-- search._rank as the owner, for a caller who may read the table in the brand (null when
-- that cannot be decided: the caller then ranks under RLS). With words (the query's, for
-- typos): when nothing matches, or on a later page of a corrected search (cursor mode
-- 'fixed'), the words are corrected (search._corrected) and the corrected query ranked;
-- the answer then says which words in 'fixed' (and 'lexicon': false when the table has
-- none, so the caller may scan the trigram columns instead). Only keys, scores and counts of the
-- brand's rows, and words its documents hold, leave this function.
declare
    ranked jsonb;
    fixed text[];
    later_fixed boolean := options -> 'cursor' ->> 'm' = 'fixed';
begin
    if cardinality(words) > 5 or pg_catalog.octet_length(pg_catalog.array_to_string(words, ' ')) > 1000 then
        raise exception 'search query has too many terms'
            using errcode = '22023', hint = 'Use at most 32 words.';
    end if;
    if not search._owner_may_read(target, brand_id) then
        return null;
    end if;
    if not coalesce(later_fixed, false) then
        ranked := search._rank(target, brand_id, tsq, options);
        if (ranked ->> 'total')::integer > 0 or cardinality(words) is not distinct from 0
            or coalesce(pg_catalog.numnode(tsq), 0) = 0
            or options -> 'cursor' is not null and options -> 'cursor' <> 'null' then
            return ranked;
        end if;
    end if;
    fixed := search._corrected(target, brand_id, config, words);
    if fixed is null then  -- no lexicon: the caller's trigram fallback may run
        return coalesce(ranked, search._rank(target, brand_id, tsq, options))
            || pg_catalog.jsonb_build_object('lexicon', false);
    elsif cardinality(fixed) = 0 then
        return coalesce(ranked, search._rank(target, brand_id, tsq, options));
    end if;
    return search._rank(
        target, brand_id, pg_catalog.plainto_tsquery('simple', pg_catalog.array_to_string(fixed, ' ')), options
    ) || pg_catalog.jsonb_build_object('fixed', fixed);
end
$$;

comment on function search._rank_as_owner(regclass, uuid, tsquery, jsonb, regconfig, text[]) is
'search._rank as the pack''s owner (the table''s GIN index usable), for a caller who holds in '
'the brand the permission the table''s read policy checks; with typo correction of words when '
'nothing matches ({..., fixed: [words]}). Null when it cannot be used (the caller ranks under RLS).';

revoke all on function search._rank_as_owner(regclass, uuid, tsquery, jsonb, regconfig, text[]) from public;
grant execute on function search._rank_as_owner(regclass, uuid, tsquery, jsonb, regconfig, text[])
to authenticated, service_role;
