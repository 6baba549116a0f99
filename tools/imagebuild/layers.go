package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tree is the content of one layer, keyed by the path in the image without
// its leading slash.
type tree struct {
	entries map[string]*tar.Header
	data    map[string][]byte
	mtime   time.Time
}

func newTree(mtime time.Time) *tree {
	return &tree{entries: map[string]*tar.Header{}, data: map[string][]byte{}, mtime: mtime}
}

// dir adds a directory, owned by root unless uid says otherwise.
func (t *tree) dir(p string, mode int64, uid int) {
	p = strings.Trim(p, "/")
	t.parents(p)
	t.entries[p] = &tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, Uid: uid, Gid: uid}
}

// file adds a regular file owned by root.
func (t *tree) file(p string, mode int64, data []byte) {
	p = strings.Trim(p, "/")
	t.parents(p)
	t.entries[p] = &tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data))}
	t.data[p] = data
}

// symlink adds a symbolic link owned by root.
func (t *tree) symlink(p, target string) {
	p = strings.Trim(p, "/")
	t.parents(p)
	t.entries[p] = &tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}
}

// parents adds the directories above p that are not there yet: a layer
// lists every directory it creates, so that their owner and mode are ours
// rather than whatever the runtime picks.
func (t *tree) parents(p string) {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := t.entries[d]; !ok {
			t.entries[d] = &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}
		}
	}
}

// tar writes the tree as a tar stream. Entries are sorted by name (a
// directory comes before what it holds), carry one fixed time and no
// owner names, so that the same files give the same bytes on every run.
func (t *tree) tar() ([]byte, error) {
	hdrs := slices.Collect(maps.Values(t.entries))
	slices.SortFunc(hdrs, func(a, b *tar.Header) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := *h
		h.ModTime = t.mtime
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(t.data[h.Name]); err != nil {
				return nil, fmt.Errorf("tar %s: %w", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layer turns the tree into an OCI layer, gzipped at the best level:
// the layer is written once and pulled many times.
func (t *tree) layer() (v1.Layer, error) {
	b, err := t.tar()
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
}

// missingPackage words a file of the build machine that is not there.
func missingPackage(what, p, pkg, flag string, err error) error {
	return fmt.Errorf("%s %s: %w; it comes from Debian's %s package: install it with 'apt-get install %s' (or point -%s at another copy)",
		what, p, err, pkg, pkg, flag)
}

// readCerts reads the build machine's CA bundle and checks that it holds
// certificates: an empty bundle would fail every TLS connection to Discord.
func readCerts(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, missingPackage("the CA certificates", p, certsPackage, "certs", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, missingPackage("the CA certificates", p, certsPackage, "certs", errors.New("no PEM certificate in it"))
	}
	return b, nil
}

// addZoneinfo copies the build machine's time zone database into t under
// zoneinfoPath, keeping its symbolic links as links. A link that leaves the
// database, or points at something left out, is refused rather than
// shipped dangling.
func addZoneinfo(t *tree, root string) error {
	if _, err := os.Stat(filepath.Join(root, "Europe", "Berlin")); err != nil {
		return missingPackage("the time zone database", root, zoneinfoPackage, "zoneinfo", err)
	}
	base := strings.Trim(zoneinfoPath, "/")
	type link struct{ at, target string }
	var links []link
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			t.dir(base, 0o755, 0)
			return nil
		}
		if slices.Contains(zoneinfoSkipped, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		at := base + "/" + rel
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links = append(links, link{at, target})
			t.symlink(at, target)
		case d.IsDir():
			t.dir(at, 0o755, 0)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t.file(at, 0o644, b)
		default:
			return fmt.Errorf("%s: neither a file, a directory nor a link", p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the time zone database: %w", err)
	}
	for _, l := range links {
		if path.IsAbs(l.target) {
			return fmt.Errorf("time zone database: %s points outside it, at %s: add it to zoneinfoSkipped", l.at, l.target)
		}
		to := path.Join(path.Dir(l.at), l.target)
		if _, ok := t.entries[to]; !ok || !strings.HasPrefix(to, base+"/") {
			return fmt.Errorf("time zone database: %s points at %s, which is not in the image", l.at, to)
		}
	}
	return nil
}

// checkBinary refuses a binary that would not start on scratch: one for
// another machine, or one linked against a C library the image lacks
// (a build without CGO_ENABLED=0).
func checkBinary(p string, pl platform) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("the %s binary %s: %w", pl, p, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[pl.arch]
	if f.Machine != want {
		return fmt.Errorf("the %s binary %s is for %s: build it with GOOS=linux GOARCH=%s", pl, p, f.Machine, pl.arch)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("the %s binary %s is dynamically linked and would not start on scratch: build it with CGO_ENABLED=0", pl, p)
		}
	}
	return nil
}
