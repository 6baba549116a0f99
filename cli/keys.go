package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const keysUsage = `
Usage: bot keys status [-c FILE] [--json]
       bot keys rotate [-c FILE] [--index]
       bot keys reencrypt [-c FILE] [--batch N]
       bot keys reindex [-c FILE] [--batch N]
       bot keys retire KEY_ID [-c FILE] [--destroy [--yes]]
       bot keys generate-master-key
       bot keys change-master-key [-c FILE] (--new-file FILE | --remove)

status     shows the keysets: their IDs, each key's ID, state and creation
           time, the files, and whether a master key encrypts them.
rotate     adds a new primary encryption key. Existing records stay readable
           with the old key; new ones use the new key. Stop 'bot run' first.
           With --index, adds a new primary blind-index key instead (the
           key behind lookups by user); lookups keep finding every record.
reencrypt  rewrites every encrypted value, and the key sentinel, under the
           primary encryption key, in batches. It can be interrupted and run
           again: it continues where it stopped.
reindex    rewrites every blind index (lookups by user), the audit log's
           hash chain and the key sentinel under the primary blind-index
           key. Resumable like reencrypt; lookups work throughout.
retire     disables a key that nothing uses any more, so that it opens
           nothing from then on. It refuses while any value (or the key
           sentinel) still uses the key, and says how many and where: run
           reencrypt (or reindex, for a blind-index key) first. The primary
           key cannot be retired. With --destroy it then removes the key's
           material for good, after you type the key ID again (--yes skips
           that, for scripts): data sealed with it in older backups can then
           only be read with a copy of the keys from before.
generate-master-key
           prints a new random master key. Put it in a file named by
           keys.master_key_file (mode 0600), or in BOT_KEYS_MASTER_KEY, to
           have the keysets encrypted on disk.
change-master-key
           re-writes the keysets under a new master key read from --new-file
           (or in clear, with --remove), after opening them with the master
           key the configuration names now (if any). Then point the
           configuration at the new key. Stop 'bot run' first.

Back up the keys directory after every change: a backup of the database
made after reencrypt needs the new keys.
`

// keysSubcommands lists the subcommands, for usage errors.
const keysSubcommands = "status, rotate, reencrypt, reindex, retire, generate-master-key or change-master-key"

func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand: %s", keysSubcommands)
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		return parseFlags(e, newFlagSet("keys"), keysUsage, []string{"--help"})
	}
	flags := newFlagSet("keys " + sub)
	cfgPath := configFlag(flags)
	asJSON := flags.Bool("json", false, "print as JSON (status)")
	batch := flags.Int("batch", 500, "rows per transaction (reencrypt, reindex)")
	index := flags.Bool("index", false, "rotate the blind-index key (rotate)")
	destroy := flags.Bool("destroy", false, "also remove the retired key's material (retire)")
	yes := flags.Bool("yes", false, "do not ask to confirm --destroy (retire)")
	newFile := flags.String("new-file", "", "file holding the new master key (change-master-key)")
	remove := flags.Bool("remove", false, "store the keysets in clear from now on (change-master-key)")
	if err := parseFlags(e, flags, keysUsage, args); err != nil {
		return err
	}
	rest := flags.Args()
	var keyArg string
	if sub == "retire" && len(rest) > 0 {
		keyArg, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	switch sub {
	case "generate-master-key":
		k, err := keys.GenerateMasterKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, k)
		return nil
	case "status", "rotate", "reencrypt", "reindex", "retire", "change-master-key":
	default:
		return usagef("unknown subcommand %q: use %s", sub, keysSubcommands)
	}
	if *batch <= 0 {
		return usagef("--batch must be positive")
	}
	if *index && sub != "rotate" {
		return usagef("--index goes with 'bot keys rotate'")
	}
	if (*destroy || *yes) && sub != "retire" || *yes && !*destroy {
		return usagef("--destroy goes with 'bot keys retire KEY_ID', and --yes with --destroy")
	}
	var keyID uint32
	if sub == "retire" {
		if keyArg == "" {
			return usagef("missing KEY_ID: 'bot keys status' lists the key IDs")
		}
		n, err := strconv.ParseUint(keyArg, 10, 32)
		if err != nil {
			return usagef("KEY_ID %q is not a key ID: 'bot keys status' lists them (decimal numbers)", keyArg)
		}
		keyID = uint32(n)
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	if sub != "status" {
		// A running bot holds the keys in memory and would not see a new
		// primary key, so values re-encrypted under it would not open there.
		lock, err := storage.Lock(cfg.Storage.DataDir)
		if err != nil {
			return fmt.Errorf("%w (the running bot must not miss the key change)", err)
		}
		defer lock.Close()
	}
	if sub == "change-master-key" {
		return changeMasterKey(e, cfg, *newFile, *remove)
	}
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()
	switch sub {
	case "status":
		return printKeyStatus(e, in.Keys.Status(), *asJSON)
	case "rotate":
		return rotateKeys(e, in, *index)
	case "retire":
		return retireKey(ctx, e, in, keyID, *destroy, *yes)
	case "reindex":
		return moveToPrimary(ctx, e, in, *batch, "re-indexed", keys.PurposePRF, in.DB.Reindex)
	default:
		return moveToPrimary(ctx, e, in, *batch, "re-encrypted", keys.PurposeAEAD, func(ctx context.Context, _ storage.Cipher, batch int, progress func(int)) (int, error) {
			return in.DB.Reencrypt(ctx, in.Keys, batch, progress)
		})
	}
}

func rotateKeys(e *env, in *datadir.Installation, index bool) error {
	if index {
		if err := in.Keys.RotateIndex(); err != nil {
			return err
		}
		st := in.Keys.Status()
		fmt.Fprintf(e.stdout, "Added key %d as the primary blind-index key in %s.\n", st.PRF.ID, e.rel(st.PRF.Path))
		fmt.Fprintln(e.stdout, "Lookups by user keep finding every record, under the old key and the new one. Run 'bot keys reindex' to move every index to the new key, then 'bot keys retire' the old one, then back up the keys directory again.")
		return nil
	}
	if err := in.Keys.Rotate(); err != nil {
		return err
	}
	st := in.Keys.Status()
	fmt.Fprintf(e.stdout, "Added key %d as the primary encryption key in %s.\n", st.AEAD.ID, e.rel(st.AEAD.Path))
	fmt.Fprintln(e.stdout, "Existing records stay readable. Run 'bot keys reencrypt' to move them to the new key, then back up the keys directory again.")
	return nil
}

// moveToPrimary runs a resumable move of the data to the primary key of p
// (re-encryption or re-indexing), then reseals the key sentinel, which
// would otherwise keep the old key in use for good.
func moveToPrimary(ctx context.Context, e *env, in *datadir.Installation, batch int, did string, p keys.Purpose,
	move func(context.Context, storage.Cipher, int, func(int)) (int, error)) error {
	start := time.Now()
	n, err := move(ctx, in.Keys, batch, func(done int) {
		if e.terminal {
			fmt.Fprintf(e.stderr, "\r%s %d values", did, done)
		}
	})
	if e.terminal {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return fmt.Errorf("%w\n%d values were %s before the error; running the command again continues from there", err, n, did)
	}
	resealed, err := storage.NewMeta(in.DB).ResealSentinel(ctx, in.Keys)
	if err != nil {
		return fmt.Errorf("%w\nevery value was %s; running the command again reseals the key sentinel", err, did)
	}
	sentinel := ""
	if resealed {
		sentinel = " and resealed the key sentinel"
	}
	word := map[keys.Purpose]string{keys.PurposeAEAD: "encryption", keys.PurposePRF: "blind-index"}[p]
	fmt.Fprintf(e.stdout, "%s %d values%s under %s key %d in %s.\n", strings.ToUpper(did[:1])+did[1:], n, sentinel, word,
		in.Keys.PrimaryKeyID(p), time.Since(start).Round(time.Millisecond))
	return nil
}

// retireKey retires keyID once the data proves nothing uses it, and with
// destroy removes its material after a confirmation.
func retireKey(ctx context.Context, e *env, in *datadir.Installation, keyID uint32, destroy, yes bool) error {
	p, err := in.Keys.KeyPurpose(keyID)
	if err != nil {
		return err
	}
	kind, move := "encryption", "reencrypt"
	if p == keys.PurposePRF {
		kind, move = "blind-index", "reindex"
	}
	if keyID == in.Keys.PrimaryKeyID(p) {
		rotate := "bot keys rotate"
		if p == keys.PurposePRF {
			rotate += " --index"
		}
		return fmt.Errorf("key %d is the primary %s key: it cannot be retired, since new values use it. Run '%s' to add a new primary key, then 'bot keys %s', then retire %d",
			keyID, kind, rotate, move, keyID)
	}
	var usage storage.KeyUsage
	if p == keys.PurposePRF {
		usage, err = in.DB.IndexKeyUsage(ctx, in.Keys, keyID)
	} else {
		usage, err = in.DB.SealedKeyUsage(ctx, in.Keys, keyID)
	}
	if err != nil {
		return err
	}
	if usage.InUse() {
		return fmt.Errorf("%s key %d is still in use by %s; run 'bot keys %s' first, which moves everything to the primary key, then retire it", kind, keyID, usage, move)
	}
	if err := in.Keys.Retire(keyID); err != nil {
		return err
	}
	path := in.Keys.Status().AEAD.Path
	if p == keys.PurposePRF {
		path = in.Keys.Status().PRF.Path
	}
	fmt.Fprintf(e.stdout, "Retired %s key %d in %s: nothing in the database uses it, and it opens nothing from now on.\n", kind, keyID, e.rel(path))
	if !destroy {
		fmt.Fprintf(e.stdout, "Backups made before the last '%s' still need this key: keep a copy of the keys directory from that time beside them (a --with-keys backup carries its own). Its material stays in the file until 'bot keys retire %d --destroy'.\n", move, keyID)
		return nil
	}
	if !yes {
		fmt.Fprintf(e.stderr, "Destroying key %d cannot be undone: values it sealed in older backups could then be read only with a copy of the keys made before now.\nType the key ID to destroy it: ", keyID)
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) != strconv.FormatUint(uint64(keyID), 10) {
			return fmt.Errorf("not confirmed, so key %d is retired but not destroyed; to destroy it, run the command again and type %d, or pass --yes", keyID, keyID)
		}
	}
	if err := in.Keys.Destroy(keyID); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Destroyed key %d: its material is gone from %s. Back up the keys directory again.\n", keyID, e.rel(path))
	return nil
}

func printKeyStatus(e *env, st keys.Status, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	protection := "no master key: the keysets are stored in clear (protected by file permissions, mode 0600)"
	if st.MasterKey {
		protection = "a master key encrypts the keysets on disk"
	}
	fmt.Fprintf(e.stdout, "Keys directory: %s\nProtection: %s\n", e.rel(st.Dir), protection)
	for _, ks := range []struct {
		title string
		s     keys.KeysetStatus
	}{{"Encryption keyset (AEAD)", st.AEAD}, {"Blind-index keyset (PRF)", st.PRF}} {
		fmt.Fprintf(e.stdout, "\n%s: %s\n  primary key ID: %d\n", ks.title, e.rel(ks.s.Path), ks.s.ID)
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KEY ID\tTYPE\tSTATE\tCREATED")
		for _, k := range ks.s.Keys {
			state := k.Status
			if state == "disabled" {
				state = "retired" // what 'bot keys retire' did; Tink calls it disabled
			}
			if k.Primary {
				state += " (primary)"
			}
			created := "unknown"
			if !k.CreatedAt.IsZero() {
				created = k.CreatedAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", k.ID, k.Type, state, created)
		}
		tw.Flush()
	}
	return nil
}

func changeMasterKey(e *env, cfg *config.Config, newFile string, remove bool) error {
	if (newFile == "") == !remove {
		return usagef("give exactly one of --new-file FILE or --remove")
	}
	oldKey, err := datadir.MasterKey(cfg)
	if err != nil {
		return err
	}
	var newKey []byte
	if newFile != "" {
		if newKey, err = keys.ReadMasterKeyFile(newFile); err != nil {
			return fmt.Errorf("the new master key: %w", err)
		}
	}
	dir := datadir.KeysPath(cfg)
	if err := keys.ChangeMasterKey(dir, oldKey, newKey); err != nil {
		return err
	}
	if remove {
		fmt.Fprintf(e.stdout, "The keysets in %s are now stored in clear (mode 0600). Remove keys.master_key_file and BOT_KEYS_MASTER_KEY from the configuration.\n", e.rel(dir))
		return nil
	}
	fmt.Fprintf(e.stdout, "The keysets in %s are now encrypted with the key in %s.\nSet keys.master_key_file = %q in the configuration (or BOT_KEYS_MASTER_KEY) before the next start.\n", e.rel(dir), newFile, newFile)
	return nil
}
