package cli

import (
	"strconv"
	"strings"
	"testing"
)

// TestRetireSaysOlderBackupsNeedOldKeys: a retired key opens nothing, so
// a backup made before the re-encryption (or re-index) no longer restores
// with the current keys alone; retire says so and names what to keep.
func TestRetireSaysOlderBackupsNeedOldKeys(t *testing.T) {
	for _, index := range []bool{false, true} {
		name, rotate, move := "Encryption", []string{"keys", "rotate"}, "reencrypt"
		if index {
			name, rotate, move = "BlindIndex", []string{"keys", "rotate", "--index"}, "reindex"
		}
		t.Run(name, func(t *testing.T) {
			dir := initDir(t)
			addCase(t, dir)
			ks := keyStatus(t, dir)
			old := ks.AEAD.ID
			if index {
				old = ks.PRF.ID
			}
			oldArg := strconv.FormatUint(uint64(old), 10)
			backup := backupOf(t, dir, nil)
			for _, args := range [][]string{rotate, {"keys", move}} {
				if code, _, errOut := runCLI(t, dir, nil, args...); code != exitOK {
					t.Fatalf("%v: exit %d: %s", args, code, errOut)
				}
			}
			code, out, errOut := runCLI(t, dir, nil, "keys", "retire", oldArg)
			if code != exitOK {
				t.Fatalf("retire: exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "Backups made before the last '"+move+"' still need this key") {
				t.Errorf("retire said %q; want it to say older backups need this key", out)
			}
			if code, _, _ := runCLI(t, dir, nil, "restore", "--dry-run", backup); code == exitOK {
				t.Errorf("restore --dry-run of a backup made before the retirement succeeded with the current keys; the message above would then be wrong")
			}
		})
	}
}
