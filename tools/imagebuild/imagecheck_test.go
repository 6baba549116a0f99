package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The image as the issue and README describe it, written out here rather
// than taken from spec.go, so that a change there has to be made twice.
var (
	wantEntrypoint  = []string{"/usr/bin/bot"}
	wantCmd         = []string{"run"}
	wantHealthcheck = v1.HealthConfig{
		Test:     []string{"CMD", "/usr/bin/bot", "health", "--offline"},
		Interval: time.Minute, Timeout: 30 * time.Second, StartPeriod: time.Minute, Retries: 3,
	}
	wantLabelKeys = []string{
		"org.opencontainers.image.created", "org.opencontainers.image.description",
		"org.opencontainers.image.licenses", "org.opencontainers.image.revision",
		"org.opencontainers.image.source", "org.opencontainers.image.title",
		"org.opencontainers.image.version",
	}
)

// imageFile is one entry of an image's flattened filesystem.
type imageFile struct {
	hdr  tar.Header
	data []byte
}

// flatten reads the filesystem a container of img starts with, keyed by
// path without the leading slash.
func flatten(t *testing.T, img v1.Image) map[string]imageFile {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the image's filesystem: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Trim(path.Clean("/"+h.Name), "/")
		files[name] = imageFile{*h, b}
	}
	return files
}

// checkConfig checks the runtime configuration of img for pl.
func checkConfig(t *testing.T, img v1.Image, pl platform) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != pl.arch || cf.Variant != pl.variant {
		t.Errorf("platform %s/%s/%s, want %s variant %q", cf.OS, cf.Architecture, cf.Variant, pl, pl.variant)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532 (nonroot)", c.User)
	}
	if !slices.Equal(c.Entrypoint, wantEntrypoint) || !slices.Equal(c.Cmd, wantCmd) {
		t.Errorf("Entrypoint %q Cmd %q, want %q %q", c.Entrypoint, c.Cmd, wantEntrypoint, wantCmd)
	}
	if c.WorkingDir != "/data" {
		t.Errorf("WorkingDir %q, want /data", c.WorkingDir)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(c.Volumes)), []string{"/data"}) {
		t.Errorf("Volumes %v, want only /data", c.Volumes)
	}
	if !slices.Equal(c.Env, []string{"BOT_STORAGE_DATA_DIR=/data"}) {
		t.Errorf("Env %q, want only BOT_STORAGE_DATA_DIR=/data", c.Env)
	}
	if c.Healthcheck == nil {
		t.Errorf("no Healthcheck")
	} else if hc := *c.Healthcheck; !slices.Equal(hc.Test, wantHealthcheck.Test) || hc.Interval != wantHealthcheck.Interval ||
		hc.Timeout != wantHealthcheck.Timeout || hc.StartPeriod != wantHealthcheck.StartPeriod || hc.Retries != wantHealthcheck.Retries {
		t.Errorf("Healthcheck %+v, want %+v", hc, wantHealthcheck)
	}
	if got := slices.Sorted(maps.Keys(c.Labels)); !slices.Equal(got, wantLabelKeys) {
		t.Errorf("label keys %q, want %q", got, wantLabelKeys)
	}
	for k, v := range c.Labels {
		if strings.TrimSpace(v) == "" {
			t.Errorf("label %s is empty", k)
		}
	}
	if l := c.Labels["org.opencontainers.image.licenses"]; l != "MIT" {
		t.Errorf("licenses label %q, want MIT (LICENSE)", l)
	}
	if l := c.Labels["org.opencontainers.image.source"]; l != "https://github.com/modbot/bot" {
		t.Errorf("source label %q", l)
	}
	created := cf.Created.UTC().Format(time.RFC3339)
	if l := c.Labels["org.opencontainers.image.created"]; l != created {
		t.Errorf("created label %q, config's created %s", l, created)
	}
	for _, h := range cf.History {
		if !h.Created.Equal(cf.Created.Time) {
			t.Errorf("history %q created %s, the image %s: every time is SOURCE_DATE_EPOCH", h.CreatedBy, h.Created, cf.Created)
		}
	}
	return cf
}

// checkFiles checks the filesystem of an image: the layout, who owns what,
// and that the certificates, time zones and users are usable. minCerts is
// how many certificates the bundle must hold at least.
func checkFiles(t *testing.T, files map[string]imageFile, minCerts int) {
	t.Helper()
	for name, f := range files {
		if top, _, _ := strings.Cut(name, "/"); !slices.Contains([]string{"etc", "usr", "data"}, top) {
			t.Errorf("unexpected %s in the image", name)
		}
		if f.hdr.Mode&0o6000 != 0 {
			t.Errorf("%s is setuid or setgid", name)
		}
		if name != "data" && (f.hdr.Uid != 0 || f.hdr.Gid != 0) {
			t.Errorf("%s belongs to %d:%d: only /data may belong to nonroot", name, f.hdr.Uid, f.hdr.Gid)
		}
		if f.hdr.Typeflag == tar.TypeSymlink {
			to := path.Join(path.Dir(name), f.hdr.Linkname)
			if _, ok := files[to]; !ok || path.IsAbs(f.hdr.Linkname) {
				t.Errorf("%s -> %s dangles", name, f.hdr.Linkname)
			}
		}
	}

	bin, ok := files["usr/bin/bot"]
	switch {
	case !ok:
		t.Errorf("no /usr/bin/bot")
	case bin.hdr.Typeflag != tar.TypeReg || bin.hdr.Mode&0o777 != 0o755:
		t.Errorf("/usr/bin/bot: type %c mode %o, want a file of mode 0755", bin.hdr.Typeflag, bin.hdr.Mode)
	case !bytes.HasPrefix(bin.data, []byte("\x7fELF")):
		t.Errorf("/usr/bin/bot is not an ELF binary")
	}

	data, ok := files["data"]
	if !ok || data.hdr.Typeflag != tar.TypeDir || data.hdr.Uid != 65532 || data.hdr.Gid != 65532 || data.hdr.Mode&0o7777 != 0o700 {
		t.Errorf("/data: present %t, type %c, owner %d:%d, mode %o; want a directory of 65532:65532 mode 0700",
			ok, data.hdr.Typeflag, data.hdr.Uid, data.hdr.Gid, data.hdr.Mode)
	}

	n, rest := 0, files["etc/ssl/certs/ca-certificates.crt"].data
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			n++
		}
	}
	if n < minCerts {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt holds %d certificates, want at least %d", n, minCerts)
	}

	berlin := files["usr/share/zoneinfo/Europe/Berlin"].data
	if _, err := time.LoadLocationFromTZData("Europe/Berlin", berlin); err != nil {
		t.Errorf("/usr/share/zoneinfo/Europe/Berlin: %v", err)
	}
	for _, skipped := range []string{"usr/share/zoneinfo/right", "usr/share/zoneinfo/localtime"} {
		if _, ok := files[skipped]; ok {
			t.Errorf("%s is in the image", skipped)
		}
	}

	if !hasLine(files["etc/passwd"].data, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no nonroot 65532:65532:\n%s", files["etc/passwd"].data)
	}
	if !hasLine(files["etc/group"].data, "nonroot:x:65532:") {
		t.Errorf("/etc/group names no nonroot 65532:\n%s", files["etc/group"].data)
	}
}

func hasLine(b []byte, prefix string) bool {
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
