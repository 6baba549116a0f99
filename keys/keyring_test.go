package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func TestCreateLoad(t *testing.T) {
	for _, tt := range []struct {
		name   string
		master bool
	}{
		{name: "Clear"},
		{name: "MasterKey", master: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mk []byte
			if tt.master {
				mk = newMasterKey(t)
			}
			opts := testOptions(t, mk)
			k1 := mustCreate(t, opts)
			ct, err := k1.Seal([]byte("user 1234"), []byte("cases/user_id/1"))
			if err != nil {
				t.Fatal(err)
			}
			k2 := mustLoad(t, opts)
			pt, err := k2.Open(ct, []byte("cases/user_id/1"))
			if err != nil {
				t.Fatalf("Open after Load: %v", err)
			}
			if got, want := string(pt), "user 1234"; got != want {
				t.Fatalf("got=%q, want %q", got, want)
			}
			if got, want := k2.BlindIndex("user", []byte("1234")), k1.BlindIndex("user", []byte("1234")); !bytes.Equal(got, want) {
				t.Fatalf("blind index changed across Load: got=%x, want %x", got, want)
			}
			if got := k2.Status().MasterKey; got != tt.master {
				t.Fatalf("Status().MasterKey=%v, want %v", got, tt.master)
			}
		})
	}
}

func TestCreateFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	opts := testOptions(t, nil)
	mustCreate(t, opts)
	for path, want := range map[string]os.FileMode{
		opts.Dir:                          0o700,
		filepath.Join(opts.Dir, AEADFile): 0o600,
		filepath.Join(opts.Dir, PRFFile):  0o600,
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode=%04o, want %04o", path, got, want)
		}
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("keys directory holds %d entries, want 2 (no leftover temp files)", len(entries))
	}
}

func TestExists(t *testing.T) {
	opts := testOptions(t, nil)
	if ok, err := Exists(opts.Dir); err != nil || ok {
		t.Fatalf("Exists before Create: got=%v, %v, want false, nil", ok, err)
	}
	mustCreate(t, opts)
	if ok, err := Exists(opts.Dir); err != nil || !ok {
		t.Fatalf("Exists after Create: got=%v, %v, want true, nil", ok, err)
	}
}

func TestSealOpen(t *testing.T) {
	k := mustCreate(t, testOptions(t, nil))
	other := mustCreate(t, testOptions(t, nil))
	ad := []byte("notes/body/7")
	ct, err := k.Seal([]byte("spam in #general"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	foreign, err := other.Seal([]byte("x"), ad)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name      string
		ct, ad    []byte
		wantErr   error
		wantInMsg []string
	}{
		{name: "OK", ct: ct, ad: ad},
		{name: "ErrDecryptOtherRow", ct: ct, ad: []byte("notes/body/8"), wantErr: ErrDecrypt,
			wantInMsg: []string{"moved to another row", filepath.Join(k.dir, AEADFile)}},
		{name: "ErrDecryptOtherColumn", ct: ct, ad: []byte("notes/author/7"), wantErr: ErrDecrypt},
		{name: "ErrDecryptTampered", ct: flipped, ad: ad, wantErr: ErrDecrypt},
		{name: "ErrDecryptUnknownKey", ct: foreign, ad: ad, wantErr: ErrDecrypt,
			wantInMsg: []string{"which is not in", "keys directory that belongs"}},
		{name: "ErrDecryptShort", ct: []byte{1, 2}, ad: ad, wantErr: ErrDecrypt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := k.Open(tt.ct, tt.ad)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got, want := string(pt), "spam in #general"; got != want {
					t.Fatalf("got=%q, want %q", got, want)
				}
				return
			}
			checkErr(t, err, tt.wantErr, tt.wantInMsg...)
		})
	}
}

func TestRotate(t *testing.T) {
	opts := testOptions(t, newMasterKey(t))
	k := mustCreate(t, opts)
	ad := []byte("cases/reason/1")
	oldCT, err := k.Seal([]byte("old"), ad)
	if err != nil {
		t.Fatal(err)
	}
	oldPrimary := k.Status().AEAD.ID
	prfBefore := k.BlindIndex("user", []byte("42"))

	if err := k.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	newCT, err := k.Seal([]byte("new"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if !k.NeedsReencrypt(oldCT) {
		t.Errorf("NeedsReencrypt(old)=false, want true")
	}
	if k.NeedsReencrypt(newCT) {
		t.Errorf("NeedsReencrypt(new)=true, want false")
	}
	if !k.NeedsReencrypt([]byte("not a ciphertext")) {
		t.Errorf("NeedsReencrypt(garbage)=false, want true")
	}

	// The rotation is on disk, and a fresh Load sees the same state.
	for name, kr := range map[string]*Keyring{"Same": k, "Loaded": mustLoad(t, opts)} {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				ct   []byte
				want string
			}{{oldCT, "old"}, {newCT, "new"}} {
				pt, err := kr.Open(c.ct, ad)
				if err != nil || string(pt) != c.want {
					t.Fatalf("Open=%q, %v, want %q", pt, err, c.want)
				}
			}
			st := kr.Status()
			if len(st.AEAD.Keys) != 2 {
				t.Fatalf("AEAD keys=%d, want 2", len(st.AEAD.Keys))
			}
			if st.AEAD.ID == oldPrimary {
				t.Fatalf("primary unchanged after Rotate: %d", st.AEAD.ID)
			}
			for _, key := range st.AEAD.Keys {
				if key.Primary != (key.ID == st.AEAD.ID) || key.Status != "enabled" || key.CreatedAt.IsZero() || key.Type != "AesGcmKey" {
					t.Errorf("key=%+v, want enabled AesGcmKey with a creation time, primary only if ID %d", key, st.AEAD.ID)
				}
			}
			if len(st.PRF.Keys) != 1 {
				t.Errorf("PRF keys=%d, want 1: Rotate leaves the PRF keyset to RotateIndex", len(st.PRF.Keys))
			}
			if got := kr.BlindIndex("user", []byte("42")); !bytes.Equal(got, prfBefore) {
				t.Errorf("blind index changed by Rotate")
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	k := mustCreate(t, testOptions(t, nil))
	other := mustCreate(t, testOptions(t, nil))
	base := k.BlindIndex("user", []byte("123456789"))
	if len(base) != BlindIndexSize {
		t.Fatalf("len=%d, want %d", len(base), BlindIndexSize)
	}
	for _, tt := range []struct {
		name     string
		got      []byte
		wantSame bool
	}{
		{name: "Deterministic", got: k.BlindIndex("user", []byte("123456789")), wantSame: true},
		{name: "OtherValue", got: k.BlindIndex("user", []byte("123456780"))},
		{name: "OtherDomain", got: k.BlindIndex("audit-chain", []byte("123456789"))},
		{name: "DomainValueBoundary", got: k.BlindIndex("use", []byte("r123456789"))},
		{name: "OtherInstallation", got: other.BlindIndex("user", []byte("123456789"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if same := bytes.Equal(tt.got, base); same != tt.wantSame {
				t.Fatalf("equal=%v, want %v", same, tt.wantSame)
			}
		})
	}
}

// TestConcurrentSealRotate is meant for -race: readers seal and open while
// the keyset is rotated under them, and every value must still open.
func TestConcurrentSealRotate(t *testing.T) {
	k := mustCreate(t, testOptions(t, nil))
	const workers, rounds, rotations = 8, 200, 4
	ad := []byte("cases/reason/1")
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for range workers {
		wg.Go(func() {
			for range rounds {
				ct, err := k.Seal([]byte("reason"), ad)
				if err != nil {
					errs <- err
					return
				}
				if _, err := k.Open(ct, ad); err != nil {
					errs <- err
					return
				}
				k.NeedsReencrypt(ct)
				k.BlindIndex("user", []byte("1"))
				k.Status()
			}
		})
	}
	wg.Go(func() {
		for range rotations {
			if err := k.Rotate(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(k.Status().AEAD.Keys); got != 1+rotations {
		t.Fatalf("AEAD keys=%d, want %d", got, 1+rotations)
	}
}

func TestRotateWriteFailureKeepsKeyring(t *testing.T) {
	opts := testOptions(t, nil)
	k := mustCreate(t, opts)
	if !makeReadOnly(t, opts.Dir) {
		t.Skip("directory stays writable (running as root?)")
	}
	before := k.Status().AEAD.ID
	err := k.Rotate()
	checkErr(t, err, nil, filepath.Join(opts.Dir, AEADFile), "writable")
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("err=%v, want errors.Is(err, os.ErrPermission)", err)
	}
	if got := k.Status().AEAD.ID; got != before {
		t.Fatalf("primary=%d after failed Rotate, want %d", got, before)
	}
}
