package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// sources are the files of the build machine the image is made of.
type sources struct {
	certs    string
	zoneinfo string
}

// historyLayer is a layer with the line `docker history` shows for it.
type historyLayer struct {
	layer     v1.Layer
	createdBy string
}

// baseLayers are the layers below the binary, the same on every platform:
// one per part, in the order the Dockerfile copies them, so that a new
// CA bundle or time zone release changes one layer.
func baseLayers(b build, src sources) ([]historyLayer, error) {
	users := newTree(b.created)
	users.file("etc/passwd", 0o644, passwd)
	users.file("etc/group", 0o644, group)

	certs := newTree(b.created)
	pem, err := readCerts(src.certs)
	if err != nil {
		return nil, err
	}
	certs.file(certsPath, 0o644, pem)

	zones := newTree(b.created)
	if err := addZoneinfo(zones, src.zoneinfo); err != nil {
		return nil, err
	}

	data := newTree(b.created)
	data.dir(dataDir, 0o700, nonroot)

	var out []historyLayer
	for _, p := range []struct {
		t   *tree
		doc string
	}{
		{users, "/etc/passwd and /etc/group: user nonroot (65532)"},
		{certs, certsPath + " from Debian's " + certsPackage},
		{zones, zoneinfoPath + " from Debian's " + zoneinfoPackage},
		{data, dataDir + ": the data volume, owned by nonroot, mode 0700"},
	} {
		l, err := p.t.layer()
		if err != nil {
			return nil, err
		}
		out = append(out, historyLayer{l, "imagebuild: " + p.doc})
	}
	return out, nil
}

// buildImage puts the binary of pl on the base layers and sets the config.
func buildImage(b build, pl platform, base []historyLayer, binary string) (v1.Image, error) {
	if err := checkBinary(binary, pl); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	t := newTree(b.created)
	t.file(binaryPath, 0o755, bin)
	l, err := t.layer()
	if err != nil {
		return nil, err
	}
	layers := append(slices.Clone(base), historyLayer{l, "imagebuild: " + binaryPath + " " + b.version + " (" + pl.String() + ")"})

	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, len(layers))
	for i, hl := range layers {
		adds[i] = mutate.Addendum{
			Layer:     hl.layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: b.created}, CreatedBy: hl.createdBy},
		}
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", pl.arch, pl.variant
	cf.Created = v1.Time{Time: b.created}
	cf.Config = b.config()
	return mutate.ConfigFile(img, cf)
}

// tagChars are what a tag may hold; anything else in a version (such as
// the "+" of semver build metadata) becomes "-".
var tagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// tags are the names `docker load` gives the image: the version, and
// latest, which compose.yaml runs.
func tags(version string) ([]name.Tag, error) {
	v := tagChars.ReplaceAllString(version, "-")
	if v == "" || v[0] == '.' || v[0] == '-' {
		v = "v" + v
	}
	if len(v) > 128 {
		v = v[:128]
	}
	var out []name.Tag
	for _, s := range []string{v, "latest"} {
		t, err := name.NewTag(imageName + ":" + s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// written is what one tarball holds, for the summary.
type written struct {
	platform     platform
	path         string
	digest       v1.Hash // of the manifest in the OCI layout
	layersBytes  int64   // compressed layers: what a pull downloads
	tarballBytes int64
}

// writeTarball writes img as a docker-loadable tarball tagged tt, through
// a temporary file so that a failed run leaves no half tarball behind.
// tarball.MultiRefWrite lists the tags in map order; its manifest.json is
// rewritten on the way with the tags in the order of tt, so that the same
// image gives the same bytes.
func writeTarball(path string, img v1.Image, tt []name.Tag) (size int64, err error) {
	refs := map[name.Reference]v1.Image{}
	order := map[string]int{}
	for i, t := range tt {
		refs[t] = img
		order[t.String()] = i
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(refs, pw)) }()
	defer pr.Close()

	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	tr, tw := tar.NewReader(pr), tar.NewWriter(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if h.Name != "manifest.json" {
			if err := tw.WriteHeader(h); err != nil {
				return 0, err
			}
			if _, err := io.Copy(tw, tr); err != nil {
				return 0, err
			}
			continue
		}
		var m tarball.Manifest
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			return 0, err
		}
		for _, d := range m {
			slices.SortFunc(d.RepoTags, func(a, b string) int { return order[a] - order[b] })
		}
		b, err := json.Marshal(m)
		if err != nil {
			return 0, err
		}
		h.Size = int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			return 0, err
		}
		if _, err := tw.Write(b); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// layersSize is the sum of the compressed layers of img.
func layersSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// writeAll writes one tarball per platform and the OCI layout of all of
// them, replacing what out held of an earlier run.
func writeAll(out string, b build, images map[platform]v1.Image) ([]written, v1.Hash, error) {
	tt, err := tags(b.version)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, v1.Hash{}, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var ws []written
	for _, pl := range platforms {
		img, ok := images[pl]
		if !ok {
			continue
		}
		w := written{platform: pl, path: filepath.Join(out, tarballName(pl))}
		if w.tarballBytes, err = writeTarball(w.path, img, tt); err != nil {
			return nil, v1.Hash{}, err
		}
		if w.layersBytes, err = layersSize(img); err != nil {
			return nil, v1.Hash{}, err
		}
		if w.digest, err = img.Digest(); err != nil {
			return nil, v1.Hash{}, err
		}
		ws = append(ws, w)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: pl.arch, Variant: pl.variant},
		}})
	}
	dir := filepath.Join(out, layoutDir)
	if err := os.RemoveAll(dir); err != nil {
		return nil, v1.Hash{}, err
	}
	if _, err := layout.Write(dir, idx); err != nil {
		return nil, v1.Hash{}, fmt.Errorf("write the OCI layout %s: %w", dir, err)
	}
	d, err := idx.Digest()
	return ws, d, err
}
