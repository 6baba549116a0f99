#!/bin/sh
# After bot's package is removed, purged or upgraded (deb postrm, rpm
# %postun: 0 after erase, 1 after upgrade).
#
# The data stays, even on purge: /var/lib/bot holds the moderation records
# and the keys that open them and its backups, which no package manager
# should delete. The user and group stay too, so that files they own never
# pass to a later user given the same ID.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi

case "$1" in
remove | purge | 0)
	if [ -d /var/lib/bot ]; then
		cat <<'MSG'
bot's data is kept in /var/lib/bot: the database, its backups and the keys
that open them. Copy what you need (keep the keys apart from the backups),
then delete it with: sudo rm -rf /var/lib/bot
The user and group bot are kept as well (sudo userdel bot to remove them).
MSG
	fi
	;;
esac
