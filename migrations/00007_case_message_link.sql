-- The message a case is about, when a moderator warned from the message's
-- context menu: a link to it, sealed like the case's reason, never the
-- message's content. Sealed like the tables of migration 4 and empty at
-- first, as a sealed table added later must be.

-- +goose Up

-- A rowid table: re-encryption walks sealed tables by rowid.
CREATE TABLE case_message_links (
    id          INTEGER PRIMARY KEY,
    guild_id    TEXT NOT NULL,
    case_number INTEGER NOT NULL CHECK (case_number > 0),
    link        BLOB NOT NULL,
    row_mac     BLOB,
    UNIQUE (guild_id, case_number)
) STRICT;

-- +goose Down
DROP TABLE case_message_links;
