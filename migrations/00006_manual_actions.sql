-- Actions taken outside the bot (Discord's own member menu, another bot)
-- recorded as cases from the guild's audit log. Both tables are sealed like
-- those of migration 4 and start empty.

-- +goose Up

-- A guild that turned the recording of manual actions off; no row: on.
CREATE TABLE guild_manual_actions (
    guild_id   TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at INTEGER NOT NULL,
    row_mac    BLOB
) STRICT, WITHOUT ROWID;

-- The audit-log entries already recorded as cases, so that an event the
-- gateway replays after a resume is not recorded twice. The entry ID is a
-- snowflake of Discord's audit log, not of a person; nothing here names the
-- member or the case.
CREATE TABLE manual_action_entries (
    guild_id    TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    row_mac     BLOB,
    PRIMARY KEY (guild_id, entry_id)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE manual_action_entries;
DROP TABLE guild_manual_actions;
