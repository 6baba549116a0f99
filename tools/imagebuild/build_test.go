package main

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tinyBinaries builds, once per test binary, a small static program for
// each platform to stand in for the bot.
var tinyBinaries = sync.OnceValues(func() (map[string]string, error) {
	dir, err := os.MkdirTemp("", "imagebuild-tiny")
	if err != nil {
		return nil, err
	}
	src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"tiny\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.26\n"), 0o644); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, pl := range platforms {
		p := filepath.Join(dir, pl.arch, "bot")
		cmd := exec.Command("go", "build", "-trimpath", "-o", p, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+pl.arch, "GOWORK=off", "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build for %s: %v\n%s", pl, err, b)
		}
		out[pl.arch] = p
	}
	return out, nil
})

func tiny(t *testing.T, arch string) string {
	t.Helper()
	bins, err := tinyBinaries()
	if err != nil {
		t.Fatalf("build the stand-in binaries: %v", err)
	}
	return bins[arch]
}

// utcTZif is the smallest time zone file Go accepts: one zone, UTC.
func utcTZif() []byte {
	var b bytes.Buffer
	b.WriteString("TZif")
	b.Write(make([]byte, 16))
	for _, n := range []uint32{0, 0, 0, 0, 1, 4} { // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
		_ = binary.Write(&b, binary.BigEndian, n)
	}
	b.Write([]byte{0, 0, 0, 0, 0, 0}) // offset 0, not DST, name at 0
	b.WriteString("UTC\x00")
	return b.Bytes()
}

// fakeRoot makes a CA bundle of one certificate and a time zone database
// shaped like Debian's (links, right/, localtime), and returns their paths.
func fakeRoot(t *testing.T) (certs, zoneinfo string) {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certs = filepath.Join(dir, "ca-certificates.crt")
	if err := os.WriteFile(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	zoneinfo = filepath.Join(dir, "zoneinfo")
	for _, f := range []string{"Europe/Berlin", "Etc/UTC", "right/Europe/Berlin"} {
		mustWrite(t, filepath.Join(zoneinfo, f), utcTZif())
	}
	for at, to := range map[string]string{"UTC": "Etc/UTC", "posix/Europe": "../Europe", "localtime": "/etc/localtime"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(zoneinfo, at)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(to, filepath.Join(zoneinfo, at)); err != nil {
			t.Fatal(err)
		}
	}
	return certs, zoneinfo
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const testEpoch = "1700000000"

func epochEnv(k string) string {
	if k == "SOURCE_DATE_EPOCH" {
		return testEpoch
	}
	return ""
}

// buildArgs are the flags of a build of both stand-in binaries.
func buildArgs(t *testing.T, out, certs, zoneinfo string) []string {
	return []string{"-out", out, "-version", "v1.2.3+meta", "-revision", "abc1234", "-certs", certs, "-zoneinfo", zoneinfo,
		"-binary", "linux/amd64=" + tiny(t, "amd64"), "-binary", "linux/arm64=" + tiny(t, "arm64")}
}

func TestBuild(t *testing.T) {
	certs, zoneinfo := fakeRoot(t)
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run(buildArgs(t, out, certs, zoneinfo), epochEnv, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "bot_linux_arm64.tar") || !strings.Contains(stdout.String(), "OCI layout") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(platforms) {
		t.Fatalf("the index lists %d images, want %d", len(im.Manifests), len(platforms))
	}
	for i, pl := range platforms {
		t.Run(pl.arch, func(t *testing.T) {
			desc := im.Manifests[i]
			if p := desc.Platform; p == nil || p.OS != "linux" || p.Architecture != pl.arch || p.Variant != pl.variant {
				t.Errorf("index entry %d: platform %+v, want %s", i, desc.Platform, pl)
			}
			fromLayout, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(out, "bot_linux_"+pl.arch+".tar")
			img, err := tarball.ImageFromPath(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"bot:v1.2.3-meta", "bot:latest"}) {
				t.Errorf("manifest.json: %+v, want one image tagged bot:v1.2.3-meta and bot:latest", m)
			}
			c1, _ := img.ConfigName()
			c2, _ := fromLayout.ConfigName()
			if c1 != c2 {
				t.Errorf("the tarball's config %s differs from the layout's %s", c1, c2)
			}
			cf := checkConfig(t, fromLayout, pl)
			if want := time.Unix(1700000000, 0).UTC(); !cf.Created.Equal(want) {
				t.Errorf("created %s, want SOURCE_DATE_EPOCH %s", cf.Created, want)
			}
			if v, r := cf.Config.Labels[labelVersion], cf.Config.Labels[labelRevision]; v != "v1.2.3+meta" || r != "abc1234" {
				t.Errorf("version and revision labels %q %q", v, r)
			}
			files := flatten(t, img)
			checkFiles(t, files, 1)
			want, _ := os.ReadFile(tiny(t, pl.arch))
			if !bytes.Equal(files["usr/bin/bot"].data, want) {
				t.Errorf("/usr/bin/bot is not the binary given")
			}
			if _, ok := files["usr/share/zoneinfo/posix/Europe"]; !ok {
				t.Errorf("the link posix/Europe was left out")
			}

			mt, _ := fromLayout.MediaType()
			if mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s", mt)
			}
			layers, err := fromLayout.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != 5 || len(cf.History) != 5 {
				t.Errorf("%d layers and %d history entries, want 5 (users, certs, zoneinfo, /data, binary)", len(layers), len(cf.History))
			}
			for _, l := range layers {
				checkLayer(t, l, cf.Created.Time)
			}
		})
	}

	// The same inputs give the same bytes.
	again := t.TempDir()
	if err := run(buildArgs(t, again, certs, zoneinfo), epochEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bot_linux_amd64.tar", "bot_linux_arm64.tar", "oci/index.json"} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same inputs", f)
		}
	}
}

// checkLayer checks that a layer is gzip in OCI terms and that its tar is
// sorted, with every time at SOURCE_DATE_EPOCH and no owner names.
func checkLayer(t *testing.T, l interface {
	MediaType() (types.MediaType, error)
	Uncompressed() (io.ReadCloser, error)
}, created time.Time) {
	t.Helper()
	if mt, _ := l.MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(created) || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: time %s, owner %q:%q", h.Name, h.ModTime, h.Uname, h.Gname)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("layer entries not sorted: %q", names)
	}
}

func TestMissingSources(t *testing.T) {
	certs, zoneinfo := fakeRoot(t)
	notPEM := filepath.Join(t.TempDir(), "empty.crt")
	mustWrite(t, notPEM, []byte("nothing here\n"))
	dangling := t.TempDir()
	mustWrite(t, filepath.Join(dangling, "Europe", "Berlin"), utcTZif())
	if err := os.Symlink("Etc/UTC", filepath.Join(dangling, "UTC")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "Europe", "Berlin"), utcTZif())
	if err := os.Symlink("/etc/timezone", filepath.Join(outside, "zone")); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tt := range []struct {
		name, certs, zoneinfo, want string
	}{
		{"NoCerts", missing, zoneinfo, "install it with 'apt-get install ca-certificates'"},
		{"CertsNotPEM", notPEM, zoneinfo, "no PEM certificate in it; it comes from Debian's ca-certificates package"},
		{"NoZoneinfo", certs, missing, "install it with 'apt-get install tzdata'"},
		{"DanglingLink", certs, dangling, "UTC points at usr/share/zoneinfo/Etc/UTC, which is not in the image"},
		{"LinkOutside", certs, outside, "zone points outside it, at /etc/timezone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(buildArgs(t, t.TempDir(), tt.certs, tt.zoneinfo), epochEnv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestRefusedArguments(t *testing.T) {
	certs, zoneinfo := fakeRoot(t)
	out := t.TempDir()
	good := buildArgs(t, out, certs, zoneinfo)
	notELF := filepath.Join(t.TempDir(), "bot")
	mustWrite(t, notELF, []byte(strings.Repeat("#!/bin/sh\n", 20)))
	type refusal struct {
		name   string
		args   []string
		getenv func(string) string
		want   string
	}
	tests := []refusal{
		{"NoEpoch", good, func(string) string { return "" }, "SOURCE_DATE_EPOCH is not set"},
		{"BadEpoch", good, func(string) string { return "yesterday" }, "want seconds since 1970"},
		{"UnknownPlatform", append(slices.Clone(good), "-binary", "linux/386=x"), epochEnv, `platform "linux/386": the image is built for linux/amd64 and linux/arm64`},
		{"NoOut", []string{"-version", "1", "-revision", "r", "-binary", "linux/amd64=" + tiny(t, "amd64")}, epochEnv, "-out is required"},
		{"NoBinary", []string{"-out", out, "-version", "1", "-revision", "r"}, epochEnv, "no -binary"},
		{"WrongMachine", append(slices.Clone(good), "-binary", "linux/amd64="+tiny(t, "arm64")), epochEnv, "is for EM_AARCH64: build it with GOOS=linux GOARCH=amd64"},
		{"NotELF", append(slices.Clone(good), "-binary", "linux/amd64="+notELF), epochEnv, "bad magic number"},
	}
	// The build machine's shell, when it is a dynamically linked amd64
	// binary as on Debian, stands in for a build without CGO_ENABLED=0.
	if sh, err := exec.LookPath("sh"); err == nil {
		if err := checkBinary(sh, platform{arch: "amd64"}); err != nil && strings.Contains(err.Error(), "dynamically linked") {
			tests = append(tests, refusal{"Dynamic", append(slices.Clone(good), "-binary", "linux/amd64="+sh), epochEnv, "build it with CGO_ENABLED=0"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, tt.getenv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestTags(t *testing.T) {
	for version, want := range map[string]string{
		"v1.2.3":                 "bot:v1.2.3",
		"v1.2.4-snapshot":        "bot:v1.2.4-snapshot",
		"1.0.0+build.5":          "bot:1.0.0-build.5",
		"ac9a7ed-dirty":          "bot:ac9a7ed-dirty",
		"-odd":                   "bot:v-odd",
		strings.Repeat("a", 200): "bot:" + strings.Repeat("a", 128),
	} {
		tt, err := tags(version)
		if err != nil {
			t.Errorf("%q: %v", version, err)
			continue
		}
		if len(tt) != 2 || tt[0].String() != want || tt[1].String() != "bot:latest" {
			t.Errorf("%q: tags %v, want %s and bot:latest", version, tt, want)
		}
	}
}
