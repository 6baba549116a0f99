package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// EscalationAction is what an escalation rule does.
type EscalationAction string

// The escalation actions.
const (
	EscalateTimeout EscalationAction = "timeout"
	EscalateKick    EscalationAction = "kick"
	EscalateBan     EscalationAction = "ban"
)

// EscalationRule fires when a member's active points reach Points.
type EscalationRule struct {
	Points   int
	Action   EscalationAction
	Duration time.Duration // timeout length, or temporary ban length (0: permanent); 0 for kick
}

// GuildSettings is a guild's configuration. IDs of channels and roles are
// Discord snowflakes as strings; none of it is personal, so none is sealed.
type GuildSettings struct {
	GuildID            string
	ModlogChannelID    string // "": no modlog
	DMEnabled          bool   // tell members by DM about actions on them
	WarningExpiry      time.Duration
	ShowModeratorNames bool // name the moderator in DMs to the member
	ModeratorRoleIDs   []string
	Escalations        []EscalationRule // by Points, ascending
	// IgnoreManualActions turns off recording bans, kicks and timeouts
	// taken outside the bot as cases; the default records them.
	IgnoreManualActions bool
	UpdatedAt           time.Time // zero until first saved
}

// DefaultGuildSettings is what a guild has before anyone saves settings:
// DMs on, warnings that never expire, moderators anonymous to members, no
// modlog, no extra moderator roles, no escalation.
func DefaultGuildSettings(guildID string) GuildSettings {
	return GuildSettings{GuildID: guildID, DMEnabled: true}
}

// Escalation returns the rule to apply when a member's active points go from
// before to after: the highest rule crossed, if any.
func (s GuildSettings) Escalation(before, after int) (EscalationRule, bool) {
	var found EscalationRule
	ok := false
	for _, r := range s.Escalations {
		if r.Points > before && r.Points <= after && (!ok || r.Points > found.Points) {
			found, ok = r, true
		}
	}
	return found, ok
}

// Guilds is the repository of guild settings.
type Guilds struct {
	db *DB
	c  Cipher
}

// NewGuilds returns the guild settings repository of db. c seals the audit
// entries that saving appends.
func NewGuilds(db *DB, c Cipher) *Guilds { return &Guilds{db: db, c: c} }

// Get returns a guild's settings: DefaultGuildSettings if none were saved,
// so callers need no special case for a new guild.
func (g *Guilds) Get(ctx context.Context, guildID string) (_ GuildSettings, err error) {
	defer wrap(&err, "get guild settings")
	tx, err := g.db.beginRead(ctx)
	if err != nil {
		return GuildSettings{}, err
	}
	defer tx.Rollback()
	s, err := getGuild(ctx, tx, guildID)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultGuildSettings(guildID), nil
	}
	return s, err
}

// Save replaces a guild's settings and appends an audit entry naming
// actorID. It returns ErrInvalid for a rule with no points, an unknown
// action, two rules at the same points, or a negative duration.
func (g *Guilds) Save(ctx context.Context, s GuildSettings, actorID string, at time.Time) (err error) {
	defer wrap(&err, "save guild settings")
	if err := s.validate(); err != nil {
		return err
	}
	tx, err := g.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rec := newRecorder(g.c)
	if err := putGuild(ctx, tx, rec, s, at); err != nil {
		return err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: s.GuildID, ActorID: actorID, Action: "settings.update",
	}); err != nil {
		return err
	}
	return rec.commit(ctx, tx)
}

func (s GuildSettings) validate() error {
	if s.GuildID == "" {
		return fmt.Errorf("%w: settings need a guild", ErrInvalid)
	}
	if s.WarningExpiry < 0 {
		return fmt.Errorf("%w: warning expiry must not be negative", ErrInvalid)
	}
	seen := map[int]bool{}
	for _, r := range s.Escalations {
		switch {
		case r.Points <= 0:
			return fmt.Errorf("%w: an escalation rule needs a positive number of points", ErrInvalid)
		case seen[r.Points]:
			return fmt.Errorf("%w: two escalation rules at %d points", ErrInvalid, r.Points)
		case r.Action != EscalateTimeout && r.Action != EscalateKick && r.Action != EscalateBan:
			return fmt.Errorf("%w: unknown escalation action %q", ErrInvalid, r.Action)
		case r.Duration < 0:
			return fmt.Errorf("%w: escalation duration must not be negative", ErrInvalid)
		case r.Action == EscalateTimeout && r.Duration == 0:
			return fmt.Errorf("%w: a timeout rule needs a duration", ErrInvalid)
		}
		seen[r.Points] = true
	}
	return nil
}

// getGuild returns sql.ErrNoRows if the guild has no saved settings.
func getGuild(ctx context.Context, tx dbtx, guildID string) (GuildSettings, error) {
	s := GuildSettings{GuildID: guildID}
	var expiryMs, updatedAt int64
	err := tx.QueryRowContext(ctx, `SELECT modlog_channel_id, dm_enabled, warning_expiry_ms,
		show_moderator_names, updated_at FROM guild_settings WHERE guild_id = ?`, guildID).
		Scan(&s.ModlogChannelID, &s.DMEnabled, &expiryMs, &s.ShowModeratorNames, &updatedAt)
	if err != nil {
		return GuildSettings{}, err
	}
	s.WarningExpiry = time.Duration(expiryMs) * time.Millisecond
	s.UpdatedAt = time.UnixMilli(updatedAt).UTC()
	if s.ModeratorRoleIDs, err = listModeratorRoles(ctx, tx, guildID); err != nil {
		return GuildSettings{}, err
	}
	if s.Escalations, err = listEscalations(ctx, tx, guildID); err != nil {
		return GuildSettings{}, err
	}
	if s.IgnoreManualActions, err = manualActionsOff(ctx, tx, guildID); err != nil {
		return GuildSettings{}, err
	}
	return s, nil
}

func listModeratorRoles(ctx context.Context, tx dbtx, guildID string) ([]string, error) {
	return queryColumn[string](ctx, tx, `SELECT role_id FROM guild_moderator_roles WHERE guild_id = ? ORDER BY role_id`, guildID)
}

func listEscalations(ctx context.Context, tx dbtx, guildID string) ([]EscalationRule, error) {
	rows, err := tx.QueryContext(ctx, `SELECT points, action, duration_ms FROM escalation_rules
		WHERE guild_id = ? ORDER BY points`, guildID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rules []EscalationRule
	for rows.Next() {
		var (
			r      EscalationRule
			action string
			ms     int64
		)
		if err := rows.Scan(&r.Points, &action, &ms); err != nil {
			return nil, err
		}
		r.Action, r.Duration = EscalationAction(action), time.Duration(ms)*time.Millisecond
		rules = append(rules, r)
	}
	return rules, rows.Err()
}

// putGuild replaces the guild's row, roles and rules, and their seals.
func putGuild(ctx context.Context, tx dbtx, rec *recorder, s GuildSettings, at time.Time) error {
	for _, t := range []int{tSettings, tModRoles, tEscalations} {
		if _, err := rec.remove(ctx, tx, t, `t.guild_id = ?`, s.GuildID); err != nil {
			return err
		}
	}
	if err := writeGuild(ctx, tx, s, at); err != nil {
		return err
	}
	for _, t := range []int{tSettings, tModRoles, tEscalations} {
		if err := rec.add(ctx, tx, t, `t.guild_id = ?`, s.GuildID); err != nil {
			return err
		}
	}
	return putManualActions(ctx, tx, rec, s, at)
}

func writeGuild(ctx context.Context, tx dbtx, s GuildSettings, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO guild_settings (guild_id, modlog_channel_id, dm_enabled,
		warning_expiry_ms, show_moderator_names, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (guild_id) DO UPDATE SET modlog_channel_id = excluded.modlog_channel_id,
		dm_enabled = excluded.dm_enabled, warning_expiry_ms = excluded.warning_expiry_ms,
		show_moderator_names = excluded.show_moderator_names, updated_at = excluded.updated_at`,
		s.GuildID, s.ModlogChannelID, s.DMEnabled, s.WarningExpiry.Milliseconds(), s.ShowModeratorNames,
		at.UnixMilli()); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM guild_moderator_roles WHERE guild_id = ?`,
		`DELETE FROM escalation_rules WHERE guild_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, s.GuildID); err != nil {
			return err
		}
	}
	roles := slices.Clone(s.ModeratorRoleIDs)
	slices.Sort(roles)
	for _, id := range slices.Compact(roles) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO guild_moderator_roles (guild_id, role_id) VALUES (?, ?)`,
			s.GuildID, id); err != nil {
			return err
		}
	}
	for _, r := range s.Escalations {
		if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_rules (guild_id, points, action, duration_ms)
			VALUES (?, ?, ?, ?)`, s.GuildID, r.Points, string(r.Action), r.Duration.Milliseconds()); err != nil {
			return err
		}
	}
	return nil
}
