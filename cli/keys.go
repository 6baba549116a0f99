package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const keysUsage = `
Usage: bot keys status [-c FILE] [--json]
       bot keys rotate [-c FILE]
       bot keys reencrypt [-c FILE] [--batch N]
       bot keys generate-master-key
       bot keys change-master-key [-c FILE] (--new-file FILE | --remove)

status     shows the keysets: their IDs, each key's ID, state and creation
           time, the files, and whether a master key encrypts them.
rotate     adds a new primary encryption key. Existing records stay readable
           with the old key; new ones use the new key. Stop 'bot run' first.
reencrypt  rewrites every encrypted value under the primary key, in batches.
           It can be interrupted and run again: it continues where it stopped.
generate-master-key
           prints a new random master key. Put it in a file named by
           keys.master_key_file (mode 0600), or in BOT_KEYS_MASTER_KEY, to
           have the keysets encrypted on disk.
change-master-key
           re-writes the keysets under a new master key read from --new-file
           (or in clear, with --remove), after opening them with the master
           key the configuration names now (if any). Then point the
           configuration at the new key. Stop 'bot run' first.

The keys for blind indexes (lookups by user) are never rotated: rotating
them would make every stored lookup miss.
`

func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand: status, rotate, reencrypt or generate-master-key")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		return parseFlags(e, newFlagSet("keys"), keysUsage, []string{"--help"})
	}
	flags := newFlagSet("keys " + sub)
	cfgPath := configFlag(flags)
	asJSON := flags.Bool("json", false, "print as JSON (status)")
	batch := flags.Int("batch", 500, "rows per transaction (reencrypt)")
	newFile := flags.String("new-file", "", "file holding the new master key (change-master-key)")
	remove := flags.Bool("remove", false, "store the keysets in clear from now on (change-master-key)")
	if err := parseFlags(e, flags, keysUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	switch sub {
	case "generate-master-key":
		k, err := keys.GenerateMasterKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, k)
		return nil
	case "status", "rotate", "reencrypt", "change-master-key":
	default:
		return usagef("unknown subcommand %q: use status, rotate, reencrypt, generate-master-key or change-master-key", sub)
	}
	if *batch <= 0 {
		return usagef("--batch must be positive")
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
		if err := in.Keys.Rotate(); err != nil {
			return err
		}
		st := in.Keys.Status()
		fmt.Fprintf(e.stdout, "Added key %d as the primary encryption key in %s.\n", st.AEAD.ID, e.rel(st.AEAD.Path))
		fmt.Fprintln(e.stdout, "Existing records stay readable. Run 'bot keys reencrypt' to move them to the new key, then back up the keys directory again.")
		return nil
	default:
		start := time.Now()
		n, err := in.DB.Reencrypt(ctx, in.Keys, *batch, func(done int) {
			if e.terminal {
				fmt.Fprintf(e.stderr, "\rre-encrypted %d values", done)
			}
		})
		if e.terminal {
			fmt.Fprintln(e.stderr)
		}
		if err != nil {
			return fmt.Errorf("%w\n%d values were re-encrypted before the error; running the command again continues from there", err, n)
		}
		fmt.Fprintf(e.stdout, "Re-encrypted %d values under key %d in %s.\n", n, in.Keys.Status().AEAD.ID, time.Since(start).Round(time.Millisecond))
		return nil
	}
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
