// Package chromiumtest runs headless Chromium for the tests that check a
// page as a browser renders it: it finds the browser, runs it, and saves
// screenshots as test artifacts.
package chromiumtest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Environment variables of the browser tests.
const (
	// ArtifactsEnv names the directory screenshots are saved in; without
	// it, a directory under the system's temporary directory.
	ArtifactsEnv = "TEST_ARTIFACTS_DIR"
	// UpdateDocsEnv, set to 1, asks the test that takes the README's
	// screenshot to also write it under docs/.
	UpdateDocsEnv = "UPDATE_SCREENSHOT"
)

// Find returns Debian's chromium, or another Chrome, on PATH; ok is false
// when none is installed. Under CI (CI=true) that fails t instead, since
// .ci/run installs it and a skip would hide a page nobody looked at.
func Find(t testing.TB) (bin string, ok bool) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true: .ci/run installs Debian's chromium")
	}
	return "", false
}

// Run runs bin headless with args and the flags every run needs: no
// sandbox (CI runs as root), no GPU, and a profile of its own. It returns
// what the browser printed (the DOM, for --dump-dom).
func Run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// Screenshot loads url in a window of width×height CSS pixels, saves what
// it shows as name in the artifacts directory, less the empty space below
// the page when the window is taller, and returns the PNG. Chromium shoots
// only the window: a height well above the page's takes it whole.
func Screenshot(t testing.TB, bin, url, name string, width, height int) []byte {
	t.Helper()
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "bot-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, name)
	Run(t, bin, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", width, height), url)
	img, err := readPNG(shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v, want a PNG", shot, err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, trimBottom(img, 16)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	return b.Bytes()
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// trimBottom cuts the rows of img below its last one that differs from
// the bottom-left pixel, the page's background, keeping margin of them.
func trimBottom(img image.Image, margin int) image.Image {
	r := img.Bounds()
	bg := img.At(r.Min.X, r.Max.Y-1)
	last := r.Min.Y
	for y := r.Max.Y - 1; y >= r.Min.Y && last == r.Min.Y; y-- {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.At(x, y) != bg {
				last = y
				break
			}
		}
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return img
	}
	return sub.SubImage(image.Rect(r.Min.X, r.Min.Y, r.Max.X, min(last+1+margin, r.Max.Y)))
}
