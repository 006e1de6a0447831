-- brandbase 0032 (audit): the sealed log loses its BRIN index on txid (issue 16). It served
-- the sealer's search for unsealed entries when they lived in the log itself (before
-- 0017); since then no query reads the sealed log by txid (the sealer reads the captures
-- and the inbox, audit.verify reads a brand's entries by their primary key), and keeping
-- it cost the sealer about 8 us per entry (the range summary is rewritten on every
-- insert, as each txid extends it). The three btree indexes each serve a read path:
-- the primary key a brand's trail newest first and audit.verify, logs_actor_idx one
-- user's actions, logs_record_idx one record's history (api.audit_activity).
drop index if exists audit.logs_txid_brin;

comment on column audit.logs_sealed.txid is
'Transaction id (64-bit); orders sealing and tells audit.verify which entries a seal round covered.';
