-- The index of a member's cases in a guild also carries what decides whether
-- a case counts (revoked_at, expires_at) and its points. Summing a member's
-- active points, which every /warn does inside its write transaction, then
-- reads only the index entries next to the one the new case adds, instead of
-- one table row per earlier case at random places in the file.

-- +goose Up
DROP INDEX cases_by_target;
CREATE INDEX cases_by_target ON cases (guild_id, target_index, number, revoked_at, expires_at, points);

-- +goose Down
DROP INDEX cases_by_target;
CREATE INDEX cases_by_target ON cases (guild_id, target_index, number);
