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
	// RevokeWarnings revokes the active warnings of a member among numbers
	// in one transaction, and returns them and how many other active
	// warnings the member has.
	RevokeWarnings(ctx context.Context, guildID, userID string, numbers []int64, byID, reason string, at time.Time) ([]storage.Case, int, error)
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
// and reason presets are cached in memory: every command reads them, and
// only this process writes them (storage locks the data directory), so the
// cache stays true as long as every write goes through the returned Stores.
func NewStores(db *storage.DB, c storage.Cipher) Stores {
	return Stores{
		Cases:     storage.NewCases(db, c),
		Settings:  newSettingsCache(storage.NewGuilds(db, c)),
		Schedule:  storage.NewSchedule(db, c),
		Privacy:   storage.NewCases(db, c),
		Modlog:    storage.NewModlog(db, c),
		Presets:   newPresetsCache(storage.NewPresets(db, c)),
		Retention: storage.NewRetention(db, c),
		Audit:     storage.NewAudit(db, c),
		Stats:     storage.NewStats(db, c),
	}
}

// guildCache keeps a value per guild after its first read. Only this
// process writes what it caches (storage locks the data directory), so an
// entry stays true as long as every write drops it.
type guildCache[T any] struct {
	mu sync.Mutex
	m  map[string]T
	// gen counts the drops of each guild. A read stores what it loaded only
	// if no drop happened meanwhile, so a read that began before a write can
	// never put the old value back.
	gen map[string]uint64
}

func newGuildCache[T any]() *guildCache[T] {
	return &guildCache[T]{m: make(map[string]T), gen: make(map[string]uint64)}
}

// get returns the guild's cached value, or loads and caches it. clone
// copies what the caller may change, so the cached value never is.
func (c *guildCache[T]) get(ctx context.Context, guildID string, load func(context.Context, string) (T, error), clone func(T) T) (T, error) {
	c.mu.Lock()
	v, ok := c.m[guildID]
	gen := c.gen[guildID]
	c.mu.Unlock()
	if ok {
		return clone(v), nil
	}
	v, err := load(ctx, guildID)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen[guildID] == gen {
		c.m[guildID] = clone(v)
	}
	c.mu.Unlock()
	return v, nil
}

// drop forgets the guild's value; the next get loads it again.
func (c *guildCache[T]) drop(guildID string) {
	c.mu.Lock()
	c.gen[guildID]++
	delete(c.m, guildID)
	c.mu.Unlock()
}

// guildForgetter is a store that caches guilds' records and must forget a
// guild whose records were deleted behind it (the bot left the guild).
type guildForgetter interface {
	forgetGuild(guildID string)
}

// forgetGuild drops whatever the stores cache of the guild.
func (s Stores) forgetGuild(guildID string) {
	for _, st := range []any{s.Settings, s.Presets} {
		if f, ok := st.(guildForgetter); ok {
			f.forgetGuild(guildID)
		}
	}
}

// settingsCache keeps each guild's settings after the first read, and
// drops them on every Save.
type settingsCache struct {
	next  SettingsStore
	cache *guildCache[storage.GuildSettings]
}

func newSettingsCache(next SettingsStore) *settingsCache {
	return &settingsCache{next: next, cache: newGuildCache[storage.GuildSettings]()}
}

// Get returns a copy that the caller may change freely.
func (c *settingsCache) Get(ctx context.Context, guildID string) (storage.GuildSettings, error) {
	return c.cache.get(ctx, guildID, c.next.Get, cloneSettings)
}

// Save writes through, then drops the cached settings: the next Get reads
// exactly what storage holds (UpdatedAt included).
func (c *settingsCache) Save(ctx context.Context, s storage.GuildSettings, actorID string, at time.Time) error {
	err := c.next.Save(ctx, s, actorID, at)
	c.cache.drop(s.GuildID)
	return err
}

func (c *settingsCache) forgetGuild(guildID string) { c.cache.drop(guildID) }

func cloneSettings(s storage.GuildSettings) storage.GuildSettings {
	s.ModeratorRoleIDs = slices.Clone(s.ModeratorRoleIDs)
	s.Escalations = slices.Clone(s.Escalations)
	return s
}

// presetsCache keeps each guild's reason presets after the first read:
// every command with a reason looks its text up among them. Put and Remove
// drop the guild's entry.
type presetsCache struct {
	next  PresetStore
	cache *guildCache[[]storage.ReasonPreset]
}

func newPresetsCache(next PresetStore) *presetsCache {
	return &presetsCache{next: next, cache: newGuildCache[[]storage.ReasonPreset]()}
}

// List returns a copy that the caller may change freely.
func (c *presetsCache) List(ctx context.Context, guildID string) ([]storage.ReasonPreset, error) {
	return c.cache.get(ctx, guildID, c.next.List, slices.Clone[[]storage.ReasonPreset])
}

// Put writes through and drops the guild's cached presets.
func (c *presetsCache) Put(ctx context.Context, guildID string, p storage.ReasonPreset, max int, actorID string, at time.Time) (bool, error) {
	replaced, err := c.next.Put(ctx, guildID, p, max, actorID, at)
	c.cache.drop(guildID)
	return replaced, err
}

// Remove writes through and drops the guild's cached presets.
func (c *presetsCache) Remove(ctx context.Context, guildID, name, actorID string, at time.Time) (storage.ReasonPreset, error) {
	p, err := c.next.Remove(ctx, guildID, name, actorID, at)
	c.cache.drop(guildID)
	return p, err
}

func (c *presetsCache) forgetGuild(guildID string) { c.cache.drop(guildID) }
