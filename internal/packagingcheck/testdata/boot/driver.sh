#!/bin/sh
# Runs as root inside the test container that TestServiceBoots boots, with
# the test's files in /opt/t: installs the bot as the packages do, runs the
# service through what an owner does, and writes what it saw to
# /opt/t/out/results as "key=value" lines for the test to check. It goes on
# after a failure, so that the results show every step, and powers the
# container off at the end.
set -u
t=/opt/t
out=$t/out
trap 'systemctl poweroff --no-block' EXIT
res() { printf '%s=%s\n' "$1" "$2" >>"$out/results"; }
step() { printf '\n=== %s\n' "$*"; }
waitfor() { # seconds command...
	n=$(($1 * 5)); shift
	while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done
	return 1
}
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8081$1"; }
ready() { [ "$(code /readyz)" = 200 ]; }
mainpid() { systemctl show -p MainPID --value bot.service; }

step install, as the package does
install -m 0755 $t/bot /usr/bin/bot
install -d /usr/lib/systemd/system /etc/bot
install -m 0644 $t/bot.service $t/bot-backup.service $t/bot-backup.timer /usr/lib/systemd/system/
install -m 0644 $t/config.toml /etc/bot/config.toml
install -m 0644 /dev/null /etc/bot/bot.env
sh $t/postinstall.sh configure
res postinstall $?
entry=$(getent passwd bot)
res user_home "$(echo "$entry" | cut -d: -f6)"
res user_shell "$(echo "$entry" | cut -d: -f7)"
res mode_config "$(stat -c '%U:%G %a' /etc/bot/config.toml)"
res mode_env "$(stat -c '%U:%G %a' /etc/bot/bot.env)"
res mode_data "$(stat -c '%U:%G %a' /var/lib/bot)"

step a local Discord, and its token in bot.env
/usr/bin/bot demo --serve --env-file /run/discord.env >$out/discord.log 2>&1 &
waitfor 30 test -s /run/discord.env
grep '^BOT_' /run/discord.env >/etc/bot/bot.env

step bot init as the service user
runuser -u bot -- /usr/bin/bot init -c /etc/bot/config.toml
res init $?

step start
systemctl start bot.service
res start $?
waitfor 60 ready
res ready "$(code /readyz)"

step warn
/usr/bin/bot demo invoke --env-file /run/discord.env --as moderator /warn user:@bob reason:"under systemd" | tee $out/warn.txt
grep -q Warned $out/warn.txt && res warned yes

step inside the sandbox
pid=$(mainpid)
grep -E 'Uid|Seccomp|NoNewPrivs|Cap(Eff|Bnd)' /proc/"$pid"/status
res seccomp "$(awk '/^Seccomp:/ {print $2}' /proc/"$pid"/status)"
res nonewprivs "$(awk '/^NoNewPrivs:/ {print $2}' /proc/"$pid"/status)"
res capeff "$(awk '/^CapEff:/ {print $2}' /proc/"$pid"/status)"
res capbnd "$(awk '/^CapBnd:/ {print $2}' /proc/"$pid"/status)"
[ "$(awk '/^Uid:/ {print $2}' /proc/"$pid"/status)" = "$(id -u bot)" ] && res uid_is_bot yes
systemd-analyze security bot.service >$out/security.txt 2>&1
res security "$(sed -n 's/.*Overall exposure level for bot.service: \([0-9.]*\).*/\1/p' $out/security.txt)"

step reload
systemctl reload bot.service
res reload $?
waitfor 20 sh -c 'journalctl -u bot.service -o cat | grep -q "configuration reloaded"' && res reloaded yes
res metrics "$(code /metrics)"
res page "$(code /)"

step backup while the bot runs
systemctl start bot-backup.service
res backup "$(systemctl show -p Result --value bot-backup.service)"
ls /var/lib/bot/backups/bot-*.db >/dev/null 2>&1 && res backup_file yes

step upgrade restarts a running bot
before=$(mainpid)
sh $t/postinstall.sh configure 0.9.0
res upgrade $?
waitfor 60 ready
after=$(mainpid)
[ "$after" != 0 ] && [ "$after" != "$before" ] && res upgrade_restart yes

step stop
systemctl stop bot.service
res stop "$(systemctl show -p Result --value bot.service)"
res stop_status "$(systemctl show -p ExecMainStatus --value bot.service)"
res restarts "$(systemctl show -p NRestarts --value bot.service)"
journalctl -u bot.service -u bot-backup.service -o cat --no-pager >$out/journal.txt
res journal_problems "$(grep -ciE '"level":"(WARN|ERROR)"|operation not permitted|SIGSYS|bad system call|permission denied|read-only file system' $out/journal.txt)"

step timer
systemctl enable --now bot-backup.timer
res timer "$(systemctl is-active bot-backup.timer)"

step remove and purge, as the package does
systemctl enable --now bot.service
waitfor 60 ready
sh $t/preremove.sh remove
res prerm $?
res enabled "$(systemctl is-enabled bot.service bot-backup.timer | tr '\n' ' ')"
res active "$(systemctl is-active bot.service bot-backup.timer | tr '\n' ' ')"
systemctl status bot.service --no-pager >$out/status-removed.txt 2>&1
journalctl -u bot.service -o short-precise --no-pager >$out/journal-removed.txt
rm /usr/lib/systemd/system/bot.service /usr/lib/systemd/system/bot-backup.service \
	/usr/lib/systemd/system/bot-backup.timer /usr/bin/bot /etc/bot/config.toml /etc/bot/bot.env
sh $t/postremove.sh remove && sh $t/postremove.sh purge
res postrm $?
[ -f /var/lib/bot/bot.db ] && [ -d /var/lib/bot/keys ] && res data_kept yes
getent passwd bot >/dev/null && res user_kept yes
res finished yes
