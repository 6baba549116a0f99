#!/bin/sh
# After bot's package is installed or upgraded (deb postinst, rpm %post).
#
# deb calls it with "configure" and the version replaced, absent on a first
# install; rpm with the number of versions installed once it is done: 1 on
# install, 2 on upgrade. Every run makes sure of the user, the group and
# the modes the service needs. It never enables or starts the service; on an
# upgrade it restarts it if it was running, so that the new binary serves.
set -e

upgrade=
case "$1" in
configure)
	[ -z "$2" ] || upgrade=yes
	;;
1) ;;
[2-9] | [1-9][0-9]*)
	upgrade=yes
	;;
*)
	# abort-upgrade, abort-remove, abort-deconfigure: the previous version
	# stays configured as it was.
	exit 0
	;;
esac

# The service's own user and group, for the data and nothing else: no login,
# no home of its own beyond the data directory. useradd and groupadd come with
# both Debian's passwd and the RPM distributions' shadow-utils.
if ! getent group bot >/dev/null; then
	groupadd --system bot
fi
if ! getent passwd bot >/dev/null; then
	useradd --system --gid bot --home-dir /var/lib/bot --no-create-home \
		--shell /usr/sbin/nologin --comment "bot Discord moderation bot" bot
fi

# The configuration holds secrets (bot.env the token): root owns it, and the
# service reads it through its group. dpkg and rpm write these files with
# group root, on install and whenever an upgrade replaces an unedited one;
# only such a file is given to the group bot. One the owner has given
# another group keeps it and its mode, and a symbolic link is never
# followed: chown and chmod would change whatever file it points to.
for f in /etc/bot/config.toml /etc/bot/bot.env; do
	if [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %g "$f")" = 0 ]; then
		chown root:bot "$f"
		chmod 0640 "$f"
	fi
done

# The data directory exists before the first start, for `bot init` as the
# service's user; systemd's StateDirectory= keeps it so afterwards.
#
# Data kept from an earlier install whose user was deleted (postremove.sh
# offers userdel) still belongs to that user's UID, which the new user bot
# need not get back; or it was copied in by root from another machine.
# Everything in it goes to bot then: the service could open neither the
# database nor the keys, and systemd mends the owner of the directory
# alone once this script has. chown -R follows no symbolic link (-P).
if [ ! -d /var/lib/bot ]; then
	mkdir -p /var/lib/bot
elif [ "$(stat -c %u /var/lib/bot)" != "$(id -u bot)" ]; then
	chown -R bot:bot /var/lib/bot
fi
chown bot:bot /var/lib/bot
chmod 0700 /var/lib/bot

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	if [ -n "$upgrade" ]; then
		systemctl try-restart bot.service || true
	fi
fi

if [ -z "$upgrade" ]; then
	cat <<'MSG'

bot is installed. To run it as a service:
  1. put the bot's token in /etc/bot/bot.env:   BOT_DISCORD_TOKEN=...
     (and review /etc/bot/config.toml)
  2. create the database and keys:              sudo -u bot bot init -c /etc/bot/config.toml
  3. start it now and at every boot:            sudo systemctl enable --now bot
Then: systemctl status bot, journalctl -u bot, and the status page on http://127.0.0.1:8081/.
The data, and the keys without which nobody can read it, are in /var/lib/bot:
keep a copy of /var/lib/bot/keys apart from the backups.

MSG
fi
