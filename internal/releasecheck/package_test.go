package releasecheck

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// packaged is one file the .deb and .rpm install.
type packaged struct {
	path string
	mode os.FileMode
	// src is the repository's file it is a copy of, "" for those made at
	// release time.
	src string
	// conffile: kept on upgrade and on removal, gone on purge.
	conffile bool
}

// packagedFiles are the files both packages install, as goreleaser.yaml's
// nfpms.contents lists them, less the zsh completion, whose directory
// differs (zshCompletion).
var packagedFiles = []packaged{
	{"/usr/bin/bot", 0o755, "", false},
	{"/etc/bot/config.toml", 0o640, "packaging/config.toml", true},
	{"/etc/bot/bot.env", 0o640, "packaging/bot.env", true},
	{"/usr/lib/systemd/system/bot.service", 0o644, "packaging/systemd/bot.service", false},
	{"/usr/lib/systemd/system/bot-backup.service", 0o644, "packaging/systemd/bot-backup.service", false},
	{"/usr/lib/systemd/system/bot-backup.timer", 0o644, "packaging/systemd/bot-backup.timer", false},
	{"/usr/share/man/man1/bot.1.gz", 0o644, "", false},
	{"/usr/share/bash-completion/completions/bot", 0o644, "", false},
	{"/usr/share/fish/vendor_completions.d/bot.fish", 0o644, "", false},
	{"/usr/share/doc/bot/README.md", 0o644, "README.md", false},
	{"/usr/share/doc/bot/SECURITY.md", 0o644, "SECURITY.md", false},
}

// zshCompletion is where each distribution's zsh looks.
var zshCompletion = map[string]string{
	"deb": "/usr/share/zsh/vendor-completions/_bot",
	"rpm": "/usr/share/zsh/site-functions/_bot",
}

// license is where each format keeps the licence text.
var license = map[string]string{
	"deb": "/usr/share/doc/bot/copyright",
	"rpm": "/usr/share/licenses/bot/LICENSE",
}

// packageScripts are the maintainer scripts of goreleaser.yaml's
// nfpms.scripts, by their names in a .deb and their rpm tags: each
// package must carry the repository's script unchanged, not merely one.
var packageScripts = map[struct{ deb, rpm string }]string{
	{"postinst", "POSTIN"}: "packaging/scripts/postinstall.sh",
	{"prerm", "PREUN"}:     "packaging/scripts/preremove.sh",
	{"postrm", "POSTUN"}:   "packaging/scripts/postremove.sh",
}

// linuxArches maps goreleaser's Linux targets to the packages' names.
var linuxArches = []struct{ deb, rpm string }{
	{"amd64", "x86_64"},
	{"arm64", "aarch64"},
	{"armhf", "armv7hl"},
}

// wantFiles is every file a package of the format installs, with its mode.
func wantFiles(format string) map[string]os.FileMode {
	want := map[string]os.FileMode{zshCompletion[format]: 0o644, license[format]: 0o644}
	for _, f := range packagedFiles {
		want[f.path] = f.mode
	}
	return want
}

// debName and rpmName follow nfpm's ConventionalFileName.
func (d dist) debName(arch string) string {
	return "bot_" + strings.ReplaceAll(d.version, "-", "~") + "_" + arch + ".deb"
}

func (d dist) rpmName(arch string) string {
	return "bot-" + strings.ReplaceAll(d.version, "-", "~") + "-1." + arch + ".rpm"
}

// tool returns the path of a program the package checks need: missing, it
// skips the test, or fails it when CI=true, where .ci/run installs it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true): apt-get install it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// mustRun runs a command to its end and returns its output; a non-zero exit
// fails the test.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Every .deb and .rpm holds the files of packagedFiles with their modes,
// config.toml and bot.env as configuration files, and the package scripts.
// Reading a package changes nothing, so this runs without root.
func TestPackageContents(t *testing.T) {
	d := distFromEnv(t, "PACKAGE_DIST")
	dpkgDeb := tool(t, "dpkg-deb")
	rpm := tool(t, "rpm")
	for _, a := range linuxArches {
		t.Run(a.deb, func(t *testing.T) {
			deb := d.path(d.debName(a.deb))
			got := map[string]os.FileMode{}
			// ./usr/bin/bot with its mode, in tar's words: "-rwxr-xr-x root/root 123 date time ./usr/bin/bot".
			for _, l := range strings.Split(strings.TrimSpace(mustRun(t, dpkgDeb, "--contents", deb)), "\n") {
				f := strings.Fields(l)
				if len(f) < 6 || !strings.HasPrefix(f[0], "-") {
					continue
				}
				got[strings.TrimPrefix(f[len(f)-1], ".")] = permFromString(t, f[0])
				if f[1] != "root/root" {
					t.Errorf("%s: %s is owned by %s, want root/root", filepath.Base(deb), f[len(f)-1], f[1])
				}
			}
			compareFiles(t, filepath.Base(deb), got, wantFiles("deb"))
			conffiles := mustRun(t, dpkgDeb, "--info", deb, "conffiles")
			if !slices.Equal(sortedFields(conffiles), []string{"/etc/bot/bot.env", "/etc/bot/config.toml"}) {
				t.Errorf("%s: conffiles %q, want /etc/bot/bot.env and /etc/bot/config.toml", filepath.Base(deb), conffiles)
			}
			for s, src := range packageScripts {
				text, err := runErr(dpkgDeb, "--info", deb, s.deb)
				switch {
				case err != nil:
					t.Errorf("%s: no %s script", filepath.Base(deb), s.deb)
				case !sameBytes(t, repo+"/"+src, []byte(text)):
					t.Errorf("%s: its %s is not %s", filepath.Base(deb), s.deb, src)
				}
			}
		})
		t.Run(a.rpm, func(t *testing.T) {
			pkg := d.path(d.rpmName(a.rpm))
			got := map[string]os.FileMode{}
			for _, l := range strings.Split(strings.TrimSpace(mustRun(t, rpm, "-qp", "--queryformat",
				"[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]", pkg)), "\n") {
				f := strings.Fields(l)
				if len(f) != 3 || !strings.HasPrefix(f[0], "-") {
					continue
				}
				got[f[2]] = permFromString(t, f[0])
				if f[1] != "root:root" {
					t.Errorf("%s: %s is owned by %s, want root:root", filepath.Base(pkg), f[2], f[1])
				}
			}
			compareFiles(t, filepath.Base(pkg), got, wantFiles("rpm"))
			if conf := sortedFields(mustRun(t, rpm, "-qcp", pkg)); !slices.Equal(conf, []string{"/etc/bot/bot.env", "/etc/bot/config.toml"}) {
				t.Errorf("%s: configuration files %v, want /etc/bot/bot.env and /etc/bot/config.toml", filepath.Base(pkg), conf)
			}
			// %config(noreplace): an edited file stays and the new one
			// lands beside it as .rpmnew.
			flags := mustRun(t, rpm, "-qp", "--queryformat", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", pkg)
			for _, f := range []string{"/etc/bot/config.toml", "/etc/bot/bot.env"} {
				if !strings.Contains(flags, "cn "+f+"\n") {
					t.Errorf("%s: %s is not %%config(noreplace):\n%s", filepath.Base(pkg), f, flags)
				}
			}
			for s, src := range packageScripts {
				text := mustRun(t, rpm, "-qp", "--queryformat", "%{"+s.rpm+"}", pkg)
				if !sameBytes(t, repo+"/"+src, []byte(text+"\n")) && !sameBytes(t, repo+"/"+src, []byte(text)) {
					t.Errorf("%s: its %s scriptlet is not %s:\n%s", filepath.Base(pkg), s.rpm, src, text)
				}
			}
		})
	}
}

func compareFiles(t *testing.T, pkg string, got, want map[string]os.FileMode) {
	t.Helper()
	for _, p := range sortedKeys(want) {
		m, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", pkg, p)
		case m != want[p]:
			t.Errorf("%s: %s has mode %v, want %v", pkg, p, m, want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected file %s", pkg, p)
		}
	}
}

// permFromString reads "-rwxr-x---" as a permission.
func permFromString(t *testing.T, s string) os.FileMode {
	t.Helper()
	if len(s) != 10 {
		t.Fatalf("mode %q", s)
	}
	var m os.FileMode
	for i, c := range s[1:] {
		if c != '-' {
			m |= 1 << (8 - i)
		}
	}
	return m
}

func sortedFields(s string) []string {
	f := strings.Fields(s)
	slices.Sort(f)
	return f
}

// The .deb for this machine, installed with dpkg -i as an owner would:
// the files in place, config.toml readable by the service's group only,
// the units neither enabled nor started, `bot init` as user bot making
// the database and keys in /var/lib/bot; then an edited config.toml kept
// by a reinstall, dpkg -r keeping the configuration and dpkg -P removing
// it. The data in /var/lib/bot survives both: it is the moderation record,
// and only its owner deletes it.
func TestPackageDebInstall(t *testing.T) {
	d := distFromEnv(t, "PACKAGE_DIST")
	if os.Geteuid() != 0 {
		t.Fatal("make package-check installs and removes a package: run it as root")
	}
	if os.Getenv("CI") != "true" && os.Getenv("PACKAGE_CHECK_INSTALL") != "yes" {
		t.Fatal("make package-check installs the bot package on this machine and removes it again: " +
			"it runs only with CI=true, or with PACKAGE_CHECK_INSTALL=yes to allow it here")
	}
	dpkg := tool(t, "dpkg")
	tool(t, "runuser")
	if status, err := runErr("dpkg-query", "--show", "--showformat=${Status}", "bot"); err == nil && !strings.Contains(status, "not-installed") {
		t.Fatalf("a package named bot is on this machine already (%s): remove it first; this test would replace it", status)
	}
	arch := strings.TrimSpace(mustRun(t, dpkg, "--print-architecture"))
	deb := d.path(d.debName(arch))
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("no .deb for this machine (%s): %v", arch, err)
	}

	// Leave the machine as it was: whatever the test added goes, and
	// nothing that was there before.
	_, userBefore := lookupPasswd(t, "bot")
	_, dataBefore := os.Stat("/var/lib/bot")
	t.Cleanup(func() {
		if out, err := runErr(dpkg, "--purge", "bot"); err != nil {
			t.Logf("clean-up: dpkg --purge bot: %v\n%s", err, out)
		}
		if os.IsNotExist(dataBefore) {
			os.RemoveAll("/var/lib/bot")
		}
		if !userBefore {
			if _, ok := lookupPasswd(t, "bot"); ok {
				runErr("userdel", "bot")
			}
			if _, ok := lookupGroup(t, "bot"); ok {
				runErr("groupdel", "bot")
			}
		}
	})

	t.Log(mustRun(t, dpkg, "--install", deb))

	// The files, as packaged.
	botGID := -1
	if g, ok := lookupGroup(t, "bot"); ok {
		botGID = g
	} else {
		t.Fatal("no group bot after installing: postinstall.sh makes it")
	}
	for _, f := range append(slices.Clone(packagedFiles),
		packaged{zshCompletion["deb"], 0o644, "", false}, packaged{license["deb"], 0o644, "LICENSE", false}) {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Errorf("after dpkg -i: %v", err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		wantGID := 0
		if f.conffile {
			// The group bot did not exist when dpkg unpacked the file:
			// postinstall.sh gives it to the group.
			wantGID = botGID
		}
		if st.Mode() != f.mode || sys.Uid != 0 || int(sys.Gid) != wantGID {
			t.Errorf("%s: mode %v, owner %d:%d; want %v, 0:%d", f.path, st.Mode(), sys.Uid, sys.Gid, f.mode, wantGID)
		}
		if f.src != "" && !sameBytes(t, repo+"/"+f.src, mustRead(t, f.path)) {
			t.Errorf("%s differs from the repository's %s", f.path, f.src)
		}
	}
	man, err := gzip.NewReader(bytes.NewReader(mustRead(t, "/usr/share/man/man1/bot.1.gz")))
	if err == nil {
		var page []byte
		if page, err = io.ReadAll(man); err == nil && !bytes.Contains(page, []byte(".TH")) {
			t.Errorf("/usr/share/man/man1/bot.1.gz holds no manual page (.TH)")
		}
	}
	if err != nil {
		t.Errorf("/usr/share/man/man1/bot.1.gz: %v", err)
	}

	// The service's user.
	if pw, ok := lookupPasswd(t, "bot"); !ok {
		t.Error("no user bot after installing: postinstall.sh makes it")
	} else {
		uid, _ := strconv.Atoi(pw[2])
		if gid, _ := strconv.Atoi(pw[3]); gid != botGID || pw[5] != "/var/lib/bot" || pw[6] != "/usr/sbin/nologin" || uid >= 1000 {
			t.Errorf("user bot: %v; want a system user in group bot, home /var/lib/bot, shell /usr/sbin/nologin", pw)
		}
	}

	// Installed, not enabled and not started.
	checkNotEnabled(t)
	if st, err := os.Stat("/run/systemd/system"); err == nil && st.IsDir() {
		for _, u := range []string{"bot.service", "bot-backup.service", "bot-backup.timer"} {
			if out, _ := runErr("systemctl", "is-enabled", u); strings.TrimSpace(out) != "disabled" {
				t.Errorf("systemctl is-enabled %s: %q, want disabled", u, strings.TrimSpace(out))
			}
			if out, _ := runErr("systemctl", "is-active", u); strings.TrimSpace(out) != "inactive" {
				t.Errorf("systemctl is-active %s: %q, want inactive", u, strings.TrimSpace(out))
			}
		}
	} else {
		t.Log("systemd is not running here: checked that no unit is linked to start, not systemctl")
	}

	// As the service's user, as the unit runs it.
	out := mustRun(t, "runuser", "-u", "bot", "--", "/usr/bin/bot", "version")
	if !strings.Contains(out, "bot "+d.version+" ") {
		t.Errorf("bot version: %q, want version %s", out, d.version)
	}

	// The README's first step for the service, as its user, against the
	// packaged paths.
	t.Log(mustRun(t, "runuser", "-u", "bot", "--", "/usr/bin/bot", "init", "-c", "/etc/bot/config.toml"))
	pw, _ := lookupPasswd(t, "bot")
	botUID, _ := strconv.Atoi(pw[2])
	var made []string
	err = filepath.WalkDir("/var/lib/bot", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != botUID || int(sys.Gid) != botGID {
			t.Errorf("%s is owned by %d:%d, want bot (%d:%d)", p, sys.Uid, sys.Gid, botUID, botGID)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others than bot can reach it", p, st.Mode())
		}
		made = append(made, p)
		return nil
	})
	if err != nil {
		t.Fatalf("/var/lib/bot after bot init: %v", err)
	}
	for _, p := range []string{"/var/lib/bot/bot.db", "/var/lib/bot/keys"} {
		if !slices.Contains(made, p) {
			t.Errorf("bot init as user bot made no %s (made %v)", p, made)
		}
	}
	if _, err := os.Stat("/etc/bot/master.key"); err == nil {
		t.Error("bot init wrote /etc/bot/master.key")
	}
	out = mustRun(t, "runuser", "-u", "bot", "--", "/usr/bin/bot", "migrate", "status", "-c", "/etc/bot/config.toml")
	t.Log(out)

	// An owner's edit survives a reinstall (what an upgrade does to a
	// conffile the new package does not change), group included.
	edited := append(mustRead(t, "/etc/bot/config.toml"), "\n# edited by the owner\n"...)
	if err := os.WriteFile("/etc/bot/config.toml", edited, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Log(mustRun(t, dpkg, "--install", deb))
	if !bytes.Equal(mustRead(t, "/etc/bot/config.toml"), edited) {
		t.Error("reinstalling the .deb replaced the owner's /etc/bot/config.toml")
	}
	if st, err := os.Stat("/etc/bot/config.toml"); err != nil || st.Mode() != 0o640 || int(st.Sys().(*syscall.Stat_t).Gid) != botGID {
		t.Errorf("/etc/bot/config.toml after a reinstall: %v, want mode 0640, group bot", err)
	}

	// dpkg -r: the program and units go, the configuration stays.
	t.Log(mustRun(t, dpkg, "--remove", "bot"))
	for _, f := range packagedFiles {
		_, err := os.Stat(f.path)
		switch {
		case f.conffile && err != nil:
			t.Errorf("after dpkg -r: %s is gone, want it kept: %v", f.path, err)
		case !f.conffile && err == nil:
			t.Errorf("after dpkg -r: %s is still there", f.path)
		}
	}
	if status, _ := runErr("dpkg-query", "--show", "--showformat=${Status}", "bot"); status != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q, want deinstall ok config-files", status)
	}

	// dpkg -P: the configuration goes too; the data stays.
	t.Log(mustRun(t, dpkg, "--purge", "bot"))
	for _, p := range []string{"/etc/bot/config.toml", "/etc/bot/bot.env"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("after dpkg -P: %s is still there", p)
		}
	}
	for _, p := range []string{"/var/lib/bot/bot.db", "/var/lib/bot/keys"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after dpkg -P: %v; the moderation record must outlive the package", err)
		}
	}
	checkNotEnabled(t)
}

// checkNotEnabled fails if anything under /etc/systemd/system links to
// one of the package's units, as systemctl enable would.
func checkNotEnabled(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("/etc/systemd/system", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		switch e.Name() {
		case "bot.service", "bot-backup.service", "bot-backup.timer":
			t.Errorf("%s exists: the package enabled a unit", p)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// lookupPasswd returns the fields of name's line in /etc/passwd.
func lookupPasswd(t *testing.T, name string) ([]string, bool) {
	t.Helper()
	return lookupColon(t, "/etc/passwd", name, 7)
}

// lookupGroup returns the group's ID from /etc/group.
func lookupGroup(t *testing.T, name string) (int, bool) {
	t.Helper()
	f, ok := lookupColon(t, "/etc/group", name, 4)
	if !ok {
		return 0, false
	}
	gid, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("/etc/group: group %s has ID %q", name, f[2])
	}
	return gid, true
}

func lookupColon(t *testing.T, path, name string, fields int) ([]string, bool) {
	t.Helper()
	b := mustRead(t, path)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) == fields && f[0] == name {
			return f, true
		}
	}
	return nil, false
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
