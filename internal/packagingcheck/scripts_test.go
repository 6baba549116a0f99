package packagingcheck

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scriptNames are the maintainer scripts nfpm puts in both packages.
var scriptNames = []string{"postinstall.sh", "preremove.sh", "postremove.sh"}

// hostPaths are the absolute paths the scripts look at. Run under test,
// each is moved under a temporary root; each must appear in some script, so
// that a script using another spelling fails here instead of touching the
// test machine.
var hostPaths = []string{"/run/systemd/system", "/etc/bot", "/var/lib/bot"}

// shells returns the POSIX shells to run the scripts with: dash, /bin/sh
// on Debian, and bash in POSIX mode, /bin/sh on the RPM distributions.
func shells(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	if p, err := exec.LookPath("dash"); err == nil {
		out["dash"] = []string{p}
	}
	if p, err := exec.LookPath("bash"); err == nil {
		out["bash"] = []string{p, "--posix"}
	}
	if len(out) == 0 {
		out["sh"] = []string{need(t, "sh", "dash")}
	}
	return out
}

// TestScriptsSyntax parses each script with every shell (sh -n), and lints
// it with shellcheck as POSIX sh.
func TestScriptsSyntax(t *testing.T) {
	for _, name := range scriptNames {
		path := filepath.Join(scriptsDir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("#!/bin/sh\n")) {
			t.Errorf("%s does not start with #!/bin/sh", name)
		}
		if !bytes.Contains(data, []byte("\nset -e\n")) {
			t.Errorf("%s does not set -e", name)
		}
		for sh, argv := range shells(t) {
			if _, stderr, err := run(t, argv[0], append(argv[1:], "-n", path)...); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, name, err, stderr)
			}
		}
	}
	shellcheck := need(t, "shellcheck", "shellcheck")
	args := []string{"--shell=sh", "--severity=style"}
	for _, name := range scriptNames {
		args = append(args, filepath.Join(scriptsDir, name))
	}
	if stdout, stderr, err := run(t, shellcheck, args...); err != nil {
		t.Errorf("shellcheck: %v\n%s%s", err, stdout, stderr)
	}
}

// scriptCase is one call of a maintainer script, as dpkg or rpm makes it,
// on a machine in the state described.
type scriptCase struct {
	name    string
	script  string
	args    []string
	systemd bool // systemd is the running init (/run/systemd/system exists)
	noCtl   bool // systemctl is not installed
	user    bool // the user and group bot exist
	dataDir bool // /var/lib/bot exists
	envFile bool // /etc/bot/bot.env exists (config.toml always does)
	// confGroup: the owner gave config.toml a group of their own (not
	// root, as dpkg and rpm write it).
	confGroup bool
	// confLink: config.toml is a symbolic link to a file elsewhere.
	confLink bool
	// dataOrphan: /var/lib/bot belongs to another UID than the user bot's
	// (a user deleted and made again, data copied in by root).
	dataOrphan bool
	calls      []string
	say        []string // printed, among other things
	silent     bool     // prints nothing
}

// The calls the scripts make, with $ROOT for the temporary root.
var (
	addGroup = []string{"getent group bot", "groupadd --system bot"}
	addUser  = []string{"getent passwd bot",
		"useradd --system --gid bot --home-dir $ROOT/var/lib/bot --no-create-home --shell /usr/sbin/nologin --comment bot Discord moderation bot bot"}
	haveGroupUser = []string{"getent group bot", "getent passwd bot"}
	confModes     = []string{
		"chown root:bot $ROOT/etc/bot/config.toml", "chmod 0640 $ROOT/etc/bot/config.toml",
		"chown root:bot $ROOT/etc/bot/bot.env", "chmod 0640 $ROOT/etc/bot/bot.env"}
	dataModes   = []string{"chown bot:bot $ROOT/var/lib/bot", "chmod 0700 $ROOT/var/lib/bot"}
	makeData    = append([]string{"mkdir -p $ROOT/var/lib/bot"}, dataModes...)
	reload      = []string{"systemctl daemon-reload"}
	restart     = []string{"systemctl daemon-reload", "systemctl try-restart bot.service"}
	stopUnits   = []string{"systemctl stop bot-backup.timer bot-backup.service bot.service"}
	disableOnly = []string{"systemctl disable bot-backup.timer bot.service"}
	nextSteps   = "sudo -u bot bot init -c $ROOT/etc/bot/config.toml"
	dataKept    = "bot's data is kept in $ROOT/var/lib/bot"
)

func calls(parts ...[]string) []string { return slices.Concat(parts...) }

var scriptCases = []scriptCase{
	// postinstall: deb "configure [old-version]", rpm 1 (install) or 2 (upgrade).
	{name: "deb install", script: "postinstall.sh", args: []string{"configure"}, systemd: true, envFile: true,
		calls: calls(addGroup, addUser, confModes, makeData, reload), say: []string{nextSteps, "systemctl enable --now bot"}},
	{name: "deb install, empty version", script: "postinstall.sh", args: []string{"configure", ""}, systemd: true, envFile: true,
		calls: calls(addGroup, addUser, confModes, makeData, reload), say: []string{nextSteps}},
	{name: "deb install, user kept from before", script: "postinstall.sh", args: []string{"configure"}, user: true, dataDir: true,
		calls: calls(haveGroupUser, confModes[:2], dataModes), say: []string{nextSteps}},
	{name: "deb upgrade", script: "postinstall.sh", args: []string{"configure", "0.9.0"}, systemd: true, user: true, dataDir: true, envFile: true,
		calls: calls(haveGroupUser, confModes, dataModes, restart), silent: true},
	{name: "deb upgrade, no systemd", script: "postinstall.sh", args: []string{"configure", "0.9.0"}, user: true, dataDir: true, envFile: true,
		calls: calls(haveGroupUser, confModes, dataModes), silent: true},
	{name: "deb abort-upgrade", script: "postinstall.sh", args: []string{"abort-upgrade", "1.0.0"}, systemd: true, user: true, dataDir: true, envFile: true,
		silent: true},
	{name: "rpm install", script: "postinstall.sh", args: []string{"1"}, systemd: true, envFile: true,
		calls: calls(addGroup, addUser, confModes, makeData, reload), say: []string{nextSteps}},
	{name: "rpm install, no systemd", script: "postinstall.sh", args: []string{"1"}, envFile: true,
		calls: calls(addGroup, addUser, confModes, makeData), say: []string{nextSteps}},
	{name: "rpm upgrade", script: "postinstall.sh", args: []string{"2"}, systemd: true, user: true, dataDir: true, envFile: true,
		calls: calls(haveGroupUser, confModes, dataModes, restart), silent: true},
	// An upgrade keeps what the owner chose for a conffile they edited,
	// and never changes a file through a link.
	{name: "deb upgrade, config given another group", script: "postinstall.sh", args: []string{"configure", "0.9.0"}, systemd: true, user: true, dataDir: true, envFile: true,
		confGroup: true, calls: calls(haveGroupUser, confModes[2:], dataModes, restart), silent: true},
	{name: "rpm upgrade, config given another group", script: "postinstall.sh", args: []string{"2"}, systemd: true, user: true, dataDir: true, envFile: true,
		confGroup: true, calls: calls(haveGroupUser, confModes[2:], dataModes, restart), silent: true},
	{name: "deb upgrade, config a link", script: "postinstall.sh", args: []string{"configure", "0.9.0"}, systemd: true, user: true, dataDir: true, envFile: true,
		confLink: true, calls: calls(haveGroupUser, confModes[2:], dataModes, restart), silent: true},
	{name: "deb install, data of a deleted user", script: "postinstall.sh", args: []string{"configure", "1.0.0"}, systemd: true, dataDir: true, envFile: true,
		dataOrphan: true, calls: calls(addGroup, addUser, confModes, []string{"chown -R bot:bot $ROOT/var/lib/bot"}, dataModes, restart), silent: true},
	{name: "rpm install, data copied in by root", script: "postinstall.sh", args: []string{"1"}, systemd: true, user: true, dataDir: true, envFile: true,
		dataOrphan: true, calls: calls(haveGroupUser, confModes, []string{"chown -R bot:bot $ROOT/var/lib/bot"}, dataModes, reload), say: []string{nextSteps}},
	{name: "deb install, config a link", script: "postinstall.sh", args: []string{"configure"}, systemd: true, envFile: true,
		confLink: true, calls: calls(addGroup, addUser, confModes[2:], makeData, reload), say: []string{nextSteps}},

	// preremove: deb "remove" or "upgrade new-version" (and failure paths),
	// rpm 0 (erase) or 1 (upgrade).
	{name: "deb remove", script: "preremove.sh", args: []string{"remove"}, systemd: true, user: true, dataDir: true,
		calls: calls(stopUnits, disableOnly), silent: true},
	{name: "deb remove, no systemd", script: "preremove.sh", args: []string{"remove"}, user: true, dataDir: true,
		calls: disableOnly, silent: true},
	{name: "deb remove, no systemctl", script: "preremove.sh", args: []string{"remove"}, noCtl: true, user: true, dataDir: true,
		silent: true},
	{name: "deb upgrade", script: "preremove.sh", args: []string{"upgrade", "1.1.0"}, systemd: true, user: true, dataDir: true,
		silent: true},
	{name: "deb failed-upgrade", script: "preremove.sh", args: []string{"failed-upgrade", "1.0.0", "1.1.0"}, systemd: true, user: true, dataDir: true,
		silent: true},
	{name: "deb deconfigure", script: "preremove.sh", args: []string{"deconfigure", "in-favour", "other", "1.0"}, systemd: true, user: true, dataDir: true,
		silent: true},
	{name: "rpm erase", script: "preremove.sh", args: []string{"0"}, systemd: true, user: true, dataDir: true,
		calls: calls(stopUnits, disableOnly), silent: true},
	{name: "rpm upgrade", script: "preremove.sh", args: []string{"1"}, systemd: true, user: true, dataDir: true,
		silent: true},

	// postremove: deb "remove", "purge", "upgrade new-version", "abort-install";
	// rpm 0 (erase) or 1 (upgrade). The data and the user always stay.
	{name: "deb remove", script: "postremove.sh", args: []string{"remove"}, systemd: true, user: true, dataDir: true,
		calls: reload, say: []string{dataKept, "userdel bot"}},
	{name: "deb purge", script: "postremove.sh", args: []string{"purge"}, systemd: true, user: true, dataDir: true,
		calls: reload, say: []string{dataKept}},
	{name: "deb purge, no systemd", script: "postremove.sh", args: []string{"purge"}, user: true, dataDir: true,
		say: []string{dataKept}},
	{name: "deb purge, no data", script: "postremove.sh", args: []string{"purge"}, systemd: true, user: true,
		calls: reload, silent: true},
	{name: "deb upgrade", script: "postremove.sh", args: []string{"upgrade", "1.1.0"}, systemd: true, user: true, dataDir: true,
		calls: reload, silent: true},
	{name: "deb abort-install", script: "postremove.sh", args: []string{"abort-install"}, systemd: true, user: true, dataDir: true,
		calls: reload, silent: true},
	{name: "rpm erase", script: "postremove.sh", args: []string{"0"}, systemd: true, user: true, dataDir: true,
		calls: reload, say: []string{dataKept}},
	{name: "rpm upgrade", script: "postremove.sh", args: []string{"1"}, systemd: true, user: true, dataDir: true,
		calls: reload, silent: true},
}

// TestScripts runs each maintainer script as dpkg and rpm call it, with
// PATH holding only stubs that log their calls (and the real mkdir and
// cat), and the host paths moved under a temporary root. It checks the
// calls in order, what the script prints, and that the data directory
// survives. A command the scripts should not run (rm, userdel, systemctl
// enable or start) is either missing from PATH, which fails the script, or
// shows as a call that the expected list does not hold.
func TestScripts(t *testing.T) {
	texts := map[string]string{}
	for _, name := range scriptNames {
		data, err := os.ReadFile(filepath.Join(scriptsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(data)
	}
	for _, p := range hostPaths {
		if !strings.Contains(strings.Join(slices.Collect(maps.Values(texts)), ""), p) {
			t.Fatalf("no script names %s: update hostPaths", p)
		}
	}
	for sh, argv := range shells(t) {
		for _, c := range scriptCases {
			t.Run(sh+"/"+strings.TrimSuffix(c.script, ".sh")+"/"+c.name, func(t *testing.T) {
				runScriptCase(t, argv, texts[c.script], c)
			})
		}
	}
}

func runScriptCase(t *testing.T, shell []string, text string, c scriptCase) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	bin := filepath.Join(tmp, "bin")
	log := filepath.Join(tmp, "calls.log")
	state := filepath.Join(tmp, "accounts")
	for _, p := range hostPaths {
		text = strings.ReplaceAll(text, p, root+p)
	}
	script := filepath.Join(tmp, c.script)
	mustWrite(t, script, text, 0o755)
	mustMkdir(t, filepath.Join(root, "etc/bot"))
	config := filepath.Join(root, "etc/bot/config.toml")
	if c.confLink {
		target := filepath.Join(tmp, "elsewhere.toml")
		mustWrite(t, target, "", 0o644)
		if err := os.Symlink(target, config); err != nil {
			t.Fatal(err)
		}
	} else {
		mustWrite(t, config, "", 0o644)
	}
	if c.envFile {
		mustWrite(t, filepath.Join(root, "etc/bot/bot.env"), "", 0o644)
	}
	if c.systemd {
		mustMkdir(t, filepath.Join(root, "run/systemd/system"))
	}
	if c.dataDir {
		mustMkdir(t, filepath.Join(root, "var/lib/bot"))
		mustWrite(t, filepath.Join(root, "var/lib/bot/bot.db"), "records", 0o600)
	}
	accounts := ""
	if c.user {
		accounts = "group bot\npasswd bot\n"
	}
	if c.confGroup {
		accounts += "gid " + config + " 1000\n"
	}
	if c.dataOrphan {
		accounts += "uid " + filepath.Join(root, "var/lib/bot") + " 1001\n"
	}
	mustWrite(t, state, accounts, 0o644)
	writeStubs(t, bin, !c.noCtl)

	cmd := exec.Command(shell[0], append(shell[1:], append([]string{script}, c.args...)...)...)
	cmd.Env = []string{"PATH=" + bin, "STUB_LOG=" + log, "STUB_STATE=" + state, "LC_ALL=C"}
	cmd.Dir = tmp
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", c.script, c.args, err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	logged, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(logged)), "\n")
	if len(logged) == 0 {
		got = nil
	}
	want := make([]string, len(c.calls))
	for i, call := range c.calls {
		want[i] = strings.ReplaceAll(call, "$ROOT", root)
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	out := stdout.String()
	for _, s := range c.say {
		if s = strings.ReplaceAll(s, "$ROOT", root); !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if c.silent && out != "" {
		t.Errorf("printed, but should be silent:\n%s", out)
	}
	for _, call := range got {
		if f := strings.Fields(call); f[0] == "systemctl" && (f[1] == "enable" || f[1] == "start" || f[1] == "restart") {
			t.Errorf("%s: the package never enables or starts the service", call)
		}
	}
	if c.dataDir {
		if _, err := os.Stat(filepath.Join(root, "var/lib/bot/bot.db")); err != nil {
			t.Errorf("the data did not survive: %v", err)
		}
	}
	if want := slices.Contains(c.calls, addUser[1]); want && !strings.Contains(readFile(t, state), "passwd bot") {
		t.Error("the user was not added")
	}
}

// writeStubs puts in dir the commands the scripts may run: stubs that log
// their arguments to $STUB_LOG, getent answering from $STUB_STATE, stat -c
// %g answering 0 (root, as dpkg and rpm install files) and stat -c %u 999
// (the user bot, as id -u bot answers) unless $STUB_STATE gives the file a
// "gid" or "uid", and the real mkdir (logged too) and cat. systemctl is
// left out when ctl is false.
func writeStubs(t *testing.T, dir string, ctl bool) {
	t.Helper()
	mustMkdir(t, dir)
	logLine := "printf '%s\\n' \"${0##*/} $*\" >>\"$STUB_LOG\"\n"
	stubs := map[string]string{
		"chown": logLine,
		"chmod": logLine,
		"getent": logLine + `while read -r db name; do
	if [ "$db" = "$1" ] && [ "$name" = "$2" ]; then exit 0; fi
done <"$STUB_STATE"
exit 2
`,
		"groupadd": logLine + "for a; do last=$a; done\nprintf 'group %s\\n' \"$last\" >>\"$STUB_STATE\"\n",
		"useradd":  logLine + "for a; do last=$a; done\nprintf 'passwd %s\\n' \"$last\" >>\"$STUB_STATE\"\n",
		"mkdir":    logLine + "exec " + lookPath(t, "mkdir") + " \"$@\"\n",
		// Not logged: it changes nothing.
		"stat": `case "$1 $2 $#" in
"-c %g 3") want=gid default=0 ;;
"-c %u 3") want=uid default=999 ;;
*) echo "stat stub: unexpected $*" >&2; exit 2 ;;
esac
while read -r db name id; do
	if [ "$db" = "$want" ] && [ "$name" = "$3" ]; then echo "$id"; exit 0; fi
done <"$STUB_STATE"
echo "$default"
`,
		"id": `[ "$1 $2 $#" = "-u bot 2" ] || { echo "id stub: unexpected $*" >&2; exit 2; }
echo 999
`,
	}
	if ctl {
		stubs["systemctl"] = logLine
	}
	for name, body := range stubs {
		mustWrite(t, filepath.Join(dir, name), "#!/bin/sh\n"+body, 0o755)
	}
	if err := os.Symlink(lookPath(t, "cat"), filepath.Join(dir, "cat")); err != nil {
		t.Fatal(err)
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustWrite(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
