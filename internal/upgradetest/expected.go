// Package upgradetest holds installations written by earlier versions of
// the bot, for the test that the current binary opens them (cli's
// TestUpgrade), and the generator of the one written at schema version 1.
//
// A data set is a directory under testdata: config.toml and data/ as the
// version's 'bot init' left them (database and keysets), and expected.json,
// the plaintext of every record in it (Expected). Its keys are test keys,
// published on purpose; see testdata/v1/README.md.
package upgradetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ExpectedFile is the name of a data set's plaintexts.
const ExpectedFile = "expected.json"

// Expected is the plaintext of every record of a data set, as the version
// that wrote it showed it.
type Expected struct {
	// SchemaVersion is the schema version of the data set's database.
	SchemaVersion int64 `json:"schema_version"`
	// Writer names the code whose writes the data set reproduces.
	Writer string `json:"writer"`
	// CreatedAt is the installation's creation time (meta created_at).
	CreatedAt time.Time `json:"created_at"`
	// AEADKeys is the number of keys in the AEAD keyset; a rotation adds
	// one, and values sealed before it stay under the older key.
	AEADKeys int `json:"aead_keys"`
	// Guilds are the guilds of the data set, with their settings.
	Guilds []Guild `json:"guilds"`
	// Cases are every stored case, by guild and number.
	Cases []Case `json:"cases"`
	// Erased are the case numbers removed with a member's data: no case
	// has them, and no new case may take them.
	Erased []CaseRef `json:"erased_cases"`
	// ErasedMembers are members whose data was erased: no case or
	// scheduled action is aimed at them any more.
	ErasedMembers []string `json:"erased_members"`
	// Scheduled are the scheduled actions, by ID.
	Scheduled []Action `json:"scheduled_actions"`
	// Audit is the audit log, by seq.
	Audit []AuditEntry `json:"audit_log"`
	// Points are members' active warning points at given times.
	Points []Points `json:"active_points"`
}

// Guild is a guild's settings; Saved is false for a guild that never
// saved any, which reads as the defaults.
type Guild struct {
	GuildID            string     `json:"guild_id"`
	Saved              bool       `json:"saved"`
	ModlogChannelID    string     `json:"modlog_channel_id"`
	DMEnabled          bool       `json:"dm_enabled"`
	WarningExpiryMS    int64      `json:"warning_expiry_ms"`
	ShowModeratorNames bool       `json:"show_moderator_names"`
	ModeratorRoleIDs   []string   `json:"moderator_role_ids"`
	Escalations        []Rule     `json:"escalations"`
	UpdatedAt          *time.Time `json:"updated_at"`
}

// Rule is an escalation rule.
type Rule struct {
	Points     int    `json:"points"`
	Action     string `json:"action"`
	DurationMS int64  `json:"duration_ms"`
}

// Case is a moderation case with its reason history.
type Case struct {
	GuildID       string         `json:"guild_id"`
	Number        int64          `json:"number"`
	Kind          string         `json:"kind"`
	TargetID      string         `json:"target_id"`
	TargetName    string         `json:"target_name"`
	ModeratorID   string         `json:"moderator_id"`
	ModeratorName string         `json:"moderator_name"`
	Reason        string         `json:"reason"`
	Points        int            `json:"points"`
	DurationMS    int64          `json:"duration_ms"`
	CreatedAt     time.Time      `json:"created_at"`
	ExpiresAt     *time.Time     `json:"expires_at"`
	Revoked       *Revocation    `json:"revoked"`
	LinkedCase    int64          `json:"linked_case"`
	History       []ReasonChange `json:"history"`
}

// Revocation is who revoked a case, when and why.
type Revocation struct {
	At     time.Time `json:"at"`
	ByID   string    `json:"by_id"`
	Reason string    `json:"reason"`
}

// ReasonChange is an earlier reason of a case.
type ReasonChange struct {
	Revision    int64     `json:"revision"`
	OldReason   string    `json:"old_reason"`
	ChangedByID string    `json:"changed_by_id"`
	ChangedAt   time.Time `json:"changed_at"`
}

// CaseRef names a case number of a guild.
type CaseRef struct {
	GuildID string `json:"guild_id"`
	Number  int64  `json:"number"`
}

// Action is a scheduled action.
type Action struct {
	ID         int64     `json:"id"`
	GuildID    string    `json:"guild_id"`
	Kind       string    `json:"kind"`
	TargetID   string    `json:"target_id"`
	DueAt      time.Time `json:"due_at"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	CaseNumber int64     `json:"case_number"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// AuditEntry is an entry of the audit log.
type AuditEntry struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	GuildID string    `json:"guild_id"`
	ActorID string    `json:"actor_id"`
	Action  string    `json:"action"`
	Details string    `json:"details"`
}

// Points is a member's sum of active warning points in a guild at a time.
type Points struct {
	GuildID string    `json:"guild_id"`
	UserID  string    `json:"user_id"`
	At      time.Time `json:"at"`
	Points  int       `json:"points"`
}

// Load reads the expected.json of the data set in dir.
func Load(dir string) (*Expected, error) {
	b, err := os.ReadFile(filepath.Join(dir, ExpectedFile))
	if err != nil {
		return nil, err
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ExpectedFile), err)
	}
	return &e, nil
}

// encode is expected.json's content: indented, ending in a newline, so
// that a regenerated file diffs line by line.
func (e *Expected) encode() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
