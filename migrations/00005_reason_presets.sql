-- Reason presets: a guild's named reasons, offered by the autocomplete of
-- every reason option, with default points for /warn. A moderator writes
-- the name and the text, so both are sealed like a case's reason, bound to
-- the guild and the row's nonce; names are matched after opening the
-- guild's presets, which are few. The table is sealed like the tables of
-- migration 3 (row_mac, and a count and sum in the audit chain's head) and
-- starts empty, as a sealed table added later must.

-- +goose Up
CREATE TABLE reason_presets (
    id         INTEGER PRIMARY KEY,
    guild_id   TEXT NOT NULL,
    nonce      BLOB NOT NULL UNIQUE,
    name       BLOB NOT NULL,
    text       BLOB NOT NULL,
    points     INTEGER CHECK (points IS NULL OR points > 0),
    created_at INTEGER NOT NULL,
    row_mac    BLOB
) STRICT;

CREATE INDEX reason_presets_guild ON reason_presets (guild_id);

-- +goose Down
DROP INDEX reason_presets_guild;
DROP TABLE reason_presets;
