package keys

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Bundles in these tests are sealed with cheap KDF parameters; each bundle
// records its own, so TestBundleProductionParams still covers the real ones.
// testKDF keeps the tests fast; bundles carry their parameters, so any
// valid cost opens.
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

const testPassphrase = "correct horse battery staple"

// exportTest creates keys (under master when not nil), a sentinel sealed with
// them, and a bundle of them.
func exportTest(t *testing.T, master []byte) (opts Options, sentinel, bundle []byte) {
	t.Helper()
	opts = testOptions(t, master)
	k := mustCreate(t, opts)
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err = exportTestWith(opts.Dir, master, testKDF)
	if err != nil {
		t.Fatalf("ExportBundle: %v", err)
	}
	return opts, sentinel, bundle
}

func TestBundleRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name               string
		srcMaster, dstMast []byte
	}{
		{"OK", nil, nil},
		{"MasterKeyAtSource", newMasterKey(t), nil},
		{"MasterKeyAtDestination", nil, newMasterKey(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, sentinel, bundle := exportTest(t, tt.srcMaster)
			k, err := OpenBundle(bundle, []byte(testPassphrase))
			if err != nil {
				t.Fatalf("OpenBundle: %v", err)
			}
			if err := k.CheckSentinel(sentinel); err != nil {
				t.Errorf("bundle keys do not open the sentinel: %v", err)
			}
			dst := testOptions(t, tt.dstMast)
			if err := ImportBundle(bundle, []byte(testPassphrase), dst.Dir, tt.dstMast); err != nil {
				t.Fatalf("ImportBundle: %v", err)
			}
			for _, name := range []string{AEADFile, PRFFile} {
				st, err := os.Stat(filepath.Join(dst.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s mode got=%v, want 0600", name, st.Mode().Perm())
				}
			}
			if err := mustLoad(t, dst).CheckSentinel(sentinel); err != nil {
				t.Errorf("imported keys do not open the sentinel: %v", err)
			}
			// Importing the same keys again is a no-op, not a refusal.
			if err := ImportBundle(bundle, []byte(testPassphrase), dst.Dir, tt.dstMast); err != nil {
				t.Errorf("second import of the same keys: %v", err)
			}
		})
	}
}

func TestBundleErrors(t *testing.T) {
	opts, _, bundle := exportTest(t, nil)

	t.Run("ErrWrongPassphrase", func(t *testing.T) {
		_, err := OpenBundle(bundle, []byte("not the right passphrase"))
		checkErr(t, err, ErrWrongPassphrase, "passphrase does not open", "BOT_BACKUP_PASSPHRASE")
		dst := testOptions(t, nil)
		err = ImportBundle(bundle, []byte("not the right passphrase"), dst.Dir, nil)
		checkErr(t, err, ErrWrongPassphrase)
		if ok, _ := Exists(dst.Dir); ok {
			t.Error("a failed import wrote keys")
		}
	})
	t.Run("ShortPassphrase", func(t *testing.T) {
		_, err := ExportBundle(opts.Dir, nil, []byte("short"), testKDF)
		checkErr(t, err, nil, "at least 12")
	})
	t.Run("ErrExistOtherKeys", func(t *testing.T) {
		other := testOptions(t, nil)
		mustCreate(t, other)
		before := readFile(t, filepath.Join(other.Dir, AEADFile))
		err := ImportBundle(bundle, []byte(testPassphrase), other.Dir, nil)
		checkErr(t, err, ErrExist, other.Dir, "move that directory aside")
		if after := readFile(t, filepath.Join(other.Dir, AEADFile)); string(after) != string(before) {
			t.Error("a refused import changed the existing keys")
		}
	})
	t.Run("ErrCorrupt", func(t *testing.T) {
		var b bundleFile
		if err := json.Unmarshal(bundle, &b); err != nil {
			t.Fatal(err)
		}
		tampered := b
		tampered.Sealed = append([]byte(nil), b.Sealed...)
		tampered.Sealed[len(tampered.Sealed)/2] ^= 1
		greedy := b
		greedy.Params.MemoryKiB = 1 << 30
		for name, input := range map[string][]byte{
			"NotJSON":        []byte("not a bundle"),
			"Empty":          nil,
			"HugeMemory":     mustJSON(t, greedy),
			"FormatTooNew":   mustJSON(t, bundleFile{Format: 99}),
			"FlippedSealing": mustJSON(t, tampered),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := OpenBundle(input, []byte(testPassphrase))
				want := ErrCorrupt
				if name == "FlippedSealing" {
					want = ErrWrongPassphrase // GCM cannot tell them apart
				}
				checkErr(t, err, want)
			})
		}
	})
}

// A bundle carries the parameters it was sealed with, and opens with them.
func TestBundleCarriesParams(t *testing.T) {
	opts := testOptions(t, nil)
	k := mustCreate(t, opts)
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := exportTestWith(opts.Dir, nil, KDFParams{Time: 2, MemoryKiB: 1024, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := OpenBundle(bundle, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	if err := opened.CheckSentinel(sentinel); err != nil {
		t.Error(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exportTestWith(dir string, master []byte, kdf KDFParams) ([]byte, error) {
	return ExportBundle(dir, master, []byte(testPassphrase), kdf)
}

// TestExportBundleKDFRange: a cost outside what OpenBundle accepts is
// refused when sealing, so no bundle is made that could not be opened.
func TestExportBundleKDFRange(t *testing.T) {
	opts := testOptions(t, nil)
	mustCreate(t, opts)
	for _, p := range []KDFParams{{Time: 0, MemoryKiB: 64, Threads: 1}, {Time: 1, MemoryKiB: 64, Threads: 0},
		{Time: 11, MemoryKiB: 64, Threads: 1}, {Time: 1, MemoryKiB: 256<<10 + 1, Threads: 1},
		{Time: 1, MemoryKiB: 17 * 8, Threads: 17}, {Time: 1, MemoryKiB: 2 << 20, Threads: 4}} {
		if _, err := exportTestWith(opts.Dir, nil, p); err == nil {
			t.Errorf("ExportBundle accepted %+v", p)
		}
	}
}

// TestKDFLimits fixes the limits a bundle's cost must stay within, at their
// edges: 10 passes, 16 threads, 256 MiB.
func TestKDFLimits(t *testing.T) {
	for _, tt := range []struct {
		p    KDFParams
		want bool
	}{
		{DefaultBundleKDF(), true},
		{KDFParams{Time: 10, MemoryKiB: 256 << 10, Threads: 16}, true},
		{KDFParams{Time: 11, MemoryKiB: 64, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 256<<10 + 1, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 1024, Threads: 17}, false},
		{KDFParams{Time: 1, MemoryKiB: 7, Threads: 1}, false},
		{KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}, false},
	} {
		if got := tt.p.inRange(); got != tt.want {
			t.Errorf("inRange(%+v) got=%v, want %v", tt.p, got, tt.want)
		}
	}
}

// TestOpenBundleRefusesCostlyKDF: a bundle whose parameters ask for more
// than the limits is refused as not ours before argon2 runs, so a crafted
// backup cannot make restore allocate what it asks for.
func TestOpenBundleRefusesCostlyKDF(t *testing.T) {
	_, _, bundle := exportTest(t, nil)
	for _, tt := range []struct {
		name string
		p    KDFParams
	}{
		{"Memory2GiB", KDFParams{Time: 1, MemoryKiB: 2 << 20, Threads: 4}},
		{"Threads255", KDFParams{Time: 1, MemoryKiB: 64 << 10, Threads: 255}},
		{"Passes64", KDFParams{Time: 64, MemoryKiB: 64 << 10, Threads: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b map[string]any
			if err := json.Unmarshal(bundle, &b); err != nil {
				t.Fatal(err)
			}
			b["params"] = tt.p
			crafted, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = OpenBundle(crafted, []byte(testPassphrase))
			runtime.ReadMemStats(&after)
			checkErr(t, err, ErrCorrupt, "not a bundle this bot made", "256 MiB")
			// The honest default costs 64 MiB; a refusal costs next to nothing.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("OpenBundle allocated %d bytes before refusing, want under 16 MiB", grew)
			}
		})
	}
}
