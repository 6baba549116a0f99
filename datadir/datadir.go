// Package datadir owns the layout of an installation's data directory
// (storage.data_dir): where the database and the keysets live, how a
// command opens them and proves they belong together (the key sentinel),
// how 'bot init' creates what is missing, and which keys a restore uses.
//
// Every failure says what to do: run 'bot init', restore the keys, upgrade
// the binary, or fix a permission.
package datadir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// Names inside the data directory.
const (
	DBFile  = "bot.db"
	KeysDir = "keys"
)

// DBPath is the database file of cfg's data directory.
func DBPath(cfg *config.Config) string { return filepath.Join(cfg.Storage.DataDir, DBFile) }

// KeysPath is the keys directory of cfg's data directory.
func KeysPath(cfg *config.Config) string { return filepath.Join(cfg.Storage.DataDir, KeysDir) }

// Installation is an opened data directory: the keys, and the database
// whose sentinel they opened.
type Installation struct {
	// Config is the configuration it was opened with.
	Config *config.Config
	// Keys are the keysets, proven by the sentinel to open DB.
	Keys *keys.Keyring
	// DB is the open database.
	DB *storage.DB
}

// Close closes the database.
func (in *Installation) Close() error { return in.DB.Close() }

// Open opens the data directory of cfg for a command that needs the
// database and keys. With migrate it applies pending migrations, as
// 'bot run' does; without, the schema must already be current or older
// (read-only tooling still works on an older schema). It takes no lock:
// callers that change the data take storage.Lock first.
func Open(ctx context.Context, cfg *config.Config, migrate bool) (_ *Installation, err error) {
	dir := cfg.Storage.DataDir
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no data directory at %s: run 'bot init' first (or point storage.data_dir at your data)", dir)
	} else if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := DBPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no database at %s: run 'bot init' to create one, or 'bot restore FILE' to restore a backup", path)
	} else if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	mk, err := MasterKey(cfg)
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, path)
	if errors.Is(err, storage.ErrSchemaAltered) {
		return nil, fmt.Errorf("%w\nRestore the database from a backup ('bot restore FILE'); the one in place stays untouched", err)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	// Before anything else runs on the file: a trigger planted in it would
	// fire on the bot's own writes, or during the migration below.
	if err := db.CheckSchema(ctx); err != nil {
		return nil, fmt.Errorf("%w\nRestore the database from a backup ('bot restore FILE'); the one in place stays untouched", err)
	}
	kdir := KeysPath(cfg)
	kr, err := loadKeys(ctx, db, kdir, mk)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	if err := storage.CheckKeys(ctx, db, kr, kdir); errors.Is(err, storage.ErrNoSentinel) {
		// A database created before its sentinel was sealed (an interrupted
		// init): seal one now if nothing is encrypted yet.
		if err := sealSentinel(ctx, db, kr); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("%w\nIf you restored the database from another installation, restore its keys directory too", err)
	}
	if migrate {
		// Records written by a version that did not seal them are sealed
		// as they stand, once.
		if _, err := storage.SealRecords(ctx, db, kr, "bot"); err != nil {
			return nil, fmt.Errorf("%w\nRun 'bot audit verify' to see what is wrong; restore a backup ('bot restore FILE') if records were changed", err)
		}
	}
	in := &Installation{Config: cfg, Keys: kr, DB: db}
	if migrate {
		// An erasure the database lost (a file put back by hand) is
		// applied again.
		if _, _, err := ReapplyLedger(ctx, in, "bot"); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// loadKeys loads the keysets in dir, and when there are none says whether
// that loses data: a database holding encrypted records cannot be read
// without the keys that sealed them.
func loadKeys(ctx context.Context, db *storage.DB, dir string, mk []byte) (*keys.Keyring, error) {
	ok, err := keys.Exists(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		has, herr := storage.NewMeta(db).HasEncryptedData(ctx)
		if herr != nil {
			return nil, herr
		}
		if has {
			return nil, fmt.Errorf("the database %s holds encrypted records but there are no keys in %s: "+
				"restore that directory from your key backup (without it the records cannot be read); "+
				"do not run 'bot init', which would create new keys that cannot open them", db.Path(), dir)
		}
		return nil, fmt.Errorf("no keys in %s: run 'bot init' to create them", dir)
	}
	return keys.Load(keys.Options{Dir: dir, MasterKey: mk})
}

// sealSentinel seals a new key sentinel into db, refusing when the database
// already holds encrypted records: a sentinel sealed now could not prove
// that kr is what sealed them.
func sealSentinel(ctx context.Context, db *storage.DB, kr *keys.Keyring) error {
	has, err := storage.NewMeta(db).HasEncryptedData(ctx)
	if err != nil {
		return err
	}
	if has {
		return fmt.Errorf("the database %s holds encrypted records but no key sentinel, so it cannot prove these keys are the right ones; restore it from a backup", db.Path())
	}
	sealed, err := kr.NewSentinel()
	if err != nil {
		return err
	}
	return storage.NewMeta(db).SetSentinel(ctx, sealed)
}

// MasterKey returns the master key that cfg names, or nil when none is set.
func MasterKey(cfg *config.Config) ([]byte, error) {
	// config.Load already refuses both being set.
	switch {
	case cfg.Keys.MasterKey != "":
		k, err := keys.ParseMasterKey(cfg.Keys.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("keys.master_key: %w", err)
		}
		return k, nil
	case cfg.Keys.MasterKeyFile != "":
		k, err := keys.ReadMasterKeyFile(cfg.Keys.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("keys.master_key_file: %w", err)
		}
		return k, nil
	}
	return nil, nil
}
