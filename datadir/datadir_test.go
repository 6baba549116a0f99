package datadir

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// Bundles sealed by these tests use cheap argon2id parameters; every bundle
// records its own, so the production ones are not needed to open them.

const testPass = "correct horse battery staple"

// newConfig returns the configuration of an installation in a new
// directory, with environ added to the environment.
func newConfig(t *testing.T, environ ...string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg, _, err := config.Load(config.Source{
		Environ: append([]string{"BOT_STORAGE_DATA_DIR=" + filepath.Join(dir, "data")}, environ...),
		WorkDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// initialized runs Init in a new data directory and returns its config.
func initialized(t *testing.T) *config.Config {
	t.Helper()
	cfg := newConfig(t)
	if err := os.MkdirAll(cfg.Storage.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// addCase stores one encrypted warning in cfg's installation.
func addCase(t *testing.T, cfg *config.Config) {
	t.Helper()
	in, err := Open(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	_, err = storage.NewCases(in.DB, in.Keys).Create(context.Background(), storage.NewCase{
		GuildID: "200000000000000001", Kind: storage.CaseWarning,
		TargetID: "400000000000000002", TargetName: "someone",
		ModeratorID: "400000000000000001", ModeratorName: "mod",
		Reason: "spam", Points: 1, CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInit(t *testing.T) {
	cfg := newConfig(t)
	os.MkdirAll(cfg.Storage.DataDir, 0o700)
	rep, err := Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.CreatedDB || !rep.CreatedKeys || rep.MasterKeyed || !rep.SealedSentinel || rep.ToVersion != storage.LatestVersion() || rep.FromVersion != 0 {
		t.Errorf("first Init got=%+v, want everything created", rep)
	}
	rep, err = Init(context.Background(), cfg)
	if err != nil || rep != (InitReport{FromVersion: storage.LatestVersion(), ToVersion: storage.LatestVersion()}) {
		t.Errorf("second Init got=%+v %v, want nothing done", rep, err)
	}

	t.Run("RefusesNewKeysForEncryptedData", func(t *testing.T) {
		addCase(t, cfg)
		os.RemoveAll(KeysPath(cfg))
		_, err := Init(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "holds encrypted records but there are no keys") {
			t.Errorf("got=%v, want a refusal naming the missing keys", err)
		}
		if ok, _ := keys.Exists(KeysPath(cfg)); ok {
			t.Error("Init created new keys for a database that holds records")
		}
	})
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, cfg *config.Config)
		want  string
	}{
		{"NoDataDirectory", func(t *testing.T, cfg *config.Config) { os.RemoveAll(cfg.Storage.DataDir) }, "run 'bot init' first"},
		{"NoDatabase", func(t *testing.T, cfg *config.Config) { os.Remove(DBPath(cfg)) }, "'bot restore FILE'"},
		{"NoKeys", func(t *testing.T, cfg *config.Config) { os.RemoveAll(KeysPath(cfg)) }, "no keys in"},
		{"OtherKeys", func(t *testing.T, cfg *config.Config) {
			other := initialized(t)
			os.RemoveAll(KeysPath(cfg))
			if err := os.Rename(KeysPath(other), KeysPath(cfg)); err != nil {
				t.Fatal(err)
			}
		}, "restore its keys directory too"},
		// A trigger planted with a SQLite shell would fire on the bot's own
		// writes; the database is refused before anything runs on it.
		{"PlantedTrigger", func(t *testing.T, cfg *config.Config) {
			db, err := sql.Open("sqlite", DBPath(cfg))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TRIGGER planted AFTER INSERT ON cases BEGIN DELETE FROM cases; END`); err != nil {
				t.Fatal(err)
			}
		}, `trigger "planted" was added`},
		// A generated column on goose's table would run when the version
		// is read, before anything else: refused from its definition.
		{"GooseGeneratedColumn", func(t *testing.T, cfg *config.Config) {
			db, err := sql.Open("sqlite", DBPath(cfg))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, e := range []string{`PRAGMA writable_schema = ON`,
				`UPDATE sqlite_schema SET sql = 'CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime(''now'')), is_applied INTEGER AS (abs(-9223372036854775807 - 1 + version_id * 0)) VIRTUAL)' WHERE name = 'goose_db_version'`} {
				if _, err := db.Exec(e); err != nil {
					t.Fatal(err)
				}
			}
		}, `table "goose_db_version" was changed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := initialized(t)
			tt.setup(t, cfg)
			in, err := Open(context.Background(), cfg, false)
			if err == nil {
				in.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got=%v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		cfg := initialized(t)
		in, err := Open(context.Background(), cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if in.DB.Path() != DBPath(cfg) || in.Config != cfg {
			t.Errorf("got=%s, want %s", in.DB.Path(), DBPath(cfg))
		}
	})
}

func TestMasterKey(t *testing.T) {
	mk, err := keys.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "master.key")
	os.WriteFile(file, []byte(mk+"\n"), 0o600)
	open := filepath.Join(t.TempDir(), "open.key")
	os.WriteFile(open, []byte(mk+"\n"), 0o644)
	os.Chmod(open, 0o644)
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	tests := []struct {
		name    string
		environ []string
		wantKey bool
		wantErr string
	}{
		{"None", nil, false, ""},
		{"FromEnvironment", []string{"BOT_KEYS_MASTER_KEY=" + mk}, true, ""},
		{"FromFile", []string{"BOT_KEYS_MASTER_KEY_FILE=" + file}, true, ""},
		{"BadFile", []string{"BOT_KEYS_MASTER_KEY_FILE=" + bad}, false, "keys.master_key_file: read master key file " + bad},
		{"MissingFile", []string{"BOT_KEYS_MASTER_KEY_FILE=" + file + ".nope"}, false, "keys.master_key_file"},
		{"FileReadableByOthers", []string{"BOT_KEYS_MASTER_KEY_FILE=" + open}, false, "chmod 600 " + open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := MasterKey(newConfig(t, tt.environ...))
			if (k != nil) != tt.wantKey {
				t.Errorf("key got=%v, want one: %v", k != nil, tt.wantKey)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error got=%v, want %q", err, tt.wantErr)
			}
		})
	}
}

// backupOf writes a backup of cfg's database, carrying its keys under
// testPass when withKeys is set, and verifies it.
func backupOf(t *testing.T, cfg *config.Config, withKeys bool) *storage.VerifyResult {
	t.Helper()
	in, err := Open(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var bundle []byte
	if withKeys {
		if bundle, err = keys.ExportBundle(KeysPath(cfg), nil, []byte(testPass), keys.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	if _, err := in.DB.BackupWithOptions(context.Background(), dest, storage.BackupOptions{KeysBundle: bundle, Keys: in.Keys}); err != nil {
		t.Fatal(err)
	}
	res, err := storage.Verify(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func passphrase(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

func TestRestoreKeysPlan(t *testing.T) {
	src := initialized(t)
	addCase(t, src)
	plain, carried := backupOf(t, src, false), backupOf(t, src, true)
	noPass := func() ([]byte, error) { return nil, errors.New("no passphrase given") }

	tests := []struct {
		name       string
		kdir       string
		withKeys   bool
		res        *storage.VerifyResult
		pass       func() ([]byte, error)
		fromBundle bool
		wantErr    string
	}{
		{"CurrentKeysOpenIt", KeysPath(src), false, plain, noPass, false, ""},
		{"CurrentKeysPreferredToBundle", KeysPath(src), false, carried, noPass, false, ""},
		{"WithKeysUsesBundle", KeysPath(src), true, carried, passphrase(testPass), true, ""},
		{"NoKeysUsesBundle", filepath.Join(t.TempDir(), "keys"), false, carried, passphrase(testPass), true, ""},
		{"NoKeysNoBundle", filepath.Join(t.TempDir(), "keys"), false, plain, noPass, false, "does not carry its keys"},
		{"OtherKeysNoBundle", KeysPath(initialized(t)), false, plain, noPass, false, "do not open this backup"},
		{"WithKeysNoBundle", KeysPath(src), true, plain, noPass, false, "--with-keys: this backup does not carry keys"},
		{"WrongPassphrase", KeysPath(src), true, carried, passphrase("not the passphrase"), false, "passphrase"},
		{"PassphraseFails", KeysPath(src), true, carried, noPass, false, "no passphrase given"},
		{"NoPassphraseFunc", KeysPath(src), true, carried, nil, false, "need a passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := RestoreKeys{Dir: tt.kdir, WithKeys: tt.withKeys, Passphrase: tt.pass}.Plan(tt.res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got=%v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.FromBundle != tt.fromBundle || plan.Keys == nil {
				t.Errorf("plan got=%+v, want FromBundle %v", plan, tt.fromBundle)
			}
		})
	}
}

func TestKeyPlanInstall(t *testing.T) {
	src := initialized(t)
	addCase(t, src)
	res := backupOf(t, src, true)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("FreshMachine", func(t *testing.T) {
		r := RestoreKeys{Dir: filepath.Join(t.TempDir(), "keys"), Passphrase: passphrase(testPass)}
		plan, err := r.Plan(res)
		if err != nil {
			t.Fatal(err)
		}
		undo, did, err := plan.Install(r, now)
		if err != nil || did != (InstalledKeys{Installed: true}) {
			t.Fatalf("got=%+v %v, want installed", did, err)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		if fileExists(r.Dir) {
			t.Error("undo left the keys directory")
		}
	})
	t.Run("SameKeysLeftAlone", func(t *testing.T) {
		r := RestoreKeys{Dir: KeysPath(src), WithKeys: true, Passphrase: passphrase(testPass)}
		plan, err := r.Plan(res)
		if err != nil {
			t.Fatal(err)
		}
		if _, did, err := plan.Install(r, now); err != nil || did != (InstalledKeys{Unchanged: true}) {
			t.Errorf("got=%+v %v, want unchanged", did, err)
		}
	})
	t.Run("OtherKeysMovedAside", func(t *testing.T) {
		other := initialized(t)
		r := RestoreKeys{Dir: KeysPath(other), WithKeys: true, Passphrase: passphrase(testPass)}
		plan, err := r.Plan(res)
		if err != nil {
			t.Fatal(err)
		}
		undo, did, err := plan.Install(r, now)
		wantAside := KeysPath(other) + ".before-restore-20260102T030405Z"
		if err != nil || did != (InstalledKeys{Installed: true, Aside: wantAside}) {
			t.Fatalf("got=%+v %v, want installed with the old keys at %s", did, err, wantAside)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		if fileExists(wantAside) {
			t.Error("undo left the old keys aside")
		}
		in, err := Open(context.Background(), other, false)
		if err != nil {
			t.Fatalf("after undo the installation does not open: %v", err)
		}
		in.Close()
	})
	t.Run("NotFromBundleDoesNothing", func(t *testing.T) {
		r := RestoreKeys{Dir: KeysPath(src)}
		plan, err := r.Plan(backupOf(t, src, false))
		if err != nil {
			t.Fatal(err)
		}
		if _, did, err := plan.Install(r, now); err != nil || did != (InstalledKeys{}) {
			t.Errorf("got=%+v %v, want nothing done", did, err)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
