-- brandbase 0030 (flags): compiled rules. Every change to a flag, its environments or a
-- segment compiles the flag x environment from its Unleash JSON into typed rows (strategy
-- parameters, constraints with their values pre-parsed, variants with cumulative weights),
-- which one set-based query, flags._evaluation() in sql/flags/32_compile.sql, evaluates.
-- The JSON stays the source of truth (import/export, audit); these rows are derived and are
-- rebuilt by flags._compile_all() whenever the compiler changes (the repeatable file ends
-- with it), which also compiles the flags of an installation upgraded to this version.

create table flags.compiled_flags (
    flag_key text not null,
    environment text not null,
    enabled boolean not null,
    static boolean not null,
    fvar_count integer not null default 0,
    fvar_total integer not null default 0,
    fvar_stickiness text,
    fvar_overrides boolean not null default false,
    broken text,
    primary key (flag_key, environment),
    foreign key (flag_key, environment) references flags.flag_environments (flag_key, environment)
    on update cascade on delete cascade
);
comment on table flags.compiled_flags is
'Derived (flags._compile): one row per flag and environment: the kill switch, whether the flag '
'has no strategies (static), and its own variants'' count, total weight and stickiness.';
comment on column flags.compiled_flags.broken is
'Set when the flag''s variants could not be compiled: evaluation then answers ERROR / GENERAL '
'with this message, as the JSON walker did.';

create table flags.compiled_strategies (
    flag_key text not null,
    environment text not null,
    ord integer not null,
    name text not null,
    plain boolean not null,
    never boolean not null,
    rollout numeric,
    stick_mode text,
    stick_field text,
    group_id text not null,
    user_ids text[],
    ips_text text[],
    ips inet[],
    svar_count integer not null default 0,
    svar_total integer not null default 0,
    svar_stickiness text,
    svar_overrides boolean not null default false,
    broken text,
    primary key (flag_key, environment, ord),
    foreign key (flag_key, environment) references flags.compiled_flags (flag_key, environment)
    on update cascade on delete cascade
);
comment on table flags.compiled_strategies is
'Derived (flags._compile): a flag''s strategies in order, with their parameters typed: plain '
'(default without constraints: always on), never (unknown strategy or missing segment), the '
'rollout percentage, stickiness (mode d(efault)/r(andom)/t(op-level field)/f(ield)), group id, '
'user ids, addresses, and the strategy''s variants'' count, total weight and stickiness.';

create table flags.compiled_constraints (
    flag_key text not null,
    environment text not null,
    ord integer not null,
    seq integer not null,
    context_name text not null,
    operator text not null,
    inverted boolean not null,
    case_insensitive boolean not null,
    is_time boolean not null,
    is_semver boolean not null,
    vals text[],
    patterns text[],
    num numeric,
    ts timestamptz,
    sv numeric[],
    sv_pre text,
    raw text,
    cidrs inet[],
    regex_ok boolean not null default false,
    broken text,
    primary key (flag_key, environment, ord, seq),
    foreign key (flag_key, environment, ord) references flags.compiled_strategies (flag_key, environment, ord)
    on update cascade on delete cascade
);
comment on table flags.compiled_constraints is
'Derived (flags._compile): each strategy''s constraints (its own, then its segments''), the '
'values pre-parsed by operator: vals (IN/NOT_IN), LIKE patterns (STR_*, lower-cased when case '
'insensitive), num (NUM_*), ts (DATE_*), sv/sv_pre (SEMVER_*), cidrs (IN_CIDR), raw (REGEX).';

create table flags.compiled_variants (
    flag_key text not null,
    environment text not null,
    ord integer not null,
    idx integer not null,
    name text,
    cum_weight integer not null,
    variant jsonb not null,
    payload_value jsonb,
    overrides jsonb,
    primary key (flag_key, environment, ord, idx),
    foreign key (flag_key, environment) references flags.compiled_flags (flag_key, environment)
    on update cascade on delete cascade
);
comment on table flags.compiled_variants is
'Derived (flags._compile): the variants a flag (ord -1) or its strategy ord picks from, in order, '
'with their cumulative weight, the payload''s value parsed, and their overrides.';

-- The evaluation form: each strategy row carries its constraints and variants as arrays of
-- the typed rows above, and the flag's row its strategies and own variants, so that one
-- primary-key lookup hands evaluation the whole compiled flag (flags._compile fills them).
alter table flags.compiled_strategies
add column constraints flags.compiled_constraints[] not null default '{}',
add column variants flags.compiled_variants[] not null default '{}';
alter table flags.compiled_flags
add column strategies flags.compiled_strategies[] not null default '{}',
add column variants flags.compiled_variants[] not null default '{}';
comment on column flags.compiled_flags.strategies is
'The flag''s compiled strategies in order, each with its constraints and variants: what '
'evaluation reads, in the one lookup of the flag.';
comment on column flags.compiled_flags.variants is 'The flag''s own variants (ord -1), in order.';

-- Read by key, one row per evaluation: a low fillfactor keeps these small tables over enough
-- pages that the planner's generic plans probe their primary keys instead of scanning them.
alter table flags.compiled_flags set (fillfactor = 10);
alter table flags.compiled_strategies set (fillfactor = 10);
alter table flags.compiled_flags enable row level security;
alter table flags.compiled_strategies enable row level security;
alter table flags.compiled_constraints enable row level security;
alter table flags.compiled_variants enable row level security;
