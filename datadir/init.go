package datadir

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// InitReport is what Init did, for the command to tell the owner.
type InitReport struct {
	// CreatedDB is set when there was no database file before.
	CreatedDB bool
	// FromVersion and ToVersion are the schema versions before and after
	// the migrations; equal when none was pending.
	FromVersion, ToVersion int64
	// CreatedKeys is set when new keysets were written, and MasterKeyed
	// when they are encrypted with the master key.
	CreatedKeys, MasterKeyed bool
	// SealedSentinel is set when the key sentinel was sealed.
	SealedSentinel bool
}

// Init creates whatever of the database, keys and sentinel is missing in
// cfg's data directory, which must exist, and checks that what exists
// belongs together. It never creates keys for a database that already
// holds encrypted records: they could never open them. On error the report
// still says what was done before it.
func Init(ctx context.Context, cfg *config.Config) (rep InitReport, err error) {
	path := DBPath(cfg)
	_, statErr := os.Stat(path)
	newDB := errors.Is(statErr, fs.ErrNotExist)
	mk, err := MasterKey(cfg)
	if err != nil {
		return rep, err
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	rep.CreatedDB = newDB
	if err := db.CheckSchema(ctx); err != nil {
		return rep, err
	}

	if rep.FromVersion, err = db.SchemaVersion(ctx); err != nil {
		return rep, err
	}
	rep.ToVersion = rep.FromVersion
	if err := db.Migrate(ctx); err != nil {
		return rep, err
	}
	if rep.ToVersion, err = db.SchemaVersion(ctx); err != nil {
		return rep, err
	}

	kdir := KeysPath(cfg)
	exists, err := keys.Exists(kdir)
	if err != nil {
		return rep, err
	}
	var kr *keys.Keyring
	if exists {
		kr, err = keys.Load(keys.Options{Dir: kdir, MasterKey: mk})
	} else {
		if has, herr := storage.NewMeta(db).HasEncryptedData(ctx); herr != nil {
			return rep, herr
		} else if has {
			_, err = loadKeys(ctx, db, kdir, mk)
			return rep, err
		}
		kr, err = keys.Create(keys.Options{Dir: kdir, MasterKey: mk})
		if err == nil {
			rep.CreatedKeys, rep.MasterKeyed = true, mk != nil
		}
	}
	if err != nil {
		return rep, err
	}

	switch err := storage.CheckKeys(ctx, db, kr, kdir); {
	case errors.Is(err, storage.ErrNoSentinel):
		if err := sealSentinel(ctx, db, kr); err != nil {
			return rep, err
		}
		rep.SealedSentinel = true
	case err != nil:
		return rep, err
	}
	if _, err := storage.SealRecords(ctx, db, kr, "bot init"); err != nil {
		return rep, err
	}
	return rep, nil
}
