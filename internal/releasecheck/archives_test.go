package releasecheck

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// maxBinarySize is the most a release binary may weigh, in bytes: owners
// on a Raspberry Pi or a small VPS download and keep it.
const maxBinarySize = 40_000_000

// Every archive holds exactly the files the README and the operator's guide
// promise, a binary for its platform built as goreleaser.yaml says, under
// the size limit, and an SBOM beside it.
func TestReleaseArchives(t *testing.T) {
	d := distFromEnv(t, "RELEASE_DIST")
	for _, tg := range targets {
		t.Run(strings.ReplaceAll(tg.String(), "/", "_"), func(t *testing.T) {
			name := tg.archiveName(d.version)
			st, err := os.Stat(d.path(name))
			if err != nil {
				t.Fatalf("no archive for %s: %v", tg, err)
			}
			files := readArchive(t, d.path(name))
			var want []string
			for f := range archiveFiles {
				want = append(want, f)
			}
			want = append(want, tg.binary())
			var extra []string
			for _, f := range sortedKeys(files) {
				if _, ok := archiveFiles[f]; !ok && f != tg.binary() {
					extra = append(extra, f)
				}
			}
			for _, f := range want {
				if _, ok := files[f]; !ok {
					t.Errorf("%s: %s is missing", name, f)
				}
			}
			if len(extra) > 0 {
				t.Errorf("%s: unexpected files %v", name, extra)
			}
			for f, src := range archiveFiles {
				e, ok := files[f]
				switch {
				case !ok:
				case len(e.data) == 0:
					t.Errorf("%s: %s is empty", name, f)
				case src != "" && !sameBytes(t, repo+"/"+src, e.data):
					t.Errorf("%s: %s differs from the repository's %s", name, f, src)
				}
			}

			// Made by the before-hooks from the binary's own usage texts.
			for f, s := range map[string]string{
				"bot.1":                ".TH BOT 1 ",
				"completions/bot.bash": "complete -F _bot bot",
				"completions/_bot":     "#compdef bot",
				"completions/bot.fish": "complete -c bot ",
			} {
				if e, ok := files[f]; ok && !bytes.Contains(e.data, []byte(s)) {
					t.Errorf("%s: %s does not hold %q", name, f, s)
				}
			}

			bin, ok := files[tg.binary()]
			if !ok {
				return
			}
			if tg.goos != "windows" && bin.mode.Perm()&0o111 != 0o111 {
				t.Errorf("%s: %s has mode %v, want it executable by everyone", name, tg.binary(), bin.mode)
			}
			checkBinary(t, tg, d.version, bin.data)
			t.Logf("%-16s binary %5.1f MB (%d bytes), archive %4.1f MB (%d bytes)",
				tg, float64(len(bin.data))/1e6, len(bin.data), float64(st.Size())/1e6, st.Size())
			if len(bin.data) >= maxBinarySize {
				t.Errorf("%s: the binary is %d bytes, at or over the limit of %d", name, len(bin.data), maxBinarySize)
			}
			checkSBOM(t, d.path(name+".sbom.json"))
		})
	}
}

// checkBinary reads the executable's header for its OS and machine, and
// Go's build information for how it was built.
func checkBinary(t *testing.T, tg target, version string, data []byte) {
	t.Helper()
	r := bytes.NewReader(data)
	switch tg.goos {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not an ELF executable: %v", tg, err)
		}
		want := map[string]struct {
			machine elf.Machine
			class   elf.Class
		}{
			"amd64": {elf.EM_X86_64, elf.ELFCLASS64},
			"arm64": {elf.EM_AARCH64, elf.ELFCLASS64},
			"arm":   {elf.EM_ARM, elf.ELFCLASS32},
		}[tg.goarch]
		if f.Machine != want.machine || f.Class != want.class {
			t.Errorf("%s: ELF machine %v, class %v; want %v, %v", tg, f.Machine, f.Class, want.machine, want.class)
		}
		if f.Type != elf.ET_EXEC {
			t.Errorf("%s: ELF type %v, want a static executable (%v)", tg, f.Type, elf.ET_EXEC)
		}
		// cgo-free: no dynamic loader and no shared library to find.
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: the binary asks for a dynamic loader", tg)
			}
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not a Mach-O executable: %v", tg, err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[tg.goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("%s: Mach-O CPU %v, type %v; want %v, an executable", tg, f.Cpu, f.Type, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not a PE executable: %v", tg, err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[tg.goarch]
		if f.Machine != want || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			t.Errorf("%s: PE machine %#x, characteristics %#x; want machine %#x, an executable", tg, f.Machine, f.Characteristics, want)
		}
	}

	info, err := buildinfo.Read(r)
	if err != nil {
		t.Fatalf("%s: no Go build information: %v", tg, err)
	}
	if info.Main.Path != "github.com/modbot/bot" || info.Path != "github.com/modbot/bot" {
		t.Errorf("%s: built from %s (module %s), want github.com/modbot/bot", tg, info.Path, info.Main.Path)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": tg.goos, "GOARCH": tg.goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	if tg.goarm != "" {
		want["GOARM"] = tg.goarm
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s: built with %s=%q, want %q", tg, k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build information; the stamped
	// version is in the binary's strings.
	if !bytes.Contains(data, []byte(version)) {
		t.Errorf("%s: the binary does not hold its version %s (-X main.version)", tg, version)
	}
}

// checkSBOM reads the archive's SPDX document: it must name the bot and the
// modules compiled into it.
func checkSBOM(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("no SBOM: %v", err)
		return
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name    string `json:"name"`
			Version string `json:"versionInfo"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
		t.Errorf("%s: spdxVersion %q, want SPDX-2.x", path, doc.SPDXVersion)
	}
	names := map[string]bool{}
	for _, p := range doc.Packages {
		names[p.Name] = true
	}
	for _, m := range []string{"github.com/modbot/bot", "modernc.org/sqlite", "github.com/tink-crypto/tink-go/v2", "github.com/disgoorg/disgo"} {
		if !names[m] {
			t.Errorf("%s does not list %s", path, m)
		}
	}
}

// checksums.txt names every file a release publishes, with its SHA-256.
func TestReleaseChecksums(t *testing.T) {
	d := distFromEnv(t, "RELEASE_DIST")
	f, err := os.Open(d.path("checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^([0-9a-f]{64})  ([^/\s]+)$`)
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("checksums.txt: malformed line %q", sc.Text())
			continue
		}
		name := m[2]
		listed[name] = true
		got, err := sha256File(d.path(name))
		if err != nil {
			t.Errorf("checksums.txt names %s: %v", name, err)
			continue
		}
		if got != m[1] {
			t.Errorf("checksums.txt: %s has SHA-256 %s, the file %s", name, m[1], got)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	// What a release publishes: archives, packages, SBOMs.
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		for _, ext := range []string{".tar.gz", ".zip", ".deb", ".rpm", ".sbom.json"} {
			if strings.HasSuffix(n, ext) {
				published++
				if !listed[n] {
					t.Errorf("%s is not in checksums.txt", n)
				}
			}
		}
	}
	// An archive and an SBOM per target, a .deb and an .rpm per Linux one.
	if want := 2*len(targets) + 2*3; published != want {
		t.Errorf("dist holds %d archives, packages and SBOMs, want %d", published, want)
	}
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
