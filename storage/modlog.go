package storage

import (
	"context"
	"fmt"
)

// Modlog keeps which modlog messages the bot posted about each case, so
// that erasing a member's records can delete those messages in Discord
// too. The rows hold only plain guild, channel and message IDs and a case
// number: nothing about the member.
type Modlog struct {
	db *DB
	c  Cipher
}

// NewModlog returns the store of modlog messages in db, sealing under c.
func NewModlog(db *DB, c Cipher) *Modlog { return &Modlog{db: db, c: c} }

// Record notes that m was posted in the modlog about its case. It appends
// no audit entry: a modlog post follows a case whose own entry is in the
// chain already. It returns an error wrapping ErrNotFound when the case no
// longer exists (erased since the post), and ErrInvalid for an incomplete
// m.
func (s *Modlog) Record(ctx context.Context, m ModlogMessage) (err error) {
	n, err := s.RecordBatch(ctx, []ModlogMessage{m})
	if err == nil && n == 0 {
		err = fmt.Errorf("record a modlog message: %w: case #%d of guild %s", ErrNotFound, m.CaseNumber, m.GuildID)
	}
	return err
}

// RecordBatch records ms in one write transaction, and returns how many it
// recorded: a message about a case that no longer exists is skipped. One
// commit for many posts keeps the record from costing each /warn a
// commit of its own. It returns ErrInvalid, recording nothing, when one of
// ms is incomplete.
func (s *Modlog) RecordBatch(ctx context.Context, ms []ModlogMessage) (_ int, err error) {
	defer wrap(&err, "record modlog messages")
	for _, m := range ms {
		if m.GuildID == "" || m.CaseNumber < 1 || m.ChannelID == "" || m.MessageID == "" {
			return 0, fmt.Errorf("%w: a modlog message needs a guild, a case number, a channel and a message", ErrInvalid)
		}
	}
	if len(ms) == 0 {
		return 0, nil
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	recorded := 0
	for _, m := range ms {
		// Only for a case that still exists: a post that raced an erasure
		// must not leave a row that no erasure will ever find.
		res, err := tx.ExecContext(ctx, `INSERT INTO modlog_messages (guild_id, case_number, channel_id, message_id)
			SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM cases WHERE guild_id = ? AND number = ?)
			ON CONFLICT DO NOTHING`,
			m.GuildID, m.CaseNumber, m.ChannelID, m.MessageID, m.GuildID, m.CaseNumber)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		if err := rec.add(ctx, tx, tModlogMessages, `t.guild_id = ? AND t.case_number = ? AND t.message_id = ?`,
			m.GuildID, m.CaseNumber, m.MessageID); err != nil {
			return 0, err
		}
		recorded++
	}
	return recorded, rec.commit(ctx, tx)
}
