package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modbot/bot/keys"
)

func TestMeta(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	m := NewMeta(db)
	k := newTestKeys(t)
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := m.Sentinel(ctx); !errors.Is(err, ErrNotFound) {
			t.Errorf("Sentinel: got=%v, want ErrNotFound", err)
		}
		if _, err := m.CreatedAt(ctx); !errors.Is(err, ErrNotFound) {
			t.Errorf("CreatedAt: got=%v, want ErrNotFound", err)
		}
	})
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SetSentinel", func(t *testing.T) {
		if err := m.SetSentinel(ctx, sentinel); err != nil {
			t.Fatal(err)
		}
		got, err := m.Sentinel(ctx)
		if err != nil || string(got) != string(sentinel) {
			t.Errorf("got=%x, %v; want %x", got, err, sentinel)
		}
		if at, err := m.CreatedAt(ctx); err != nil || at.IsZero() {
			t.Errorf("CreatedAt: got=%v, %v", at, err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		if err := m.SetSentinel(ctx, sentinel); !errors.Is(err, ErrConflict) {
			t.Errorf("got=%v, want ErrConflict", err)
		}
	})
	t.Run("HasEncryptedData", func(t *testing.T) {
		if has, err := m.HasEncryptedData(ctx); err != nil || has {
			t.Errorf("empty: got=%v, %v; want false", has, err)
		}
		mustCreateCase(t, NewCases(db, k), warning(alice, "x"))
		if has, err := m.HasEncryptedData(ctx); err != nil || !has {
			t.Errorf("with a case: got=%v, %v; want true", has, err)
		}
	})
}

func TestCheckKeys(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	if err := CheckKeys(ctx, db, k, "/data/keys"); !errors.Is(err, ErrNoSentinel) {
		t.Fatalf("no sentinel: got=%v, want ErrNoSentinel", err)
	}
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewMeta(db).SetSentinel(ctx, sentinel); err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if err := CheckKeys(ctx, db, k, "/data/keys"); err != nil {
			t.Errorf("got=%v, want nil", err)
		}
	})
	t.Run("ErrWrongKeys", func(t *testing.T) {
		other, err := keys.Create(keys.Options{Dir: filepath.Join(t.TempDir(), "other")})
		if err != nil {
			t.Fatal(err)
		}
		err = CheckKeys(ctx, db, other, "/data/keys")
		if !errors.Is(err, keys.ErrWrongKeys) || !strings.Contains(err.Error(), "the keys in /data/keys do not belong to this database") {
			t.Errorf("got=%v, want keys.ErrWrongKeys naming the directory", err)
		}
	})
}
