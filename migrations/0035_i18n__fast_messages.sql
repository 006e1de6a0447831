-- brandbase 0035 (i18n): the published message in a form one SQL expression can finish.
-- i18n.t()'s hot path probes i18n.resolved and, for the common shapes (text, simple
-- {name} arguments, one plural or select at the top level), builds the string from
-- these parts without running the formatter (sql/i18n/30_translations.sql). Filled on
-- write with the compiled program; the repeatable refresh fills the rows written before.

alter table i18n.messages add column fast jsonb;
comment on column i18n.messages.fast is
'The published message as parts for i18n.t()''s one-expression path (i18n._fast of code); '
'null when it needs the full formatter (nested plural or select, an offset).';

alter table i18n.resolved
add column parts jsonb,
add column arg text,
add column tbl text,
add column cases jsonb;
comment on column i18n.resolved.parts is
'fast -> ''p'' of the message the key resolves to (text and simple arguments): [format() '
'template, name, fallback, ...]; what i18n.t() reads, in columns so that it runs few functions.';
comment on column i18n.resolved.arg is 'fast ->> ''n'': the plural''s or select''s parameter.';
comment on column i18n.resolved.tbl is 'fast ->> ''t'': the case each number 0..999 takes, chr(48 + index).';
comment on column i18n.resolved.cases is
'fast -> ''c'': the parts of each case (a plural''s array, a select''s object).';
