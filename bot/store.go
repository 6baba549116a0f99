package bot

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/modbot/bot/storage"
)

// CaseStore is what the commands need of case storage. *storage.Cases
// implements it. Errors wrap storage.ErrNotFound for a missing case and
// storage.ErrInvalid for input the store refuses.
type CaseStore interface {
	Create(ctx context.Context, n storage.NewCase) (storage.Case, error)
	// CreateWithPoints also returns the target's active points just
	// before the new case, read in the same transaction.
	CreateWithPoints(ctx context.Context, n storage.NewCase) (storage.Case, int, error)
	// CreateManual records the case of an action taken outside the bot,
	// read from audit-log entry entryID, and false if that entry was
	// recorded before.
	CreateManual(ctx context.Context, n storage.NewCase, entryID string) (storage.Case, bool, error)
	Get(ctx context.Context, guildID string, number int64) (storage.Case, error)
	ListForUser(ctx context.Context, guildID, userID string, includeInactive bool, at time.Time) ([]storage.Case, error)
	ActivePoints(ctx context.Context, guildID, userID string, at time.Time) (int, error)
	RecentActive(ctx context.Context, guildID string, limit int, at time.Time) ([]storage.Case, error)
	// Recent returns the guild's newest cases, whatever their state.
	Recent(ctx context.Context, guildID string, limit int) ([]storage.Case, error)
	Revoke(ctx context.Context, guildID string, number int64, byID, reason string, at time.Time) (storage.Case, error)
	// RevokeWarnings revokes every active warning of a member in one
	// transaction and returns them.
	RevokeWarnings(ctx context.Context, guildID, userID, byID, reason string, at time.Time) ([]storage.Case, error)
	UpdateReason(ctx context.Context, guildID string, number int64, byID, reason string, at time.Time) (storage.Case, error)
	History(ctx context.Context, guildID string, number int64) ([]storage.ReasonChange, error)
}

// SettingsStore is what the commands need of guild settings.
// *storage.Guilds implements it; Get returns defaults for a new guild.
type SettingsStore interface {
	Get(ctx context.Context, guildID string) (storage.GuildSettings, error)
	Save(ctx context.Context, s storage.GuildSettings, actorID string, at time.Time) error
}

// ScheduleStore is what the bot needs of scheduled actions (the end of a
// temporary ban). *storage.Schedule implements it. Complete and Fail return
// an error wrapping storage.ErrNotFound for an action that is not running.
type ScheduleStore interface {
	Add(ctx context.Context, n storage.NewScheduledAction, at time.Time) (storage.ScheduledAction, error)
	ClaimDue(ctx context.Context, now time.Time, limit int) ([]storage.ScheduledAction, error)
	Complete(ctx context.Context, id int64, at time.Time) error
	Fail(ctx context.Context, id int64, reason string, retryAt, at time.Time) error
	Cancel(ctx context.Context, guildID, userID string, kind storage.ActionKind, at time.Time) (int, error)
	CancelCreatedBefore(ctx context.Context, guildID, userID string, kind storage.ActionKind, before, at time.Time) (int, error)
	RequeueStale(ctx context.Context, claimedBefore, at time.Time) (int, error)
}

// PrivacyStore is what /privacy needs: a member's records in a guild, and
// their erasure. *storage.Cases implements it.
type PrivacyStore interface {
	MemberRecords(ctx context.Context, guildID, userID string) (storage.MemberRecords, error)
	PreviewErase(ctx context.Context, guildID, userID string) (storage.ErasePreview, error)
	EraseMember(ctx context.Context, guildID, userID, actorID string, at time.Time, keep func([]storage.Erasure) error) (storage.EraseResult, error)
}

// ModlogStore keeps which modlog messages were posted about which case, so
// that an erasure can delete them. *storage.Modlog implements it.
type ModlogStore interface {
	RecordBatch(ctx context.Context, ms []storage.ModlogMessage) (int, error)
}

// AuditLog is the audit log, for actions that leave no other record in the
// database (a purge). *storage.Audit implements it.
type AuditLog interface {
	Append(ctx context.Context, e storage.AuditEntry) (storage.AuditEntry, error)
}

// StatsStore answers /modstats. *storage.Stats implements it.
type StatsStore interface {
	Overview(ctx context.Context, guildID string, since, at time.Time, topMembers, topMods int) (storage.Overview, error)
}

// Stores bundles the storage the bot uses.
type Stores struct {
	Cases    CaseStore
	Settings SettingsStore
	Schedule ScheduleStore
	Privacy  PrivacyStore
	Modlog   ModlogStore
	// Presets holds the guilds' reason presets; nil: none.
	Presets PresetStore
	// Retention deletes what is kept no longer; nil turns retention off.
	Retention RetentionStore
	// Audit records purges; nil records none.
	Audit AuditLog
	// Stats answers /modstats.
	Stats StatsStore
}

// NewStores returns the stores backed by db, sealing with c. Guild settings
// are cached in memory: every command reads them, and only this process
// writes them (storage locks the data directory), so the cache stays true
// as long as every write goes through the returned Stores.
func NewStores(db *storage.DB, c storage.Cipher) Stores {
	return Stores{
		Cases:     storage.NewCases(db, c),
		Settings:  newSettingsCache(storage.NewGuilds(db, c)),
		Schedule:  storage.NewSchedule(db, c),
		Privacy:   storage.NewCases(db, c),
		Modlog:    storage.NewModlog(db, c),
		Presets:   storage.NewPresets(db, c),
		Retention: storage.NewRetention(db, c),
		Audit:     storage.NewAudit(db, c),
		Stats:     storage.NewStats(db, c),
	}
}

// settingsCache keeps each guild's settings after the first read, and
// drops them on every Save.
type settingsCache struct {
	next SettingsStore
	mu   sync.Mutex
	m    map[string]storage.GuildSettings
	// gen counts the saves of each guild. A Get stores what it read only if
	// no save happened meanwhile, so a read that began before a save can
	// never put the old settings back into the cache.
	gen map[string]uint64
}

func newSettingsCache(next SettingsStore) *settingsCache {
	return &settingsCache{next: next, m: make(map[string]storage.GuildSettings), gen: make(map[string]uint64)}
}

// Get returns a copy that the caller may change freely.
func (c *settingsCache) Get(ctx context.Context, guildID string) (storage.GuildSettings, error) {
	c.mu.Lock()
	s, ok := c.m[guildID]
	gen := c.gen[guildID]
	c.mu.Unlock()
	if ok {
		return cloneSettings(s), nil
	}
	s, err := c.next.Get(ctx, guildID)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	if c.gen[guildID] == gen {
		c.m[guildID] = cloneSettings(s)
	}
	c.mu.Unlock()
	return s, nil
}

// Save writes through, then drops the cached settings: the next Get reads
// exactly what storage holds (UpdatedAt included).
func (c *settingsCache) Save(ctx context.Context, s storage.GuildSettings, actorID string, at time.Time) error {
	err := c.next.Save(ctx, s, actorID, at)
	c.mu.Lock()
	c.gen[s.GuildID]++
	delete(c.m, s.GuildID)
	c.mu.Unlock()
	return err
}

func cloneSettings(s storage.GuildSettings) storage.GuildSettings {
	s.ModeratorRoleIDs = slices.Clone(s.ModeratorRoleIDs)
	s.Escalations = slices.Clone(s.Escalations)
	return s
}
