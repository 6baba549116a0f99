-- Every row a moderator or the bot writes carries a seal: a keyed MAC of the
-- row's values and of the natural keys of the rows it points to, computed by
-- storage with a key only the installation's keys unlock. The sealed head
-- of the audit chain (meta 'audit_head') holds, per table, the row count and
-- a keyed sum over the rows, so that deleting a row or putting back an
-- older copy of one is seen too. NULL until storage seals the row.

-- +goose Up
ALTER TABLE guild_settings ADD COLUMN row_mac BLOB;
ALTER TABLE guild_moderator_roles ADD COLUMN row_mac BLOB;
ALTER TABLE escalation_rules ADD COLUMN row_mac BLOB;
ALTER TABLE case_counters ADD COLUMN row_mac BLOB;
ALTER TABLE cases ADD COLUMN row_mac BLOB;
ALTER TABLE case_history ADD COLUMN row_mac BLOB;
ALTER TABLE scheduled_actions ADD COLUMN row_mac BLOB;

-- A case erased with a member's data leaves its number here, and nothing
-- about the member, so that a number missing from cases is either here or
-- was deleted outside the bot.
CREATE TABLE erased_cases (
    guild_id  TEXT NOT NULL,
    number    INTEGER NOT NULL CHECK (number > 0),
    erased_at INTEGER NOT NULL,
    row_mac   BLOB,
    PRIMARY KEY (guild_id, number)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE erased_cases;
ALTER TABLE scheduled_actions DROP COLUMN row_mac;
ALTER TABLE case_history DROP COLUMN row_mac;
ALTER TABLE cases DROP COLUMN row_mac;
ALTER TABLE case_counters DROP COLUMN row_mac;
ALTER TABLE escalation_rules DROP COLUMN row_mac;
ALTER TABLE guild_moderator_roles DROP COLUMN row_mac;
ALTER TABLE guild_settings DROP COLUMN row_mac;
