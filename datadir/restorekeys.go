package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// asideStamp formats the time in the name of keys moved aside, as storage
// names the database it moves aside: UTC, sortable, no colons.
const asideStamp = "20060102T150405Z"

// UndoError is an Install failure after which the previous keys could not
// be put back: unlike any other error of Install, the keys directory is not
// as it was, and the message says where the previous keys are.
type UndoError struct{ Err error }

// Error says what failed and where the previous keys are.
func (e *UndoError) Error() string { return e.Err.Error() }

// Unwrap returns the failure that Install tried to undo.
func (e *UndoError) Unwrap() error { return e.Err }

// RestoreKeys says where a restore looks for keys, and how to get the
// passphrase of the keys a backup may carry.
type RestoreKeys struct {
	// Dir is the keys directory of the installation being restored into.
	Dir string
	// Shown is how messages name Dir, e.g. relative to the working
	// directory; Dir itself when empty.
	Shown string
	// MasterKey encrypts the keysets in Dir, or is nil.
	MasterKey []byte
	// WithKeys uses the backup's own keys even when those in Dir open it.
	WithKeys bool
	// Passphrase returns the passphrase of the backup's keys. It is called
	// only when those keys are needed; nil means no passphrase can be had,
	// so only the keys in Dir can open the backup.
	Passphrase func() ([]byte, error)
}

// KeyPlan is which keys open a verified backup, and whether they must be
// installed from the backup's own bundle.
type KeyPlan struct {
	// Keys open the backup.
	Keys *keys.Keyring
	// FromBundle is set when Keys came from the backup and Install puts
	// them in place.
	FromBundle bool
	// Why says why the installed keys were not used, if they were not.
	Why string

	bundle     []byte
	passphrase []byte
}

// InstalledKeys is what KeyPlan.Install did.
type InstalledKeys struct {
	// Installed is set when the backup's keysets were written to the keys
	// directory.
	Installed bool
	// Unchanged is set when the keys directory already held exactly the
	// backup's keys.
	Unchanged bool
	// Aside names where the keys that were there before now are, if they
	// were moved.
	Aside string
}

func (r RestoreKeys) shown() string {
	if r.Shown != "" {
		return r.Shown
	}
	return r.Dir
}

// Plan finds the keys that open the verified backup res: the installed
// ones if they do (unless WithKeys), else those in the backup's bundle.
// It changes nothing on disk. Its errors say which keys would open the
// backup.
func (r RestoreKeys) Plan(res *storage.VerifyResult) (*KeyPlan, error) {
	plan := &KeyPlan{}
	kdir := r.shown()
	if !r.WithKeys {
		exists, err := keys.Exists(r.Dir)
		if err != nil {
			return nil, err
		}
		var currentErr error
		if exists {
			kr, err := keys.Load(keys.Options{Dir: r.Dir, MasterKey: r.MasterKey})
			if err == nil {
				if err = res.CheckKeys(kr); err == nil {
					return &KeyPlan{Keys: kr}, nil
				}
				if errors.Is(err, storage.ErrSealBroken) {
					// These are its keys, and the file was changed since.
					return nil, err
				}
			}
			currentErr = err
			plan.Why = "the keys in " + kdir + " do not open it"
		} else {
			plan.Why = "there are no keys in " + kdir
		}
		if res.KeysBundle == nil {
			how := fmt.Sprintf("This backup does not carry its keys (it was made without --with-keys): put the keys directory "+
				"that was backed up with it at %s (move the current one aside first), then run 'bot restore' again", kdir)
			if currentErr != nil {
				return nil, fmt.Errorf("the keys in %s do not open this backup: %w\n%s", kdir, currentErr, how)
			}
			return nil, fmt.Errorf("there are no keys in %s to open this backup.\n%s", kdir, how)
		}
	} else if res.KeysBundle == nil {
		return nil, fmt.Errorf("--with-keys: this backup does not carry keys (it was made without --with-keys); run without --with-keys to use the keys in %s", kdir)
	}
	if r.Passphrase == nil {
		return nil, errors.New("the keys in the backup need a passphrase, and none can be asked for")
	}
	pass, err := r.Passphrase()
	if err != nil {
		return nil, err
	}
	kr, err := keys.OpenBundle(res.KeysBundle, pass)
	if err != nil {
		return nil, err
	}
	if err := res.CheckKeys(kr); err != nil {
		return nil, fmt.Errorf("the keys inside the backup do not open it, so it is inconsistent; use another backup: %w", err)
	}
	plan.Keys, plan.FromBundle, plan.bundle, plan.passphrase = kr, true, res.KeysBundle, pass
	return plan, nil
}

// Install puts the backup's keys in r.Dir when the plan says so, moving
// other keys aside first, to <dir>.before-restore-<now>. It returns what
// it did and a function that puts things back. When it fails the keys
// directory is as it was.
func (p *KeyPlan) Install(r RestoreKeys, now time.Time) (undo func() error, did InstalledKeys, err error) {
	undo = func() error { return nil }
	if !p.FromBundle {
		return undo, did, nil
	}
	kdir := r.Dir
	existed := exists(kdir)
	err = keys.ImportBundle(p.bundle, p.passphrase, kdir, r.MasterKey)
	if err == nil {
		if existed {
			// The same keys were already there: nothing to undo.
			return undo, InstalledKeys{Unchanged: true}, nil
		}
		return func() error { return removeKeys(kdir) }, InstalledKeys{Installed: true}, nil
	}
	if !errors.Is(err, keys.ErrExist) {
		return undo, did, err
	}
	stamp := now.UTC().Format(asideStamp)
	aside := kdir + ".before-restore-" + stamp
	for i := 2; exists(aside); i++ {
		aside = fmt.Sprintf("%s.before-restore-%s-%d", kdir, stamp, i)
	}
	if err := os.Rename(kdir, aside); err != nil {
		return undo, did, fmt.Errorf("move the current keys aside to %s: %w", aside, err)
	}
	undo = func() error {
		if err := removeKeys(kdir); err != nil {
			return err
		}
		return os.Rename(aside, kdir)
	}
	if err := keys.ImportBundle(p.bundle, p.passphrase, kdir, r.MasterKey); err != nil {
		if uerr := undo(); uerr != nil {
			return nil, did, &UndoError{fmt.Errorf("%w; putting the previous keys back from %s failed too: %v", err, aside, uerr)}
		}
		return nil, did, err
	}
	return undo, InstalledKeys{Installed: true, Aside: aside}, nil
}

// removeKeys removes the keyset files that Install wrote, and the
// directory if nothing else is in it.
func removeKeys(kdir string) error {
	for _, name := range []string{keys.AEADFile, keys.PRFFile} {
		if err := os.Remove(filepath.Join(kdir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	os.Remove(kdir) // fails, harmlessly, if other files are there
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
