// Package keys owns the bot's encryption keys: two Tink keysets on disk, the
// field encryption and blind indexes built on them, an optional master key
// that encrypts them at rest, and a sentinel that proves keys and data
// belong together. Tink is used nowhere else; this package knows nothing of
// SQL.
//
// # What is encrypted
//
// Anything that identifies or describes a person (user IDs, usernames,
// reasons, notes) is sealed by the storage package with [Keyring.Seal]:
// Tink AEAD, AES-256-GCM with a random 96-bit nonce per value. Each
// ciphertext starts with Tink's 5-byte prefix (0x01 and the key ID), so any
// key of the keyset can open it after rotations.
//
// The associated data of each value names its table, column and row (the
// caller builds it, for example "cases/reason/42"). It is authenticated but
// not stored, so a ciphertext copied into another row or column fails to
// open with [ErrDecrypt] instead of showing one person's record under
// another's name. Altered bytes fail the same way.
//
// # Blind indexes
//
// Lookups by user cannot use a ciphertext, which is different every time.
// [Keyring.BlindIndex] gives a deterministic 32-byte HMAC-SHA256 of the value
// under a separate PRF keyset, with a domain label ("user", "audit-chain"...)
// so that indexes made for one use cannot be matched against another. Without
// the PRF key, an index reveals nothing about the user ID, and indexes from
// two installations cannot be joined. It does reveal equality: rows with the
// same index belong to the same user, and how many rows a user has.
//
// # Files
//
// The keys directory (mode 0700) holds [AEADFile] and [PRFFile], mode 0600,
// each a small JSON envelope around Tink's JSON keyset, plus each key's
// creation time (Tink keysets store none). Load refuses a file readable or
// writable by other users ([ErrPermissions]). Every write goes to a temporary
// file in the same directory, is synced, renamed over the old file, and the
// directory is synced: a crash leaves the old keyset or the new one.
//
// # Master key
//
// Without a master key the keysets are stored in clear and protected only by
// file permissions: whoever can read the keys directory can read the data.
// With one (32 random bytes, from a file or BOT_KEYS_MASTER_KEY), each keyset
// is encrypted with AES-256-GCM under it, with the file name as associated
// data so that the two files cannot be swapped. The master key is never
// written to the keys directory, so a copy of the data directory alone, or a
// backup of it, does not open the data. When a master key is configured, a
// keyset stored in clear is refused ([ErrClearKeysetWithMasterKey]): it could
// have been planted by someone who can write the directory but does not know
// the master key. [ChangeMasterKey] adds, changes or removes it.
//
// The master key file is held to the same rule as the keyset files:
// [ReadMasterKeyFile] refuses it ([ErrPermissions]) when the group or other
// users can read or write it, since it opens the keysets. `bot init
// --master-key` creates one with [WriteMasterKeyFile] (mode 0600, never over
// an existing file) beside the configuration; its copy belongs away from the
// machine, never beside the data directory or in its backups.
//
// # Rotation and re-encryption
//
// [Keyring.Rotate] adds a new AES-256-GCM key and makes it primary; new values
// use it, old values still open with their own key. [Keyring.NeedsReencrypt]
// tells the storage package which values to re-seal, in resumable batches,
// under the primary, and [Keyring.ResealSentinel] moves the sentinel too
// (`bot keys reencrypt` does both).
//
// # Rotating the blind-index keys
//
// [Keyring.RotateIndex] adds a new HMAC-SHA256 key to the PRF keyset and
// makes it primary. An index does not name its key, so while both keys are
// enabled a row may carry either: new rows store [Keyring.BlindIndex] (the
// primary's), and every lookup matches any of [Keyring.BlindIndexes] (one
// per enabled key), so no row is missed before, during or after the
// re-index. The audit chain is verified entry by entry under any enabled
// key for the same reason. The storage package's re-index (`bot keys
// reindex`) recomputes each lookup column from the sealed user ID beside
// it, in resumable batches, re-chains the audit log in one transaction
// (refusing a chain that does not verify, so an edit is never re-signed),
// and reseals the sentinel. Lookups then cost one probe per enabled key
// until the old key is retired.
//
// # Retiring and destroying keys
//
// [Keyring.Retire] disables a key: Tink leaves it out of the primitives,
// so it opens (or indexes) nothing, and Open names it as retired rather
// than returning garbage. The keys package cannot see the data, so the
// caller proves first that nothing uses the key: storage counts the values
// a key sealed ([Keyring.SealedBy], read from the ciphertext prefix), the
// indexes and chain hashes it made ([Keyring.IndexedBy], recomputed from
// the sealed user IDs), and the sentinel's keys ([Keyring.SentinelKeys]);
// `bot keys retire` refuses while any is left. The primary key of either
// keyset is never retired ([ErrPrimaryKey]). [Keyring.Destroy] then removes
// a retired key's material from the file for good; values it sealed in
// older backups can then only be read with a copy of the keys from before.
// The envelope records when each key was retired or destroyed, for status
// and messages.
//
// # Keys bundle
//
// `bot backup --with-keys` carries both keysets sealed with AES-256-GCM under
// a key derived from a passphrase with argon2id ([ExportBundle]). The
// bundle stores its own argon2id cost, so a crafted one could otherwise
// make [OpenBundle] allocate gigabytes: a cost above 10 passes, 16 threads
// or 256 MiB is refused as not a bundle this bot made ([ErrCorrupt]) before
// anything is derived, and ExportBundle refuses the same range, from the
// same check, so every bundle made here opens.
//
// # Sentinel
//
// At `bot init` the storage package stores [Keyring.NewSentinel]: a magic
// string, a random installation ID and its blind index, sealed with the
// associated data "metadata/sentinel". [Keyring.CheckSentinel] opens it at
// every start, backup and restore, so that keys from another installation
// (or a PRF keyset from another installation) give [ErrWrongKeys] up front,
// never garbage later. Its blind index may be under any enabled PRF key
// until it is resealed.
//
// # What is not protected
//
//   - Guild IDs, channel IDs, case numbers, timestamps, action types, row
//     counts and the lengths of sealed values are stored in clear.
//   - Blind indexes reveal which rows belong to the same user.
//   - Anyone holding the keys (and the master key, if set) and a copy of the
//     database reads everything. Without a master key, the keys are in the
//     data directory beside the database: file permissions are then the only
//     barrier, and a copy of the whole directory is a copy of the data.
//   - A process running as the bot's user, or as root, can read the keys from
//     disk or from memory.
//   - Retiring or destroying a key changes only this keys directory: a
//     `--with-keys` backup or a copy of the keys made before still holds
//     the key, and opens what it sealed in backups of that time.
//   - Deleting a row, or restoring an old version of a whole row, is not
//     detected by AEAD; the hash-chained audit log covers that for audited
//     actions.
//
// SECURITY.md, at the repository's root, sets this design in the threat
// model of the whole bot: who the attackers are and what each can learn or
// change.
package keys
