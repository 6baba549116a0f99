package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/internal/atomicfile"
)

// Files in the data directory about the gateway connection. Neither holds
// the token.
const (
	// SessionFile holds the gateway session that 'bot run' saves at
	// shutdown and every half minute, for the next start to resume.
	SessionFile = "gateway-session.json"
	// StartsFile records the recent starts of 'bot run' that did not end
	// in a clean stop, and what the bot waits for before connecting, for
	// the crash-loop backoff and 'bot health'.
	StartsFile = "gateway-starts.json"
)

// SessionPath is cfg's SessionFile.
func SessionPath(cfg *config.Config) string { return filepath.Join(cfg.Storage.DataDir, SessionFile) }

// StartsPath is cfg's StartsFile.
func StartsPath(cfg *config.Config) string { return filepath.Join(cfg.Storage.DataDir, StartsFile) }

// GatewayStarts is the content of StartsFile.
type GatewayStarts struct {
	// Unclean lists the starts, oldest first, that have not ended in a
	// clean stop: a crash, a kill, or the one running now.
	Unclean []time.Time `json:"unclean_starts"`
	// WaitUntil, when in the future, is when the running bot connects
	// to Discord; WaitReason says why it waits.
	WaitUntil  time.Time `json:"wait_until,omitzero"`
	WaitReason string    `json:"wait_reason,omitempty"`
}

// LoadSession reads SessionFile into v; it returns fs.ErrNotExist when
// there is none.
func LoadSession(cfg *config.Config, v any) error {
	return readJSON(SessionPath(cfg), v)
}

// SaveSession replaces SessionFile with v, mode 0600: a session ID lets
// whoever also has the token take over the bot's session.
func SaveSession(cfg *config.Config, v any) error {
	return writeJSON(SessionPath(cfg), v)
}

// RemoveSession deletes SessionFile, so that the next start identifies.
func RemoveSession(cfg *config.Config) error {
	if err := os.Remove(SessionPath(cfg)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// LoadStarts reads StartsFile; none is an empty record.
func LoadStarts(cfg *config.Config) (GatewayStarts, error) {
	var st GatewayStarts
	if err := readJSON(StartsPath(cfg), &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return GatewayStarts{}, err
	}
	return st, nil
}

// SaveStarts replaces StartsFile with st.
func SaveStarts(cfg *config.Config, st GatewayStarts) error {
	return writeJSON(StartsPath(cfg), st)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w; delete the file, the bot starts without it", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}
