package bot

import (
	"context"
	"time"

	"github.com/modbot/bot/storage"
)

// CaseStore is what the commands need of case storage. *storage.Cases
// implements it. Errors wrap storage.ErrNotFound for a missing case and
// storage.ErrInvalid for input the store refuses.
type CaseStore interface {
	Create(ctx context.Context, n storage.NewCase) (storage.Case, error)
	Get(ctx context.Context, guildID string, number int64) (storage.Case, error)
	ListForUser(ctx context.Context, guildID, userID string, includeInactive bool, at time.Time) ([]storage.Case, error)
	ActivePoints(ctx context.Context, guildID, userID string, at time.Time) (int, error)
	RecentActive(ctx context.Context, guildID string, limit int, at time.Time) ([]storage.Case, error)
	Revoke(ctx context.Context, guildID string, number int64, byID, reason string, at time.Time) (storage.Case, error)
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
	RequeueStale(ctx context.Context, claimedBefore, at time.Time) (int, error)
}

// Stores bundles the storage the bot uses.
type Stores struct {
	Cases    CaseStore
	Settings SettingsStore
	Schedule ScheduleStore
}

// NewStores returns the stores backed by db, sealing with c.
func NewStores(db *storage.DB, c storage.Cipher) Stores {
	return Stores{Cases: storage.NewCases(db, c), Settings: storage.NewGuilds(db, c), Schedule: storage.NewSchedule(db, c)}
}
