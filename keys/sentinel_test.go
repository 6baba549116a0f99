package keys

import (
	"path/filepath"
	"testing"
)

func TestSentinel(t *testing.T) {
	opts := testOptions(t, nil)
	k := mustCreate(t, opts)
	sealed, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, testOptions(t, nil))

	// A keys directory whose PRF keyset comes from another installation.
	mixed := testOptions(t, nil)
	mustCreate(t, mixed)
	writeFile(t, filepath.Join(mixed.Dir, AEADFile), readFile(t, filepath.Join(opts.Dir, AEADFile)))
	mixedKeys := mustLoad(t, mixed)

	notSentinel, err := k.Seal([]byte("hello"), []byte(sentinelAD))
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name      string
		keys      *Keyring
		sealed    []byte
		wantErr   bool
		wantInMsg []string
	}{
		{name: "OK", keys: k, sealed: sealed},
		{name: "OKAfterLoad", keys: mustLoad(t, opts), sealed: sealed},
		{name: "ErrWrongKeysOtherInstallation", keys: other, sealed: sealed, wantErr: true,
			wantInMsg: []string{other.dir, "keys directory that belongs to this database"}},
		{name: "ErrWrongKeysMixedPRF", keys: mixedKeys, sealed: sealed, wantErr: true,
			wantInMsg: []string{filepath.Join(mixed.Dir, PRFFile), "restore"}},
		{name: "ErrWrongKeysNotASentinel", keys: k, sealed: notSentinel, wantErr: true},
		{name: "ErrWrongKeysGarbage", keys: k, sealed: []byte("garbage"), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.keys.CheckSentinel(tt.sealed)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("CheckSentinel: %v", err)
				}
				return
			}
			checkErr(t, err, ErrWrongKeys, tt.wantInMsg...)
		})
	}

	t.Run("RotatedStillMatches", func(t *testing.T) {
		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		if err := k.CheckSentinel(sealed); err != nil {
			t.Fatalf("CheckSentinel after Rotate: %v", err)
		}
	})
}
