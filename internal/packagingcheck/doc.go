// Package packagingcheck holds the tests of what a Linux package installs
// beside the binary: the systemd units in packaging/systemd and the
// maintainer scripts in packaging/scripts. It has no code of its own.
//
// `make test` checks the units with systemd-analyze (verify, and the
// exposure score of `systemd-analyze security`) and runs the scripts
// against stub commands for every way deb and rpm call them.
// `make systemd-check` adds the system calls of `bot run` and `bot backup`,
// traced with strace, against the units' SystemCallFilter=, and
// `make systemd-boot-check` boots systemd in a container (as root, with
// systemd-nspawn) and runs the service there.
package packagingcheck
