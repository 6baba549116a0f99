package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"google.golang.org/protobuf/proto"
)

// The fuzz targets of what the keys package reads from disk and from
// backups. Their seeds are made from the keysets in testdata/fuzz-keys
// (made by Create for these tests and used nowhere else), so that a saved
// input means the same on every run; testdata/fuzz adds more.

// fuzzPassphrase seals the bundles of FuzzOpenBundle.
var fuzzPassphrase = []byte("correct horse battery staple")

// fuzzMasterKey encrypts the fixture's second copy of the keysets.
const fuzzMasterKey = "ZnV6ei1tYXN0ZXIta2V5LWZvci10ZXN0cy1vbmx5MzI="

// fuzzKDF is the cheapest KDF a bundle may use, so that each iteration
// costs microseconds rather than the default's tens of milliseconds.
var fuzzKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// fuzzFixture is the test keysets in clear, encrypted under fuzzMasterKey,
// and in a bundle.
type fuzzFixture struct {
	clearDir, sealedDir string
	master              []byte
	bundle              []byte
}

var (
	fixtureOnce sync.Once
	fixture     fuzzFixture
	fixtureErr  error
)

// loadFixture creates the fixture on first use, in a directory of its own
// that TestMain removes (fuzz workers are processes, each with its own).
// The files are copied because git does not keep their 0600 mode.
func loadFixture(t testing.TB) fuzzFixture {
	t.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = makeFixture() })
	if fixtureErr != nil {
		t.Fatalf("fuzz fixture: %v", fixtureErr)
	}
	return fixture
}

func makeFixture() (fx fuzzFixture, err error) {
	root, err := os.MkdirTemp("", "keys-fuzz-")
	if err != nil {
		return fx, err
	}
	fx.clearDir, fx.sealedDir = filepath.Join(root, "clear"), filepath.Join(root, "sealed")
	for _, dir := range []string{fx.clearDir, fx.sealedDir} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fx, err
		}
		for _, name := range []string{AEADFile, PRFFile} {
			data, err := os.ReadFile(filepath.Join("testdata", "fuzz-keys", name))
			if err != nil {
				return fx, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return fx, err
			}
		}
	}
	if fx.master, err = ParseMasterKey(fuzzMasterKey); err != nil {
		return fx, err
	}
	if err := ChangeMasterKey(fx.sealedDir, nil, fx.master); err != nil {
		return fx, err
	}
	fx.bundle, err = ExportBundle(fx.clearDir, nil, fuzzPassphrase, fuzzKDF)
	return fx, err
}

// TestMain removes the fixture's directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.clearDir != "" {
		// Both directories are in one made by makeFixture.
		os.RemoveAll(filepath.Dir(fixture.clearDir))
	}
	os.Exit(code)
}

// sameMaterial reports whether two keyset files hold the same keys.
func sameMaterial(a, b *keyset.Handle) bool {
	return proto.Equal(insecurecleartextkeyset.KeysetMaterial(a), insecurecleartextkeyset.KeysetMaterial(b))
}

// FuzzReadKeysetFile reads a fuzzed keyset file, in clear or encrypted
// under a master key. It must be refused with one of the package's errors,
// or read; and a file that opens under the master key must hold exactly
// the keys that were sealed under it, since only those were.
func FuzzReadKeysetFile(f *testing.F) {
	fx := loadFixture(f)
	for _, dir := range []string{fx.clearDir, fx.sealedDir} {
		for _, name := range []string{AEADFile, PRFFile} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, name == PRFFile, dir == fx.sealedDir)
		}
	}
	f.Add([]byte(`{"format":1,"purpose":"aead","keyset":{"key":[],"encryptedKeyset":"AA=="}}`), false, true)
	f.Add([]byte(`{"format":2}`), false, false)
	f.Add([]byte(`null`), true, false)
	f.Fuzz(func(t *testing.T, data []byte, prfFile, withMaster bool) {
		name := AEADFile
		if prfFile {
			name = PRFFile
		}
		var master []byte
		if withMaster {
			master = fx.master
		}
		m, err := optsMaster(Options{Dir: "unused", MasterKey: master})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		kf, err := readKeysetFile(dir, name, m)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !isMasterKeyError(err) {
				t.Fatalf("readKeysetFile: %v, want ErrCorrupt or a master key error", err)
			}
			return
		}
		if kf.handle == nil {
			t.Fatal("readKeysetFile: nil keyset without an error")
		}
		if withMaster {
			want, err := readKeysetFile(fx.sealedDir, name, m)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMaterial(kf.handle, want.handle) {
				t.Fatalf("a mutated %s opened under the master key to other keys", name)
			}
		}
	})
}

// FuzzParseMasterKey checks that ParseMasterKey returns 32 bytes whose
// standard base64 is exactly the text given (less surrounding space and
// line breaks), or
// an error that does not repeat the text.
func FuzzParseMasterKey(f *testing.F) {
	s, _ := GenerateMasterKey()
	for _, k := range []string{s, " " + s + "\n", s[:43], s + "=", strings.TrimRight(s, "="), "",
		strings.ReplaceAll(s, "A", "-"), base64.URLEncoding.EncodeToString(make([]byte, 32)),
		base64.StdEncoding.EncodeToString(make([]byte, 33)), "AAAA AAAA"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseMasterKey(s)
		typed := strings.TrimSpace(s)
		if err != nil {
			if b != nil {
				t.Fatalf("ParseMasterKey(%q) = %x with an error", s, b)
			}
			// A near-miss of a secret is a secret. Short texts may occur
			// in the fixed wording by chance; a long one cannot.
			if len(typed) >= 20 && strings.Contains(err.Error(), typed) {
				t.Fatalf("ParseMasterKey(%q): %q repeats the input", s, err)
			}
			return
		}
		// Go's base64 decoder skips line breaks anywhere, which only
		// forgives a key file wrapped over two lines.
		typed = strings.NewReplacer("\r", "", "\n", "").Replace(typed)
		if len(b) != MasterKeySize || base64.StdEncoding.EncodeToString(b) != typed {
			t.Fatalf("ParseMasterKey(%q) = %x (%d bytes), which is not what was typed", s, b, len(b))
		}
	})
}

// FuzzOpenBundle opens mutated bundles of a real keys directory. A bundle
// must be refused, with ErrWrongPassphrase or ErrCorrupt, or open to a
// keyring with exactly the original keys: no mutation may substitute keys.
// Bundles asking for a KDF costlier than the fixture's are skipped (only
// for speed): the limits on the parameters are checked before the KDF runs,
// and out-of-range ones are still fuzzed.
func FuzzOpenBundle(f *testing.F) {
	fx := loadFixture(f)
	f.Add(fx.bundle)
	var b map[string]any
	if err := json.Unmarshal(fx.bundle, &b); err != nil {
		f.Fatal(err)
	}
	for _, edit := range []func(map[string]any){
		func(m map[string]any) { m["format"] = 2 },
		func(m map[string]any) { m["kdf"] = "scrypt" },
		func(m map[string]any) { m["params"] = map[string]any{"time": 1, "memory_kib": 7, "threads": 1} },
		func(m map[string]any) { m["params"] = map[string]any{"time": 0, "memory_kib": 64, "threads": 1} },
		func(m map[string]any) { m["salt"] = "AAAA" },
		func(m map[string]any) { m["nonce"] = nil },
		func(m map[string]any) { m["sealed"] = "" },
	} {
		m := map[string]any{}
		for k, v := range b {
			m[k] = v
		}
		edit(m)
		data, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	want, err := Load(Options{Dir: fx.clearDir})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, bundle []byte) {
		var probe bundleFile
		if json.Unmarshal(bundle, &probe) == nil && probe.Params.inRange() &&
			(probe.Params.Time > 2 || probe.Params.MemoryKiB > 1024) {
			t.Skip("a costly KDF")
		}
		k, err := OpenBundle(bundle, fuzzPassphrase)
		if err != nil {
			if !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("OpenBundle: %v, want ErrWrongPassphrase or ErrCorrupt", err)
			}
			return
		}
		if !sameMaterial(k.aead.Load().file.handle, want.aead.Load().file.handle) ||
			!sameMaterial(k.prf.Load().file.handle, want.prf.Load().file.handle) {
			t.Fatal("a mutated bundle opened to other keys")
		}
	})
}
