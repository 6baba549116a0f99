// Command imagebuild writes the bot's container image without a container
// engine or a registry: a scratch image of the static binary with the CA
// certificates and time zone data of the build machine's Debian packages,
// a nonroot user and the data volume. `make image` builds the binaries and
// runs it from the repository root:
//
//	go -C tools run ./imagebuild -out DIR -version V -revision R \
//	    -binary linux/amd64=PATH -binary linux/arm64=PATH
//
// It writes DIR/bot_linux_ARCH.tar for each binary (docker-loadable, tagged
// bot:VERSION and bot:latest) and DIR/oci, an OCI image layout whose index
// holds every platform (for crane push, skopeo copy or podman). Every
// timestamp is SOURCE_DATE_EPOCH's, so the same inputs give the same
// digests.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

// binaries collects -binary PLATFORM=PATH flags.
type binaries map[platform]string

// String shows the binaries given so far, for flag's usage text.
func (b binaries) String() string { return fmt.Sprint(map[platform]string(b)) }

// Set takes one -binary flag, refusing a platform the image is not built for.
func (b binaries) Set(s string) error {
	plat, p, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return errors.New("want PLATFORM=PATH, such as linux/amd64=dist/image/bin/linux_amd64/bot")
	}
	i := slices.IndexFunc(platforms, func(pl platform) bool { return pl.String() == plat })
	if i < 0 {
		var known []string
		for _, pl := range platforms {
			known = append(known, pl.String())
		}
		return fmt.Errorf("platform %q: the image is built for %s", plat, strings.Join(known, " and "))
	}
	b[platforms[i]] = p
	return nil
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bins := binaries{}
	fs.Var(bins, "binary", "`PLATFORM=PATH` of a static bot binary (repeat for each platform)")
	out := fs.String("out", "", "output `directory` (dist/image)")
	version := fs.String("version", "", "the bot's version, for the tag and labels")
	revision := fs.String("revision", "", "the commit the binaries were built from, for the labels")
	certs := fs.String("certs", hostCerts, "the CA bundle to ship (Debian's "+certsPackage+")")
	zoneinfo := fs.String("zoneinfo", hostZoneinfo, "the time zone database to ship (Debian's "+zoneinfoPackage+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return errors.New("-out is required")
	case *version == "" || *revision == "":
		return errors.New("-version and -revision are required")
	case len(bins) == 0:
		return errors.New("no -binary given")
	}
	epoch := getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		return errors.New("SOURCE_DATE_EPOCH is not set: give the commit time ('git log -1 --format=%ct'), as make image does")
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || secs < 0 {
		return fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", epoch)
	}
	b := build{version: *version, revision: *revision, created: time.Unix(secs, 0).UTC()}

	base, err := baseLayers(b, sources{certs: *certs, zoneinfo: *zoneinfo})
	if err != nil {
		return err
	}
	images := map[platform]v1.Image{}
	for pl, p := range bins {
		if images[pl], err = buildImage(b, pl, base, p); err != nil {
			return err
		}
	}
	ws, index, err := writeAll(*out, b, images)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARBALL\tPLATFORM\tMANIFEST\tLAYERS (gzip)\tTARBALL")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.path, w.platform, w.digest, mib(w.layersBytes), mib(w.tarballBytes))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "OCI layout %s/%s, index %s\n", strings.TrimSuffix(*out, "/"), layoutDir, index)
	return nil
}

// mib shows a size in MiB with its exact bytes.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
}
