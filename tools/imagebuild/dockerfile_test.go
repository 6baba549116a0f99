package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the top of the repository, from this package's directory.
const repoRoot = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions. It knows what
// this repository's Dockerfile uses: comments, backslash continuations
// (with comment lines inside them) and no heredocs.
func parseDockerfile(b []byte) ([]instruction, error) {
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		more := strings.HasSuffix(line, `\`)
		line = strings.TrimSpace(strings.TrimSuffix(line, `\`))
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: n}
		} else {
			cur.args += " " + line
		}
		if strings.Contains(line, "<<") {
			return nil, fmt.Errorf("line %d: heredocs are beyond this parser", n)
		}
		if !more {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: a continuation runs past the end", cur.line)
	}
	return out, sc.Err()
}

// stage is the instructions from one FROM to the next.
type stage struct {
	from  string // the FROM arguments
	instr []instruction
}

func stages(ins []instruction) []stage {
	var out []stage
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			out = append(out, stage{from: in.args})
		case len(out) > 0:
			out[len(out)-1].instr = append(out[len(out)-1].instr, in)
		}
	}
	return out
}

// flags splits leading --name=value flags from the rest of args.
func flags(args string) (map[string]string, string) {
	f := map[string]string{}
	for strings.HasPrefix(args, "--") {
		word, rest, _ := strings.Cut(args, " ")
		k, v, _ := strings.Cut(strings.TrimPrefix(word, "--"), "=")
		f[k] = v
		args = strings.TrimSpace(rest)
	}
	return f, args
}

// pairs reads key=value pairs as ENV and LABEL take them, with double
// quotes around values that hold spaces.
func pairs(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("want key=value at %q", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
				end++
			}
			if end == len(rest) {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			v, s = strings.ReplaceAll(rest[1:end], `\"`, `"`), rest[end+1:]
		} else {
			v, s, _ = strings.Cut(rest, " ")
		}
		out[k] = v
	}
	return out, nil
}

// jsonArray reads the exec form of ENTRYPOINT, CMD and the like.
func jsonArray(t *testing.T, in instruction, s string) []string {
	t.Helper()
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Errorf("Dockerfile:%d: %s %s: want the exec form, a JSON array: %v", in.line, in.cmd, s, err)
	}
	return a
}

// TestDockerfileMatchesBuilder holds the Dockerfile, which no test here
// can build, to the image the builder makes: the same layout, user,
// volume, working directory, environment, command, healthcheck and labels.
func TestDockerfileMatchesBuilder(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(b)
	if err != nil {
		t.Fatal(err)
	}
	st := stages(ins)
	if len(st) < 2 {
		t.Fatalf("%d stages, want a build stage and a final FROM scratch", len(st))
	}
	final := st[len(st)-1]
	if final.from != "scratch" {
		t.Errorf("the final stage is FROM %s, want scratch", final.from)
	}
	want := build{version: "${VERSION}", revision: "${REVISION}"}.config()
	want.Labels[labelCreated] = "${CREATED}"

	var builds []stage
	for _, s := range st[:len(st)-1] {
		if strings.Contains(s.from, "golang:") {
			builds = append(builds, s)
		}
	}
	goVersion := goDirective(t)
	for _, s := range builds {
		if !strings.Contains(s.from, "golang:"+goVersion+"-bookworm ") {
			t.Errorf("FROM %s: want golang:%s-bookworm, the Go of go.mod on Debian bookworm", s.from, goVersion)
		}
	}
	text := func(s stage) string {
		var all []string
		for _, in := range s.instr {
			all = append(all, in.cmd+" "+in.args)
		}
		return strings.Join(all, "\n")
	}
	var all string
	for _, s := range st[:len(st)-1] {
		all += text(s) + "\n"
	}
	for _, need := range []string{"CGO_ENABLED=0", "-trimpath", "go build", "-X main.version=${VERSION}", "-X main.commit=${REVISION}",
		"-X main.date=${CREATED}", "apt-get install", certsPackage, zoneinfoPackage} {
		if !strings.Contains(all, need) {
			t.Errorf("no stage before the last says %q", need)
		}
	}
	for _, skipped := range zoneinfoSkipped {
		if !strings.Contains(all, "zoneinfo/"+skipped) {
			t.Errorf("the Dockerfile keeps zoneinfo/%s, which the builder leaves out", skipped)
		}
	}

	var copies []string
	got, args := map[string]bool{}, map[string]bool{}
	for _, in := range final.instr {
		got[in.cmd] = true
		switch in.cmd {
		case "COPY":
			f, rest := flags(in.args)
			words := strings.Fields(rest)
			dest := words[len(words)-1]
			copies = append(copies, dest)
			if dest == dataDir {
				if f["chown"] != user || f["chmod"] != "0700" {
					t.Errorf("Dockerfile:%d: COPY to /data with %v, want --chown=%s --chmod=0700", in.line, f, user)
				}
			} else if f["chown"] != "" {
				t.Errorf("Dockerfile:%d: only /data may belong to nonroot", in.line)
			}
			if dest == "/etc/" {
				srcs := words[:len(words)-1]
				if !slices.Equal(srcs, []string{"tools/imagebuild/rootfs/etc/passwd", "tools/imagebuild/rootfs/etc/group"}) {
					t.Errorf("Dockerfile:%d: /etc/ from %q, want the builder's rootfs/etc/passwd and group", in.line, srcs)
				}
			}
		case "USER":
			if in.args != want.User {
				t.Errorf("Dockerfile:%d: USER %s, want %s", in.line, in.args, want.User)
			}
		case "WORKDIR":
			if in.args != want.WorkingDir {
				t.Errorf("Dockerfile:%d: WORKDIR %s, want %s", in.line, in.args, want.WorkingDir)
			}
		case "VOLUME":
			if v := jsonArray(t, in, in.args); !slices.Equal(v, slices.Sorted(maps.Keys(want.Volumes))) {
				t.Errorf("Dockerfile:%d: VOLUME %q, want %q", in.line, v, slices.Sorted(maps.Keys(want.Volumes)))
			}
		case "ENV":
			p, err := pairs(in.args)
			if err != nil {
				t.Errorf("Dockerfile:%d: %v", in.line, err)
			}
			var env []string
			for _, k := range slices.Sorted(maps.Keys(p)) {
				env = append(env, k+"="+p[k])
			}
			if !slices.Equal(env, want.Env) {
				t.Errorf("Dockerfile:%d: ENV %q, want %q", in.line, env, want.Env)
			}
		case "ENTRYPOINT":
			if v := jsonArray(t, in, in.args); !slices.Equal(v, want.Entrypoint) {
				t.Errorf("Dockerfile:%d: ENTRYPOINT %q, want %q", in.line, v, want.Entrypoint)
			}
		case "CMD":
			if v := jsonArray(t, in, in.args); !slices.Equal(v, want.Cmd) {
				t.Errorf("Dockerfile:%d: CMD %q, want %q", in.line, v, want.Cmd)
			}
		case "HEALTHCHECK":
			f, rest := flags(in.args)
			cmd, arr, _ := strings.Cut(rest, " ")
			test := append([]string{cmd}, jsonArray(t, in, arr)...)
			hc := want.Healthcheck
			if !slices.Equal(test, hc.Test) {
				t.Errorf("Dockerfile:%d: HEALTHCHECK %q, want %q", in.line, test, hc.Test)
			}
			for k, d := range map[string]time.Duration{"interval": hc.Interval, "timeout": hc.Timeout, "start-period": hc.StartPeriod} {
				if got, err := time.ParseDuration(f[k]); err != nil || got != d {
					t.Errorf("Dockerfile:%d: HEALTHCHECK --%s=%s, want %s", in.line, k, f[k], d)
				}
			}
			if f["retries"] != fmt.Sprint(hc.Retries) {
				t.Errorf("Dockerfile:%d: HEALTHCHECK --retries=%s, want %d", in.line, f["retries"], hc.Retries)
			}
		case "LABEL":
			p, err := pairs(in.args)
			if err != nil {
				t.Errorf("Dockerfile:%d: %v", in.line, err)
			}
			if !maps.Equal(p, want.Labels) {
				t.Errorf("Dockerfile:%d: LABEL %v,\nwant %v", in.line, p, want.Labels)
			}
		case "ARG":
			args[in.args] = true
		default:
			t.Errorf("Dockerfile:%d: %s in the final stage, which the builder does not do", in.line, in.cmd)
		}
	}
	for _, cmd := range []string{"USER", "WORKDIR", "VOLUME", "ENV", "ENTRYPOINT", "CMD", "HEALTHCHECK", "LABEL"} {
		if !got[cmd] {
			t.Errorf("the final stage has no %s", cmd)
		}
	}
	for _, a := range []string{"VERSION", "REVISION", "CREATED"} {
		if !args[a] {
			t.Errorf("the final stage does not declare ARG %s, which its labels use", a)
		}
	}
	if wantCopies := []string{"/etc/", certsPath, zoneinfoPath, dataDir, binaryPath}; !slices.Equal(copies, wantCopies) {
		t.Errorf("the final stage copies to %q, want the builder's layers %q", copies, wantCopies)
	}
	for _, f := range []string{"tools/imagebuild/rootfs/etc/passwd", "tools/imagebuild/rootfs/etc/group"} {
		if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
			t.Errorf("the Dockerfile copies %s: %v", f, err)
		}
	}
}

// goDirective is the major.minor of the go directive of the bot's go.mod.
func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return string(m[1])
}

// composeFile is the part of the compose specification compose.yaml uses;
// an unknown key fails the decoding, so a misspelt one is caught.
type composeFile struct {
	Services map[string]struct {
		Image           string   `yaml:"image"`
		Build           string   `yaml:"build"`
		EnvFile         string   `yaml:"env_file"`
		Volumes         []string `yaml:"volumes"`
		Restart         string   `yaml:"restart"`
		StopGracePeriod string   `yaml:"stop_grace_period"`
		Healthcheck     struct {
			Test        []string `yaml:"test"`
			Interval    string   `yaml:"interval"`
			Timeout     string   `yaml:"timeout"`
			StartPeriod string   `yaml:"start_period"`
			Retries     int      `yaml:"retries"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if len(c.Services) != 1 {
		t.Fatalf("%d services, want one", len(c.Services))
	}
	for name, s := range c.Services {
		if s.Image != imageName+":latest" || s.Build != "." {
			t.Errorf("%s: image %q build %q, want bot:latest (what make image's tarballs are tagged) built from .", name, s.Image, s.Build)
		}
		if s.EnvFile != "bot.env" {
			t.Errorf("%s: env_file %q, want bot.env (the token)", name, s.EnvFile)
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
		}
		if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d <= 10*time.Second {
			t.Errorf("%s: stop_grace_period %q, want more than run.shutdown_timeout's default 10s", name, s.StopGracePeriod)
		}
		var named []string
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			if dst == dataDir {
				named = append(named, src)
			}
		}
		if len(named) != 1 || c.Volumes == nil || !slices.Contains(slices.Collect(maps.Keys(c.Volumes)), named[0]) {
			t.Errorf("%s: volumes %q, top-level volumes %v: want one named volume, declared at the top, at %s", name, s.Volumes, c.Volumes, dataDir)
		}
		hc := s.Healthcheck
		if !slices.Equal(hc.Test, healthcheck.Test) || hc.Retries != healthcheck.Retries {
			t.Errorf("%s: healthcheck %q retries %d, want the image's %q retries %d", name, hc.Test, hc.Retries, healthcheck.Test, healthcheck.Retries)
		}
		for _, d := range []struct {
			key, got string
			want     time.Duration
		}{{"interval", hc.Interval, healthcheck.Interval}, {"timeout", hc.Timeout, healthcheck.Timeout}, {"start_period", hc.StartPeriod, healthcheck.StartPeriod}} {
			if got, err := time.ParseDuration(d.got); err != nil || got != d.want {
				t.Errorf("%s: healthcheck %s %q, want %s as in the image", name, d.key, d.got, d.want)
			}
		}
	}
}

// TestDockerignore keeps secrets and data out of the build context, where
// COPY . . would put them in a layer of the build stage.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, p := range []string{"bot.env", "config.toml", "master.key", "data/", ".dev/", "dist/", ".git/"} {
		if !slices.Contains(lines, p) {
			t.Errorf(".dockerignore does not name %s", p)
		}
	}
}

func TestParsers(t *testing.T) {
	p, err := pairs(`a=1 b="two words" c="say \"hi\"" d=`)
	if err != nil || !maps.Equal(p, map[string]string{"a": "1", "b": "two words", "c": `say "hi"`, "d": ""}) {
		t.Errorf("pairs: %v %v", p, err)
	}
	if _, err := pairs(`a="open`); err == nil {
		t.Errorf("pairs accepted an open quote")
	}
	ins, err := parseDockerfile([]byte("# c\nFROM x AS y\nRUN a \\\n  # inside\n  b\nUSER 1\n"))
	if err != nil || len(ins) != 3 || ins[1].args != "a b" || ins[2].line != 6 {
		t.Errorf("parseDockerfile: %+v %v", ins, err)
	}
	if _, err := parseDockerfile([]byte("RUN a \\\n")); err == nil {
		t.Errorf("parseDockerfile accepted a dangling continuation")
	}
	f, rest := flags("--interval=1m --retries=3 CMD [\"x\"]")
	if f["interval"] != "1m" || f["retries"] != "3" || rest != `CMD ["x"]` {
		t.Errorf("flags: %v %q", f, rest)
	}
}
