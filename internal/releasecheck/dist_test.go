package releasecheck

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// target is one platform goreleaser.yaml builds for.
type target struct {
	goos, goarch, goarm string
}

// targets are the platforms of every release: an archive each.
var targets = []target{
	{"linux", "amd64", ""},
	{"linux", "arm64", ""},
	{"linux", "arm", "7"},
	{"darwin", "amd64", ""},
	{"darwin", "arm64", ""},
	{"windows", "amd64", ""},
	{"windows", "arm64", ""},
}

// archiveName follows goreleaser.yaml's archives.name_template.
func (tg target) archiveName(version string) string {
	arch := tg.goarch
	if tg.goarm != "" {
		arch += "v" + tg.goarm
	}
	ext := ".tar.gz"
	if tg.goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("bot_%s_%s_%s%s", version, tg.goos, arch, ext)
}

func (tg target) binary() string {
	if tg.goos == "windows" {
		return "bot.exe"
	}
	return "bot"
}

func (tg target) String() string {
	if tg.goarm != "" {
		return tg.goos + "/" + tg.goarch + "v" + tg.goarm
	}
	return tg.goos + "/" + tg.goarch
}

// archiveFiles maps each file an archive holds besides the binary to the
// file of the repository it is a copy of ("" for those made at release
// time). goreleaser.yaml's archives.files lists the same.
var archiveFiles = map[string]string{
	"README.md":                            "README.md",
	"LICENSE":                              "LICENSE",
	"SECURITY.md":                          "SECURITY.md",
	"config.example.toml":                  "config.example.toml",
	"bot.1":                                "",
	"completions/bot.bash":                 "",
	"completions/_bot":                     "",
	"completions/bot.fish":                 "",
	"packaging/config.toml":                "packaging/config.toml",
	"packaging/bot.env":                    "packaging/bot.env",
	"packaging/compose.yaml":               "compose.yaml",
	"packaging/Dockerfile":                 "Dockerfile",
	"packaging/systemd/bot.service":        "packaging/systemd/bot.service",
	"packaging/systemd/bot-backup.service": "packaging/systemd/bot-backup.service",
	"packaging/systemd/bot-backup.timer":   "packaging/systemd/bot-backup.timer",
}

// dist is a directory goreleaser wrote.
type dist struct {
	dir     string
	version string
}

// distFromEnv returns the dist directory named by the variable, or skips
// the test when it is unset: the make targets set it after building.
func distFromEnv(t *testing.T, name string) dist {
	t.Helper()
	dir := os.Getenv(name)
	if dir == "" {
		t.Skipf("%s is not set: `make release-check` and `make package-check` set it to goreleaser's dist directory", name)
	}
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		t.Fatalf("%s=%s does not hold a goreleaser build (run `make release-snapshot`): %v", name, dir, err)
	}
	var meta struct {
		ProjectName string `json:"project_name"`
		Version     string `json:"version"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("%s/metadata.json: %v", dir, err)
	}
	if meta.ProjectName != "bot" || meta.Version == "" {
		t.Fatalf("%s/metadata.json: project %q, version %q: not a build of bot", dir, meta.ProjectName, meta.Version)
	}
	return dist{dir: dir, version: meta.Version}
}

func (d dist) path(name string) string { return filepath.Join(d.dir, name) }

// archiveEntry is one regular file in an archive.
type archiveEntry struct {
	mode os.FileMode
	data []byte
}

// readArchive returns every regular file of a .tar.gz or .zip by name, and
// fails on anything else in it (links, devices, paths leaving the
// directory it is unpacked into).
func readArchive(t *testing.T, path string) map[string]archiveEntry {
	t.Helper()
	files := map[string]archiveEntry{}
	add := func(name string, mode os.FileMode, r io.Reader) {
		clean := filepath.ToSlash(filepath.Clean(name))
		if clean != name || filepath.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
			t.Fatalf("%s: entry %q is not a plain relative path", filepath.Base(path), name)
		}
		if _, dup := files[name]; dup {
			t.Fatalf("%s: %s appears twice", filepath.Base(path), name)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %s: %v", filepath.Base(path), name, err)
		}
		files[name] = archiveEntry{mode: mode, data: data}
	}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			if !f.Mode().IsRegular() {
				t.Fatalf("%s: %s is not a regular file (%v)", filepath.Base(path), f.Name, f.Mode())
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			add(f.Name, f.Mode(), rc)
			rc.Close()
		}
		return files
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
			add(h.Name, h.FileInfo().Mode(), tr)
		default:
			t.Fatalf("%s: %s is not a regular file (type %q)", filepath.Base(path), h.Name, h.Typeflag)
		}
	}
	return files
}

// unpack writes an archive's files under dir with their modes, as tar or
// unzip would.
func unpack(t *testing.T, files map[string]archiveEntry, dir string) {
	t.Helper()
	for name, e := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, e.data, e.mode.Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// sortedKeys lists a map's keys in order, for messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sameBytes reports whether the file at path holds b.
func sameBytes(t *testing.T, path string, b []byte) bool {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(want, b)
}
