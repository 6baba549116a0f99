package main

import (
	_ "embed"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The image's layout. The Dockerfile at the top of the repository builds
// the same image; TestDockerfileMatchesBuilder holds it to these values.
const (
	binaryPath   = "/usr/bin/bot"
	dataDir      = "/data"
	certsPath    = "/etc/ssl/certs/ca-certificates.crt"
	zoneinfoPath = "/usr/share/zoneinfo"
	// nonroot is the user and group the bot runs as, distroless's nonroot:
	// no file of the image but the data directory belongs to it.
	nonroot = 65532
	// user is the image's USER, numeric so that runtimes that refuse to
	// start an image as root without reading /etc/passwd can tell.
	user = "65532:65532"
	// imageName is the repository part of the tags the tarballs carry;
	// compose.yaml runs bot:latest.
	imageName = "bot"
)

// The files the Debian packages of the build machine provide, and the
// packages to install when they are missing.
const (
	hostCerts       = "/etc/ssl/certs/ca-certificates.crt"
	hostZoneinfo    = "/usr/share/zoneinfo"
	certsPackage    = "ca-certificates"
	zoneinfoPackage = "tzdata"
)

// zoneinfoSkipped are left out of the image's time zone data: right/ is
// the same zones again counting leap seconds, which Go never reads, and
// localtime points at the build machine's /etc/localtime.
var zoneinfoSkipped = []string{"right", "localtime"}

// passwd and group name root, nobody and nonroot (65532), whose home is
// the data directory. The Dockerfile copies the same files.
var (
	//go:embed rootfs/etc/passwd
	passwd []byte
	//go:embed rootfs/etc/group
	group []byte
)

// env is the image's environment: the data directory is the volume
// whatever config.toml says, since variables override the file.
var env = []string{"BOT_STORAGE_DATA_DIR=" + dataDir}

// healthcheck runs the checks that need no Discord: a bot that lost its
// database, keys, disk or gateway turns unhealthy. The start period covers
// migrations at start; the timeout a quick_check of a large database.
var healthcheck = v1.HealthConfig{
	Test:        []string{"CMD", binaryPath, "health", "--offline"},
	Interval:    time.Minute,
	Timeout:     30 * time.Second,
	StartPeriod: time.Minute,
	Retries:     3,
}

// The OCI annotation keys the image's labels use.
const (
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
	labelSource      = "org.opencontainers.image.source"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
	labelLicenses    = "org.opencontainers.image.licenses"
	labelCreated     = "org.opencontainers.image.created"
)

// staticLabels are the labels that do not depend on the build.
var staticLabels = map[string]string{
	labelTitle:       "bot",
	labelDescription: "A self-hosted Discord moderation bot in one binary, with an embedded encrypted database",
	labelSource:      "https://github.com/modbot/bot",
	labelLicenses:    "MIT",
}

// build describes one build: what the labels and timestamps say.
type build struct {
	version  string
	revision string
	created  time.Time
}

// labels returns every label of an image of b.
func (b build) labels() map[string]string {
	l := map[string]string{
		labelVersion:  b.version,
		labelRevision: b.revision,
		labelCreated:  b.created.UTC().Format(time.RFC3339),
	}
	for k, v := range staticLabels {
		l[k] = v
	}
	return l
}

// config is the image's runtime configuration, the same on every platform.
func (b build) config() v1.Config {
	hc := healthcheck
	hc.Test = append([]string(nil), healthcheck.Test...)
	return v1.Config{
		User:        user,
		Entrypoint:  []string{binaryPath},
		Cmd:         []string{"run"},
		WorkingDir:  dataDir,
		Volumes:     map[string]struct{}{dataDir: {}},
		Env:         append([]string(nil), env...),
		Healthcheck: &hc,
		Labels:      b.labels(),
	}
}

// platform is one architecture the image is built for.
type platform struct {
	arch    string // GOARCH and the OCI architecture
	variant string // the OCI variant, as docker and buildx record it
}

// String names p as docker's --platform does, without the variant.
func (p platform) String() string { return "linux/" + p.arch }

// platforms are the architectures `make image` builds, in index order.
var platforms = []platform{{arch: "amd64"}, {arch: "arm64", variant: "v8"}}

// tarballName is the docker-loadable file of p in the output directory.
func tarballName(p platform) string { return "bot_linux_" + p.arch + ".tar" }

// layoutDir is the OCI layout, holding the index of every platform, in the
// output directory.
const layoutDir = "oci"
