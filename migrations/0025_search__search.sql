-- brandbase 0025 (search): which tables are search-enabled and how, per-brand search
-- settings (query logging opt-out, retention), the query log and the click log.
-- The functions (enable, disable, query, click, views) are in sql/search/.

create schema search;
comment on schema search is
'Full-text search: stored tsvector columns with GIN indexes, ranked, highlighted, typo-tolerant '
'brand-scoped search, and search analytics.';
grant usage on schema search to authenticated, service_role;

create table search.indexed (
    target text primary key,
    config text not null,
    columns jsonb not null check (jsonb_typeof(columns) = 'object' and columns <> '{}'),
    language_column text,
    trigram_columns text[] not null default '{}',
    filter_columns text[] not null default '{}',
    recency_column text,
    popularity_column text,
    brand_column text not null default 'brand_id',
    key_columns text[] not null check (cardinality(key_columns) > 0),
    vector_column text not null default 'search_tsv',
    composite_gin boolean not null,
    unaccent boolean not null,
    trigram_schema text,
    enabled_at timestamptz not null default now()
);
comment on table search.indexed is
'Tables under search.enable(): the weighted columns, the text search configuration and which '
'indexes exist. One row per table; search.disable() removes it. Names are stored as text, '
'schema-qualified (reg* columns would block pg_upgrade): rename a table after disable.';
comment on column search.indexed.columns is 'Weighted columns: {"title": "A", "body": "B"} (A highest).';
comment on column search.indexed.config is
'The text search configuration of the vector and of queries (per row: language_column).';
comment on column search.indexed.language_column is
'A text column naming each row''s configuration (english, german, …; resolved by '
'search.config_of), or null.';
comment on column search.indexed.trigram_columns is
'Columns with a pg_trgm GIN index: typo fallback and did-you-mean.';
comment on column search.indexed.filter_columns is 'Columns the app may filter and facet on.';
comment on column search.indexed.recency_column is
'A timestamptz column: candidates are the newest matches, and recency boosts the score.';
comment on column search.indexed.popularity_column is 'A numeric column that boosts the score (log scale).';
comment on column search.indexed.composite_gin is
'Whether the GIN index is (brand, vector) through btree_gin, or the vector alone.';
comment on column search.indexed.unaccent is
'Whether the vector and queries fold accents (extension unaccent).';
comment on column search.indexed.trigram_schema is
'The schema of pg_trgm when the table has trigram indexes.';

create table search.settings (
    brand_id uuid primary key references brand.brands (id) on delete cascade,
    log_queries boolean not null default true,
    retention interval not null default '90 days' check (retention > interval '0'),
    updated_at timestamptz not null default now()
);
comment on table search.settings is
'Per-brand search analytics settings; a brand without a row logs its queries for 90 days.';
comment on column search.settings.log_queries is 'Opt-out: false keeps no query or click of the brand.';
comment on column search.settings.retention is 'How long the brand''s queries and clicks are kept.';

create table search.queries (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id bigint generated always as identity,
    table_name text not null,
    query text not null check (octet_length(query) <= 1000),
    hits integer not null check (hits >= 0),
    latency_ms real not null check (latency_ms >= 0),
    typo_fallback boolean not null default false,
    user_id uuid,
    created_at timestamptz not null,
    primary key (brand_id, id)
);
create unique index queries_id on search.queries (id);
create index queries_brand_created on search.queries (brand_id, created_at);
comment on table search.queries is
'One row per search: the normalised query text, how many hits, how long it took.';
comment on column search.queries.hits is 'Matches found (capped at the candidate limit).';
comment on column search.queries.latency_ms is 'Time spent in search.query(), in milliseconds.';

create table search.clicks (
    brand_id uuid not null,
    id bigint generated always as identity,
    query_id bigint not null,
    result jsonb not null check (pg_column_size(result) <= 1024),
    position integer check (position >= 0),
    created_at timestamptz not null,
    primary key (brand_id, id),
    foreign key (brand_id, query_id) references search.queries (brand_id, id) on delete cascade
);
create index clicks_query on search.clicks (brand_id, query_id);
comment on table search.clicks is 'Clicks on search results (search.click), for click-through rates.';
comment on column search.clicks.result is 'The clicked hit''s key, as search.query() returned it.';

alter table search.indexed enable row level security;
alter table search.settings enable row level security;
alter table search.queries enable row level security;
alter table search.clicks enable row level security;

create table search.lexicon (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    table_name text not null,
    word text not null,
    docs integer not null check (docs > 0),
    variants text[] not null,
    primary key (brand_id, table_name, word)
);
-- Typo lookups: a query word's one-letter deletions meet a lexicon word's (SymSpell), keyed
-- by brand so that a posting list holds one brand's words only (no btree_gin needed).
create index lexicon_variants on search.lexicon using gin (variants);
comment on table search.lexicon is
'Each brand''s words (lexemes) of each search-enabled table, with how many documents hold them: '
'the typo fallback corrects query words against it (search.refresh_lexicon rebuilds it).';
comment on column search.lexicon.variants is
'search.typo_variants(brand, word): the word and its one-letter deletions, each prefixed by the brand.';
alter table search.lexicon enable row level security;

alter table search.indexed add column lexicon_at timestamptz;
comment on column search.indexed.lexicon_at is
'When search.refresh_lexicon() last rebuilt the table''s lexicon '
'(null: never; typos then scan the trigram columns).';
