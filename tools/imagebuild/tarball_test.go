package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageDir is where `make image` wrote the image; the tests of the built
// image run only when it is set (make image-check sets it).
func imageDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IMAGE_DIR")
	if dir == "" {
		t.Skip("IMAGE_DIR is not set: run make image-check")
	}
	return dir
}

// TestImageTarballs opens each tarball `make image` wrote as docker load
// would, checks its config and filesystem, and runs the binary in it.
func TestImageTarballs(t *testing.T) {
	dir := imageDir(t)
	for _, pl := range platforms {
		t.Run(pl.arch, func(t *testing.T) {
			path := filepath.Join(dir, tarballName(pl))
			img, err := tarball.ImageFromPath(path, nil)
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			cf := checkConfig(t, img, pl)
			version := cf.Config.Labels["org.opencontainers.image.version"]
			m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 1 || len(m[0].RepoTags) != 2 || m[0].RepoTags[1] != "bot:latest" ||
				!strings.HasPrefix(m[0].RepoTags[0], "bot:") {
				t.Errorf("manifest.json: %+v, want one image tagged bot:VERSION and bot:latest", m)
			}
			files := flatten(t, img)
			// Debian's bundle holds well over a hundred roots.
			checkFiles(t, files, 100)
			logSizes(t, img, path)

			bin := filepath.Join(t.TempDir(), "bot")
			if err := os.WriteFile(bin, files["usr/bin/bot"].data, 0o755); err != nil {
				t.Fatal(err)
			}
			// Read whether or not it can be run here: without qemu-user
			// the other platform's binary is never run, and only this
			// tells that it is the right one.
			checkELF(t, files["usr/bin/bot"].data, pl)
			t.Run("Version", func(t *testing.T) {
				run, how := runner(pl)
				if run == nil {
					t.Skipf("cannot run a %s binary here: %s", pl, how)
				}
				t.Logf("running the %s binary %s", pl, how)
				out, err := run(bin, "version", "--json").Output()
				if err != nil {
					t.Fatalf("bot version --json: %v", err)
				}
				var v struct{ Version, Commit, Date, Platform string }
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("bot version --json: %v\n%s", err, out)
				}
				revision := cf.Config.Labels["org.opencontainers.image.revision"]
				if v.Version != version || v.Commit != revision || v.Platform != pl.String() {
					t.Errorf("bot version says %+v; the labels say version %q, revision %q, the image %s", v, version, revision, pl)
				}
				// The build date is the image's, so that a rebuild of one
				// commit gives the same binary.
				if created := cf.Config.Labels["org.opencontainers.image.created"]; v.Date != created {
					t.Errorf("bot version says it was built %s, the image %s", v.Date, created)
				}
			})
			if pl.arch == runtime.GOARCH {
				t.Run("InitRunHealth", func(t *testing.T) { initRunHealth(t, bin, cf.Config) })
			}
		})
	}
}

// TestImageLayout checks the OCI layout: one index of every platform,
// holding the same images as the tarballs.
func TestImageLayout(t *testing.T) {
	dir := imageDir(t)
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
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
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.Architecture != pl.arch || d.Platform.Variant != pl.variant {
			t.Errorf("index entry %d: %+v, want %s", i, d.Platform, pl)
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		fromTarball, err := tarball.ImageFromPath(filepath.Join(dir, tarballName(pl)), nil)
		if err != nil {
			t.Fatal(err)
		}
		c1, _ := img.ConfigName()
		c2, _ := fromTarball.ConfigName()
		if c1 != c2 {
			t.Errorf("%s: the layout's config %s, the tarball's %s", pl, c1, c2)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			checkLayer(t, l, cf.Created.Time)
		}
	}
}

// logSizes reports what a pull downloads (the compressed layers) and the
// size of the tarball.
func logSizes(t *testing.T, img v1.Image, path string) {
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var compressed int64
	var each []string
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += n
		each = append(each, fmt.Sprint(n))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: layers %s MiB compressed (%d bytes: %s), tarball %s MiB (%d bytes)",
		filepath.Base(path), mibs(compressed), compressed, strings.Join(each, " + "), mibs(st.Size()), st.Size())
}

func mibs(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// runner returns how to run a binary of pl here: directly on a machine of
// that architecture, through qemu-user for another, or nil and why not.
func runner(pl platform) (func(bin string, args ...string) *exec.Cmd, string) {
	if pl.arch == runtime.GOARCH {
		return func(bin string, args ...string) *exec.Cmd { return exec.Command(bin, args...) }, "natively"
	}
	qemu := map[string]string{"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}[pl.arch]
	for _, name := range []string{qemu, qemu + "-static"} {
		if p, err := exec.LookPath(name); err == nil {
			return func(bin string, args ...string) *exec.Cmd { return exec.Command(p, append([]string{bin}, args...)...) }, "under " + p
		}
	}
	return nil, qemu + " (Debian's qemu-user) is not installed"
}

// initRunHealth plays the container's life with its config and nothing
// else: /data is a temporary directory, the environment is the image's
// alone, and no config file is given. 'bot init' sets up the data, 'bot
// run' connects to a local Discord ('bot demo --serve'), and the image's
// healthcheck then passes.
func initRunHealth(t *testing.T, bin string, c v1.Config) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "data") // stands for /data
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	mapPath := func(p string) string {
		if p == dataDir || strings.HasPrefix(p, dataDir+"/") {
			return root + strings.TrimPrefix(p, dataDir)
		}
		return p
	}
	var env []string
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, k+"="+mapPath(v))
	}
	wd := mapPath(c.WorkingDir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The local Discord, in its own directory and with no BOT_* variable.
	discordEnv := filepath.Join(tmp, "discord.env")
	discord := exec.CommandContext(ctx, bin, "demo", "--serve", "--env-file", discordEnv)
	discord.Dir, discord.Env = tmp, []string{}
	discord.Stdout = logFile(t, filepath.Join(tmp, "discord.log"))
	discord.Stderr = discord.Stdout
	if err := discord.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = discord.Process.Kill(); _ = discord.Wait() }()
	vars := waitForEnvFile(t, discordEnv, filepath.Join(tmp, "discord.log"))

	// Only so that parallel runs do not collide: the image keeps the
	// default http.listen, 127.0.0.1:8081, inside its own network.
	listen := freeAddr(t)
	runEnv := append(slices.Clone(env), append(vars, "BOT_HTTP_LISTEN="+listen)...)

	if c.Entrypoint[0] != binaryPath {
		t.Fatalf("entrypoint %q", c.Entrypoint)
	}
	cmd := func(args ...string) *exec.Cmd {
		x := exec.CommandContext(ctx, bin, args...)
		x.Dir, x.Env = wd, runEnv
		return x
	}
	if out, err := cmd("init").CombinedOutput(); err != nil {
		t.Fatalf("bot init: %v\n%s", err, out)
	}
	for _, f := range []string{"config.toml", "bot.db", "keys"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("after bot init, /data/%s: %v", f, err)
		}
	}

	botRun := cmd(c.Cmd...)
	runLog := filepath.Join(tmp, "run.log")
	botRun.Stdout = logFile(t, runLog)
	botRun.Stderr = botRun.Stdout
	if err := botRun.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- botRun.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = botRun.Process.Kill()
			<-exited
		}
	}()
	runOut := func() string { b, _ := os.ReadFile(runLog); return string(b) }

	hc := c.Healthcheck
	if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Test[1] != binaryPath {
		t.Fatalf("healthcheck %+v", hc)
	}
	var last []byte
	healthy := false
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var err error
		last, err = cmd(hc.Test[2:]...).CombinedOutput()
		if err == nil {
			healthy = true
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("bot run exited: %v\n%s", err, runOut())
		default:
		}
	}
	if !healthy {
		t.Fatalf("the healthcheck never passed; last:\n%s\nbot run:\n%s", last, runOut())
	}
	t.Logf("healthcheck %q:\n%s", hc.Test[1:], last)

	if err := botRun.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("bot run after SIGTERM (docker stop): %v\n%s", err, runOut())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("bot run did not stop within 20 s of SIGTERM")
	}
}

// waitForEnvFile waits for 'bot demo --serve' to write its variables.
func waitForEnvFile(t *testing.T, path, log string) []string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		var vars []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, _, ok := strings.Cut(sc.Text(), "="); ok && strings.HasPrefix(k, "BOT_") {
				vars = append(vars, sc.Text())
			}
		}
		f.Close()
		if len(vars) > 0 {
			return vars
		}
	}
	out, _ := os.ReadFile(log)
	t.Fatalf("bot demo --serve wrote no %s:\n%s", path, out)
	return nil
}

// logFile creates the file a process's output goes to, read when it fails.
func logFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// freeAddr returns a loopback address nothing listens on just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// checkELF checks that the image's binary is a static Linux executable for
// pl, built by Go for pl's architecture without cgo.
func checkELF(t *testing.T, data []byte, pl platform) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("/usr/bin/bot is not an ELF executable: %v", err)
		return
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[pl.arch]
	if f.Machine != want || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("/usr/bin/bot: ELF machine %v, class %v, type %v; want %v, 64-bit, a static executable", f.Machine, f.Class, f.Type, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/usr/bin/bot asks for a dynamic loader, which scratch has not")
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Errorf("/usr/bin/bot: no Go build information: %v", err)
		return
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["GOOS"] != "linux" || settings["GOARCH"] != pl.arch || settings["CGO_ENABLED"] != "0" {
		t.Errorf("/usr/bin/bot: built with GOOS=%q GOARCH=%q CGO_ENABLED=%q, want linux, %s, 0",
			settings["GOOS"], settings["GOARCH"], settings["CGO_ENABLED"], pl.arch)
	}
}
