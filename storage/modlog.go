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
	defer wrap(&err, "record a modlog message")
	if m.GuildID == "" || m.CaseNumber < 1 || m.ChannelID == "" || m.MessageID == "" {
		return fmt.Errorf("%w: a modlog message needs a guild, a case number, a channel and a message", ErrInvalid)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	// Only for a case that still exists: a post that raced an erasure must
	// not leave a row that no erasure will ever find.
	res, err := tx.ExecContext(ctx, `INSERT INTO modlog_messages (guild_id, case_number, channel_id, message_id)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM cases WHERE guild_id = ? AND number = ?)`,
		m.GuildID, m.CaseNumber, m.ChannelID, m.MessageID, m.GuildID, m.CaseNumber)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: case #%d of guild %s", ErrNotFound, m.CaseNumber, m.GuildID)
	}
	if err := rec.add(ctx, tx, tModlogMessages, `t.guild_id = ? AND t.case_number = ? AND t.message_id = ?`,
		m.GuildID, m.CaseNumber, m.MessageID); err != nil {
		return err
	}
	return rec.commit(ctx, tx)
}
