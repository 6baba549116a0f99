-- /modstats counts a guild's cases made since a date, by kind and by
-- moderator. With this index that is one range scan of the index entries of
-- the period, which hold everything the counts read (the row ID, for the
-- one case that names each moderator, is in every index entry); without it,
-- every case of the guild is read from the table.

-- +goose Up
CREATE INDEX cases_by_time ON cases (guild_id, created_at, kind, moderator_index);

-- +goose Down
DROP INDEX cases_by_time;
