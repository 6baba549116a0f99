-- Members' data rights and retention. Every table here is sealed like the
-- tables of migration 3 (row_mac, and a count and sum in the audit chain's
-- head) and starts empty, as a sealed table added later must.

-- +goose Up

-- A member whose records in a guild were erased: their blind index (all the
-- installation's index keys at the time, one row each), never their ID. A
-- pending timed unban of theirs is kept until it has run, then deleted; a
-- restored older backup has the member's records erased again.
CREATE TABLE member_erasures (
    guild_id     TEXT NOT NULL,
    target_index BLOB NOT NULL,
    erased_at    INTEGER NOT NULL,
    row_mac      BLOB,
    PRIMARY KEY (guild_id, target_index)
) STRICT, WITHOUT ROWID;

-- The modlog messages the bot posted about a case, so that erasing the
-- member can delete them in Discord too.
CREATE TABLE modlog_messages (
    guild_id    TEXT NOT NULL,
    case_number INTEGER NOT NULL CHECK (case_number > 0),
    channel_id  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    row_mac     BLOB,
    PRIMARY KEY (guild_id, case_number, message_id)
) STRICT, WITHOUT ROWID;

-- A guild's own retention period for cases that no longer count, shorter
-- than the operator's retention.cases; no row: the operator's.
CREATE TABLE guild_retention (
    guild_id     TEXT PRIMARY KEY,
    retention_ms INTEGER NOT NULL CHECK (retention_ms > 0),
    updated_at   INTEGER NOT NULL,
    row_mac      BLOB
) STRICT, WITHOUT ROWID;

-- A guild the bot left (removed, or the guild deleted): its records are
-- deleted at delete_at unless the bot is added back before.
CREATE TABLE guild_departures (
    guild_id  TEXT PRIMARY KEY,
    left_at   INTEGER NOT NULL,
    delete_at INTEGER NOT NULL,
    row_mac   BLOB
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE guild_departures;
DROP TABLE guild_retention;
DROP TABLE modlog_messages;
DROP TABLE member_erasures;
