package storage

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Stats answers /modstats: a guild's moderation over a period, read from
// the indexes so that a guild with a hundred thousand cases costs a few
// milliseconds. Only the handful of cases that name the members and
// moderators shown are decrypted.
type Stats struct {
	db *DB
	c  Cipher
}

// NewStats returns the statistics of db, decrypting with c.
func NewStats(db *DB, c Cipher) *Stats { return &Stats{db: db, c: c} }

// The overview's queries. Each reads one index that holds every column it
// needs (the row ID is in every index entry), so neither touches the table.
const (
	// sqlOverviewByKind counts a period's cases by kind and moderator,
	// on cases_by_kind (migration modstats), in the index's order.
	sqlOverviewByKind = `SELECT kind, moderator_index, count(*), max(id) FROM cases
		WHERE guild_id = ? AND created_at >= ? GROUP BY kind, moderator_index`
	// sqlOverviewPoints ranks members by active points, on cases_by_target.
	sqlOverviewPoints = `SELECT sum(c.points) AS p, max(c.id) FROM cases c
		WHERE c.guild_id = ? AND c.points > 0 AND ` + activeCase + `
		GROUP BY c.target_index ORDER BY p DESC, max(c.id) DESC LIMIT ?`
)

// KindCount is how many cases of a kind a period holds.
type KindCount struct {
	Kind  CaseKind
	Count int
}

// MemberPoints is a member with active points. UserID and Name come from
// their most recent such case.
type MemberPoints struct {
	UserID string
	Name   string
	Points int
}

// ModeratorCount is a moderator's cases over a period, by kind.
type ModeratorCount struct {
	ModeratorID string
	Name        string
	Total       int
	ByKind      map[CaseKind]int
}

// Overview is a guild's moderation over a period.
type Overview struct {
	// Kinds holds every kind with at least one case, most frequent first.
	Kinds []KindCount
	// Total is the number of cases in the period.
	Total int
	// TopPoints are the members with the most active points at the time
	// asked, however old their cases; most points first.
	TopPoints []MemberPoints
	// Moderators are those who made the most cases in the period, most
	// first.
	Moderators []ModeratorCount
}

// Overview sums a guild's cases made at or after since, by kind and by
// moderator (the topMods busiest), and finds the topMembers members with
// the most points active at at.
//
// Members and moderators are grouped by their blind index: during a
// rotation of the index keys a member's cases may carry two indexes, and
// then count as two rows until the rotation ends.
func (s *Stats) Overview(ctx context.Context, guildID string, since, at time.Time, topMembers, topMods int) (_ Overview, err error) {
	defer wrap(&err, "moderation overview")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return Overview{}, err
	}
	defer tx.Rollback()

	var ov Overview
	// One walk of cases_by_kind covers both the kinds and the moderators.
	rows, err := tx.QueryContext(ctx, sqlOverviewByKind, guildID, since.UnixMilli())
	if err != nil {
		return Overview{}, err
	}
	kinds := map[CaseKind]int{}
	type mod struct {
		ModeratorCount
		lastID int64
	}
	mods := map[string]*mod{}
	for rows.Next() {
		var (
			kind   string
			idx    []byte
			n      int
			lastID int64
		)
		if err := rows.Scan(&kind, &idx, &n, &lastID); err != nil {
			rows.Close()
			return Overview{}, err
		}
		k := CaseKind(kind)
		kinds[k] += n
		ov.Total += n
		m := mods[string(idx)]
		if m == nil {
			m = &mod{ModeratorCount: ModeratorCount{ByKind: map[CaseKind]int{}}}
			mods[string(idx)] = m
		}
		m.Total += n
		m.ByKind[k] += n
		m.lastID = max(m.lastID, lastID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Overview{}, err
	}
	for k, n := range kinds {
		ov.Kinds = append(ov.Kinds, KindCount{Kind: k, Count: n})
	}
	sort.Slice(ov.Kinds, func(i, j int) bool {
		if ov.Kinds[i].Count != ov.Kinds[j].Count {
			return ov.Kinds[i].Count > ov.Kinds[j].Count
		}
		return ov.Kinds[i].Kind < ov.Kinds[j].Kind
	})
	ranked := make([]*mod, 0, len(mods))
	for _, m := range mods {
		ranked = append(ranked, m)
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].Total != ranked[j].Total {
			return ranked[i].Total > ranked[j].Total
		}
		return ranked[i].lastID > ranked[j].lastID
	})
	for _, m := range ranked[:min(len(ranked), topMods)] {
		c, err := caseByID(ctx, tx, s.c, m.lastID)
		if err != nil {
			return Overview{}, err
		}
		m.ModeratorID, m.Name = c.ModeratorID, c.ModeratorName
		ov.Moderators = append(ov.Moderators, m.ModeratorCount)
	}

	// cases_by_target holds everything the sum needs, so this reads the
	// guild's part of that index and never the table.
	rows, err = tx.QueryContext(ctx, sqlOverviewPoints, guildID, at.UnixMilli(), topMembers)
	if err != nil {
		return Overview{}, err
	}
	type top struct {
		points int
		lastID int64
	}
	var tops []top
	for rows.Next() {
		var t top
		if err := rows.Scan(&t.points, &t.lastID); err != nil {
			rows.Close()
			return Overview{}, err
		}
		tops = append(tops, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Overview{}, err
	}
	for _, t := range tops {
		c, err := caseByID(ctx, tx, s.c, t.lastID)
		if err != nil {
			return Overview{}, err
		}
		ov.TopPoints = append(ov.TopPoints, MemberPoints{UserID: c.TargetID, Name: c.TargetName, Points: t.points})
	}
	return ov, nil
}

// caseByID reads and decrypts one case by its row ID.
func caseByID(ctx context.Context, tx dbtx, c Cipher, id int64) (Case, error) {
	cs, err := queryCases(ctx, tx, c, `c.id = ?`, id)
	if err != nil {
		return Case{}, err
	}
	if len(cs) != 1 {
		return Case{}, fmt.Errorf("%w: case row %d", ErrNotFound, id)
	}
	return cs[0], nil
}
