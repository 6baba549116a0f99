package keys

import "errors"

// Sentinel errors. Every function in this package returns them wrapped, with
// a message that names the file involved and says what to do, so callers can
// branch with errors.Is and show err.Error() to a server owner unchanged.
var (
	// ErrExist is returned by Create when a keyset file is already present:
	// overwriting it would make every value sealed with it unreadable.
	ErrExist = errors.New("keyset already exists")

	// ErrNotFound is returned when the keys directory holds no keysets, or
	// only one of the two.
	ErrNotFound = errors.New("keyset not found")

	// ErrPermissions is returned when a keyset file or the master key file
	// can be read or written by the group or by other users.
	ErrPermissions = errors.New("key file is readable or writable by other users")

	// ErrCorrupt is returned when a keyset file cannot be parsed, or holds a
	// keyset of the wrong kind.
	ErrCorrupt = errors.New("keyset file is corrupt")

	// ErrMasterKeyMismatch is returned when the configured master key does not
	// decrypt a keyset file: a different master key, or a file that was
	// altered or swapped with another one.
	ErrMasterKeyMismatch = errors.New("master key does not open the keyset")

	// ErrClearKeysetWithMasterKey is returned when a master key is configured
	// but a keyset is stored in clear. It is refused rather than accepted:
	// anyone able to write the keys directory could otherwise replace an
	// encrypted keyset with one of their own.
	ErrClearKeysetWithMasterKey = errors.New("keyset is stored in clear but a master key is configured")

	// ErrMasterKeyRequired is returned when a keyset is encrypted on disk and
	// no master key was given.
	ErrMasterKeyRequired = errors.New("keyset is encrypted and no master key is configured")

	// ErrDecrypt is returned by Open when a ciphertext does not open: it was
	// altered, moved to another row or column (its associated data differs),
	// or sealed with a key that is not in the keyset.
	ErrDecrypt = errors.New("decryption failed")

	// ErrWrongKeys is returned by CheckSentinel when the sentinel was not
	// sealed by these keys: the keys directory and the data do not belong
	// together.
	ErrWrongKeys = errors.New("keys do not match the data")
)
