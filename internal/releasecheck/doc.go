// Package releasecheck holds no code: its tests check what goreleaser
// builds (goreleaser.yaml), as an owner meets it. `make release-check`
// points RELEASE_DIST at dist/ and walks the README's set-up with the
// linux/amd64 archive against a local Discord, checks every archive's files
// and binary, the checksums and the SBOMs; `make package-check` points
// PACKAGE_DIST at dist/ and installs and removes the .deb on this machine.
// Without those variables only the checks of the packaging sources run, so
// `make test` stays fast.
package releasecheck
