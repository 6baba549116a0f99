-- Members' data rights and retention. Every table here is sealed like the
-- tables of migration 3 (row_mac, and a count and sum in the audit chain's
-- head) and starts empty, as a sealed table added later must.

-- +goose Up

-- A member whose records in a guild were erased, as a mark: a keyed digest
-- of their blind index (one row per index key in use at the time), never
-- the index itself, which would let a copy of this file be matched against
-- an older one. A pending timed unban of theirs is kept until it has run,
-- then deleted. The erasure ledger outside this file keeps what a restore
-- needs to erase them again.
CREATE TABLE member_erasures (
    guild_id    TEXT NOT NULL,
    member_mark BLOB NOT NULL,
    erased_at   INTEGER NOT NULL,
    row_mac     BLOB,
    PRIMARY KEY (guild_id, member_mark)
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
