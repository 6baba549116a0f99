package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReasonPreset is a guild's named reason: a moderator who types its name
// in a reason option gets its text, and /warn its points.
type ReasonPreset struct {
	Name      string
	Text      string
	Points    int // default points of a warning; 0: none
	CreatedAt time.Time
}

// ErrTooMany means a guild already holds as many presets as the caller
// allows.
var ErrTooMany = errors.New("too many presets")

// Presets is the repository of reason presets. A preset's name and text
// are sealed; names are compared after opening, case-insensitively, which
// a guild's few presets make cheap and which needs no blind index.
type Presets struct {
	db *DB
	c  Cipher
}

// NewPresets returns the preset repository of db, sealing with c.
func NewPresets(db *DB, c Cipher) *Presets { return &Presets{db: db, c: c} }

func adPreset(col, guildID string, nonce []byte) []byte {
	return []byte("reason_presets/" + col + "/" + guildID + "/" + hex.EncodeToString(nonce))
}

// presetRow is a stored preset with what finds its row.
type presetRow struct {
	ReasonPreset
	id int64
}

// List returns the guild's presets ordered by name, case-insensitively.
func (p *Presets) List(ctx context.Context, guildID string) (_ []ReasonPreset, err error) {
	defer wrap(&err, "list reason presets")
	tx, err := p.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := readPresets(ctx, tx, p.c, guildID)
	if err != nil {
		return nil, err
	}
	out := make([]ReasonPreset, len(rows))
	for i, r := range rows {
		out[i] = r.ReasonPreset
	}
	return out, nil
}

func readPresets(ctx context.Context, tx dbtx, c Cipher, guildID string) ([]presetRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, nonce, name, text, points, created_at FROM reason_presets WHERE guild_id = ?`, guildID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []presetRow
	for rows.Next() {
		var (
			r               presetRow
			nonce, nm, text []byte
			points          *int64
			created         int64
		)
		if err := rows.Scan(&r.id, &nonce, &nm, &text, &points, &created); err != nil {
			return nil, err
		}
		o := opener{c: c}
		r.Name = o.open(nm, adPreset("name", guildID, nonce))
		r.Text = o.open(text, adPreset("text", guildID, nonce))
		if o.err != nil {
			return nil, o.err
		}
		if points != nil {
			r.Points = int(*points)
		}
		r.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b presetRow) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

// Put stores a preset of the guild, replacing the one of the same name
// (compared case-insensitively), and reports whether it replaced one. A new
// name beyond max presets returns ErrTooMany. An audit entry names actorID.
func (p *Presets) Put(ctx context.Context, guildID string, preset ReasonPreset, max int, actorID string, at time.Time) (replaced bool, err error) {
	defer wrap(&err, "store a reason preset")
	if guildID == "" || actorID == "" || preset.Name == "" || preset.Text == "" || preset.Points < 0 {
		return false, fmt.Errorf("%w: a preset needs a guild, an actor, a name and a text", ErrInvalid)
	}
	tx, err := p.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	have, err := readPresets(ctx, tx, p.c, guildID)
	if err != nil {
		return false, err
	}
	rec := newRecorder(p.c)
	if i := slices.IndexFunc(have, func(r presetRow) bool { return strings.EqualFold(r.Name, preset.Name) }); i >= 0 {
		if err := deletePreset(ctx, tx, rec, have[i].id); err != nil {
			return false, err
		}
		replaced = true
	} else if len(have) >= max {
		return false, fmt.Errorf("%w: the guild has %d", ErrTooMany, len(have))
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return false, err
	}
	s := sealer{c: p.c}
	name := s.seal(preset.Name, adPreset("name", guildID, nonce))
	text := s.seal(preset.Text, adPreset("text", guildID, nonce))
	if s.err != nil {
		return false, s.err
	}
	var points any
	if preset.Points > 0 {
		points = int64(preset.Points)
	}
	if at.IsZero() {
		at = time.Now()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO reason_presets (guild_id, nonce, name, text, points, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, guildID, nonce, name, text, points, at.UnixMilli()); err != nil {
		return false, err
	}
	if err := rec.add(ctx, tx, tPresets, `t.nonce = ?`, nonce); err != nil {
		return false, err
	}
	action := "preset.add"
	if replaced {
		action = "preset.replace"
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: guildID, ActorID: actorID, Action: action, Details: "reason preset " + preset.Name,
	}); err != nil {
		return false, err
	}
	return replaced, rec.commit(ctx, tx)
}

// Remove deletes the guild's preset named name (case-insensitively) and
// returns it; ErrNotFound if there is none. An audit entry names actorID.
func (p *Presets) Remove(ctx context.Context, guildID, name, actorID string, at time.Time) (_ ReasonPreset, err error) {
	defer wrap(&err, "remove a reason preset")
	tx, err := p.db.beginWrite(ctx)
	if err != nil {
		return ReasonPreset{}, err
	}
	defer tx.Rollback()
	have, err := readPresets(ctx, tx, p.c, guildID)
	if err != nil {
		return ReasonPreset{}, err
	}
	i := slices.IndexFunc(have, func(r presetRow) bool { return strings.EqualFold(r.Name, name) })
	if i < 0 {
		return ReasonPreset{}, ErrNotFound
	}
	rec := newRecorder(p.c)
	if err := deletePreset(ctx, tx, rec, have[i].id); err != nil {
		return ReasonPreset{}, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: guildID, ActorID: actorID, Action: "preset.remove", Details: "reason preset " + have[i].Name,
	}); err != nil {
		return ReasonPreset{}, err
	}
	return have[i].ReasonPreset, rec.commit(ctx, tx)
}

func deletePreset(ctx context.Context, tx dbtx, rec *recorder, id int64) error {
	if _, err := rec.remove(ctx, tx, tPresets, `t.id = ?`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM reason_presets WHERE id = ?`, id)
	return err
}
