-- /modstats counts a guild's cases made since a date, by kind and by
-- moderator. This index holds every column that count reads (the row ID,
-- for the one case that names each moderator, is in every index entry), in
-- the order of its GROUP BY: SQLite walks the guild's entries once and
-- never sorts. Leading with created_at instead would read only the period,
-- but sorting a year of a busy guild's cases costs more than walking all
-- of them.

-- +goose Up
CREATE INDEX cases_by_kind ON cases (guild_id, kind, moderator_index, created_at);

-- +goose Down
DROP INDEX cases_by_kind;
