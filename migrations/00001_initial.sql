-- The first schema of the bot.
--
-- Privacy rule (DESIGN.md, "What is encrypted"): every column holding a value
-- that identifies or describes a person is a BLOB sealed by storage with
-- associated data naming its table, column and row. Columns named *_index hold
-- a keyed blind index of a user ID, used for lookups. Guild, channel and role
-- IDs, case numbers, points and timestamps are plain. Timestamps are unix
-- milliseconds (UTC), so comparisons are integer comparisons.

-- +goose Up

-- Marks the file as this program's database ('MODB'), so that storage can
-- refuse to run migrations on some other application's SQLite file.
PRAGMA application_id = 1297040450;

-- Installation facts: the key sentinel, the creation time, the sealed head of
-- the audit chain.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- Per-guild settings; a guild without a row uses the defaults in storage.
CREATE TABLE guild_settings (
    guild_id             TEXT PRIMARY KEY,
    modlog_channel_id    TEXT NOT NULL DEFAULT '',
    dm_enabled           INTEGER NOT NULL DEFAULT 1 CHECK (dm_enabled IN (0, 1)),
    warning_expiry_ms    INTEGER NOT NULL DEFAULT 0 CHECK (warning_expiry_ms >= 0),
    show_moderator_names INTEGER NOT NULL DEFAULT 0 CHECK (show_moderator_names IN (0, 1)),
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE guild_moderator_roles (
    guild_id TEXT NOT NULL REFERENCES guild_settings (guild_id) ON DELETE CASCADE,
    role_id  TEXT NOT NULL,
    PRIMARY KEY (guild_id, role_id)
) STRICT, WITHOUT ROWID;

-- Reaching `points` active warning points triggers `action`.
CREATE TABLE escalation_rules (
    guild_id    TEXT NOT NULL REFERENCES guild_settings (guild_id) ON DELETE CASCADE,
    points      INTEGER NOT NULL CHECK (points > 0),
    action      TEXT NOT NULL CHECK (action IN ('timeout', 'kick', 'ban')),
    duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    PRIMARY KEY (guild_id, points)
) STRICT, WITHOUT ROWID;

-- The last case number handed out per guild. Numbers come from here, inside
-- the write transaction, so they are never reused, even after a case is
-- deleted, and two concurrent inserts never share one.
CREATE TABLE case_counters (
    guild_id    TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number > 0)
) STRICT;

CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    guild_id        TEXT NOT NULL,
    number          INTEGER NOT NULL CHECK (number > 0),
    kind            TEXT NOT NULL CHECK (kind IN
                        ('warning', 'note', 'timeout', 'untimeout', 'kick', 'ban', 'unban')),
    target_index    BLOB NOT NULL,
    target_id       BLOB NOT NULL,
    target_name     BLOB NOT NULL,
    moderator_index BLOB NOT NULL,
    moderator_id    BLOB NOT NULL,
    moderator_name  BLOB NOT NULL,
    reason          BLOB NOT NULL,
    points          INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    duration_ms     INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    revoked_by      BLOB,
    revoke_reason   BLOB,
    -- The case that caused this one (an escalation names its warning). SET
    -- NULL keeps this case when a user's data deletion removes the other.
    linked_case_id  INTEGER REFERENCES cases (id) ON DELETE SET NULL,
    UNIQUE (guild_id, number),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
) STRICT;

CREATE INDEX cases_by_target ON cases (guild_id, target_index, number);
CREATE INDEX cases_by_target_all ON cases (target_index);
CREATE INDEX cases_by_link ON cases (linked_case_id);

-- Earlier reasons of a case, one row per edit.
CREATE TABLE case_history (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL CHECK (revision > 0),
    old_reason BLOB NOT NULL,
    changed_by BLOB NOT NULL,
    changed_at INTEGER NOT NULL,
    UNIQUE (case_id, revision)
) STRICT;

CREATE TABLE scheduled_actions (
    id           INTEGER PRIMARY KEY,
    -- Random, fixed at insert: the row's identity in associated data, known
    -- before the row exists (unlike id).
    nonce        BLOB NOT NULL UNIQUE,
    guild_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('unban', 'untimeout')),
    target_index BLOB NOT NULL,
    target_id    BLOB NOT NULL,
    due_at       INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   BLOB,
    claimed_at   INTEGER,
    case_id      INTEGER REFERENCES cases (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX scheduled_by_due ON scheduled_actions (state, due_at);
-- At most one pending action of a kind per user and guild: a new temporary
-- ban replaces the old one's unban instead of racing it.
CREATE UNIQUE INDEX scheduled_one_pending ON scheduled_actions (guild_id, target_index, kind)
    WHERE state = 'pending';

-- Append-only, hash-chained. seq is assigned by storage (1, 2, 3, ...) inside
-- the write transaction and is part of what the hash covers.
CREATE TABLE audit_log (
    seq      INTEGER PRIMARY KEY CHECK (seq > 0),
    at       INTEGER NOT NULL,
    guild_id TEXT NOT NULL,
    actor    BLOB NOT NULL,
    action   TEXT NOT NULL,
    details  BLOB NOT NULL,
    hash     BLOB NOT NULL
) STRICT;

-- +goose Down
DROP TABLE audit_log;
DROP TABLE scheduled_actions;
DROP TABLE case_history;
DROP TABLE cases;
DROP TABLE case_counters;
DROP TABLE escalation_rules;
DROP TABLE guild_moderator_roles;
DROP TABLE guild_settings;
DROP TABLE meta;
PRAGMA application_id = 0;
