package datadir

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/modbot/bot/storage"
)

// TestInitChecksSchemaBeforeMigrating (review2): SECURITY.md and the
// README say the live database's schema is compared with the migrations
// every time the bot opens it, before migrating. Open does so; Init (`bot
// init`, which the owner runs again to write config.toml and which
// "changes nothing" on an installed directory) opens the database with
// storage.Open and migrates it without CheckSchema. A trigger planted on
// goose's table, with the last migration's row removed, fires during
// `bot init`, which then reports success; only the next `bot run` refuses.
func TestInitChecksSchemaBeforeMigrating(t *testing.T) {
	ctx := context.Background()
	cfg := initialized(t)
	edit, err := sql.Open("sqlite", DBPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{
		`DELETE FROM goose_db_version WHERE version_id = 2`,
		`DROP INDEX cases_by_target`,
		`CREATE INDEX cases_by_target ON cases (guild_id, target_index, number)`,
		`CREATE TABLE pwned (x)`,
		`CREATE TRIGGER t_goose AFTER INSERT ON goose_db_version BEGIN INSERT INTO pwned VALUES ('fired'); END`,
	} {
		if _, err := edit.Exec(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
	edit.Close()

	_, err = Init(ctx, cfg)
	if !errors.Is(err, storage.ErrSchemaAltered) {
		t.Errorf("Init got %v, want ErrSchemaAltered", err)
	}
	check, err := sql.Open("sqlite", DBPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var fired int
	if err := check.QueryRow(`SELECT count(*) FROM pwned`).Scan(&fired); err != nil {
		t.Fatal(err)
	}
	if fired != 0 {
		t.Errorf("the planted trigger fired %d times during Init", fired)
	}
}
