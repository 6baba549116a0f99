#!/bin/sh
# Before bot's package is removed or upgraded (deb prerm, rpm %preun).
#
# On removal (deb "remove", rpm 0) it stops and disables the service and the
# backup timer. On an upgrade (deb "upgrade", rpm 1) it does nothing: the
# new version's postinstall restarts the running service.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if command -v systemctl >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		systemctl stop bot-backup.timer bot-backup.service bot.service || true
	fi
	# Works without a running systemd too (a chroot, an image being built):
	# the links that enable the units go with them.
	systemctl disable bot-backup.timer bot.service >/dev/null 2>&1 || true
fi
