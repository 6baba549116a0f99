package docscheck

import (
	"regexp"
	"strings"
	"testing"
)

// clauseEnd splits a message into clauses: at ";", at ":", "." or ","
// followed by a space, at an opening parenthesis and at a line break. A
// colon or dot inside a word (storage.data_dir, host:port) splits nothing.
var clauseEnd = regexp.MustCompile(`;|[:.,]\s|\(|\n`)

// connectives are dropped from the start of a clause before its first
// words are read: "…, or run 'bot init'", "(and restore …".
var connectives = []string{"or ", "and ", "then ", "but ", "if so ", "otherwise ", "else ", "so "}

// imperatives are the words with which the bot's messages tell the owner
// what to do. A clause that starts with one of them is an instruction.
// "free" and "back" count only as "free some" and "back up": "free space
// is not reported" is no instruction. "rotate" is left out: it names a
// subcommand in the lists of them, where it tells nothing.
var imperatives = []string{
	"add", "allow", "back up", "change", "check", "chmod", "chown", "choose", "confirm", "copy",
	"create", "delete", "do not", "don't", "edit", "enable", "encrypt", "ensure", "fix", "follow",
	"free some", "give", "grant", "increase", "install", "invite", "keep", "leave", "look", "lower",
	"make", "move", "never", "open", "pass", "point", "put", "raise", "read", "reinstall", "reload",
	"remove", "rename", "replace", "reset", "restart", "restore", "retry", "run", "see",
	"set", "start", "stop", "try", "turn", "type", "unset", "upgrade", "use", "wait",
}

// advice reports whether msg tells the owner what to do. It does when one
// of its clauses, once a leading connective is dropped,
//   - starts with an imperative ("run 'bot init' first", "use another backup"),
//   - starts with a bot command in quotes and a verb in the present tense,
//     pointing the owner to it ("'bot keys status' lists them", "'bot run'
//     applies the migrations at start"),
//   - or is a question ("is 'bot run' running?", "did you mean …?").
//
// The first clause does not count when a colon ends it, as in "remove %s:
// %w" or "set up the Discord client: %w": that is Go's way of naming the
// operation that failed, not an instruction.
func advice(msg string) bool {
	lower := strings.ToLower(msg)
	start := 0
	ends := append(clauseEnd.FindAllStringIndex(lower, -1), []int{len(lower), len(lower)})
	for i, end := range ends {
		clause := strings.TrimSpace(lower[start:end[0]])
		label := i == 0 && end[0] < len(lower) && lower[end[0]] == ':'
		start = end[1]
		if label {
			continue
		}
		if strings.HasSuffix(clause, "?") {
			return true
		}
		clause = strings.TrimLeft(clause, " "+placeholder)
		for again := true; again; {
			again = false
			for _, c := range connectives {
				if strings.HasPrefix(clause, c) {
					clause, again = strings.TrimLeft(clause[len(c):], " "), true
				}
			}
		}
		if pointsToCommand(clause) {
			return true
		}
		for _, v := range imperatives {
			if clause == v || strings.HasPrefix(clause, v+" ") {
				return true
			}
		}
	}
	return false
}

// pointsToCommand reports whether clause starts with a bot command in
// quotes followed by what it does, in the present tense: "'bot keys
// status' lists them", not "'bot … --help' showed no usage".
func pointsToCommand(clause string) bool {
	for _, q := range []string{"'", "`"} {
		if !strings.HasPrefix(clause, q+"bot ") {
			continue
		}
		end := strings.Index(clause[1:], q)
		if end < 0 {
			return false
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(clause[end+2:]), " ")
		return strings.HasSuffix(verb, "s") && verb != "is" && verb != "was" && verb != "has"
	}
	return false
}

func TestAdvice(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"no data directory at …: run 'bot init' first (or point storage.data_dir at your data)", true},
		{"…: only … bytes, the file was cut short; use another backup", true},
		{"check that alerts.webhook_url is the webhook's URL as Discord shows it", true},
		{"nothing answers at …/readyz: is 'bot run' running?", true},
		{"missing KEY_ID: 'bot keys status' lists the key IDs", true},
		{"… free in …: the database cannot grow; free some space", true},
		{"…: …, so no keys can be shown to belong to it; back up an installation made by 'bot init'", true},
		{"read …: …; delete the file, the bot starts without it", true},
		{"… Restore the database from a backup ('bot restore FILE'); the one in place stays untouched", true},
		{"unknown setting; did you mean BOT_LOG_LEVEL?", true},

		{"open …: …", false},
		{"remove …: …", false},
		{"set up the Discord client: …", false},
		{"check sentinel: …: the stored sentinel is not one this bot wrote; …", false},
		{"free space is not reported on this platform", false},
		{"status, rotate, reencrypt, reindex, retire, generate-master-key or change-master-key", false},
		{"could not post an alert to alerts.webhook_url; trying again in a minute", false},
		{"the database was restored, but does not open with the keys in …: …", false},
		{"…: a case needs a target and a moderator", false},
		{"host:port or storage.data_dir.run is no clause", false},
		{"'bot … --help' showed no usage (exit status …)", false},
		{"no backup yet; 'bot run' makes one every …", true},
		// Advice that starts with other verbs an owner is told.
		{"the lock is held by …; wait for it to finish, then try again", true},
		{"…: see 'bot keys --help'", true},
		{"keys directory … is mode …; chmod 700 it", true},
		{"no systemd here: install the binary by hand", true},
		{"… is readable by others; do not keep the token there", true},
		{"the webhook was rotated: reset alerts.webhook_url", true},
		{"the limit is too low; raise limits.queue", true},
		{"Discord refused the bot: invite it again with 'bot invite'", true},
		{"…: never share this file", true},
		{"read …: …", false},
		{"wait for the gateway: …", false},
		{"install the keys: …", false},
	} {
		if got := advice(tc.msg); got != tc.want {
			t.Errorf("advice(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
