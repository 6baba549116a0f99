package keys

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// TestRetire: a retired key opens nothing, with an error naming it, and
// stays retired on disk; the primary key cannot be retired.
func TestRetire(t *testing.T) {
	opts := testOptions(t, newMasterKey(t))
	k := mustCreate(t, opts)
	oldID := k.PrimaryKeyID(PurposeAEAD)
	ad := []byte("cases/reason/1/1")
	old, err := k.Seal([]byte("sealed under the first key"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	newID := k.PrimaryKeyID(PurposeAEAD)
	fresh, err := k.Seal([]byte("sealed under the second key"), ad)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrPrimaryKey", func(t *testing.T) {
		checkErr(t, k.Retire(newID), ErrPrimaryKey, strconv.Itoa(int(newID)), "bot keys rotate")
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		checkErr(t, k.Retire(12345), ErrUnknownKey, "12345", "bot keys status")
	})
	t.Run("ErrDestroyEnabled", func(t *testing.T) {
		checkErr(t, k.Destroy(oldID), ErrKeyEnabled, "bot keys retire")
	})

	if err := k.Retire(oldID); err != nil {
		t.Fatalf("Retire: %v", err)
	}
	if err := k.Retire(oldID); err != nil {
		t.Errorf("Retire twice: %v, want nil", err)
	}
	for name, kr := range map[string]*Keyring{"InMemory": k, "Reloaded": mustLoad(t, opts)} {
		t.Run(name, func(t *testing.T) {
			pt, err := kr.Open(old, ad)
			if pt != nil {
				t.Fatalf("a retired key opened a value: %q", pt)
			}
			checkErr(t, err, ErrDecrypt, "key "+strconv.Itoa(int(oldID)), "retired")
			if pt, err := kr.Open(fresh, ad); err != nil || string(pt) != "sealed under the second key" {
				t.Errorf("primary: got=%q, %v", pt, err)
			}
			st := kr.Status().AEAD.Keys
			if len(st) != 2 || st[0].Status != "disabled" || st[0].RetiredAt.IsZero() {
				t.Errorf("status got=%+v, want the first key disabled with its retirement time", st)
			}
		})
	}

	if err := k.Destroy(oldID); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	kr := mustLoad(t, opts)
	_, err = kr.Open(old, ad)
	checkErr(t, err, ErrDecrypt, "key "+strconv.Itoa(int(oldID)), "destroyed")
	st := kr.Status().AEAD.Keys
	if len(st) != 2 || st[1].ID != oldID || st[1].Status != "destroyed" || st[1].DestroyedAt.IsZero() {
		t.Errorf("status got=%+v, want the destroyed key listed last", st)
	}
	if _, err := kr.KeyPurpose(oldID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("KeyPurpose of a destroyed key: %v, want ErrUnknownKey", err)
	}
}

// TestRotateIndex: after RotateIndex new indexes differ, lookups still
// match indexes under the old key until it is retired, and the sentinel
// follows through ResealSentinel.
func TestRotateIndex(t *testing.T) {
	opts := testOptions(t, nil)
	k := mustCreate(t, opts)
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	user := []byte("400000000000000002")
	oldIdx := k.BlindIndex("user", user)
	oldID := k.PrimaryKeyID(PurposePRF)
	if err := k.RotateIndex(); err != nil {
		t.Fatal(err)
	}
	newID := k.PrimaryKeyID(PurposePRF)
	newIdx := k.BlindIndex("user", user)
	if newID == oldID || bytes.Equal(newIdx, oldIdx) {
		t.Fatal("RotateIndex did not change the primary PRF key")
	}
	all := k.BlindIndexes("user", user)
	if len(all) != 2 || !bytes.Equal(all[0], newIdx) || !bytes.Equal(all[1], oldIdx) {
		t.Fatalf("BlindIndexes got=%x, want the new index then the old", all)
	}
	if id, ok := k.IndexedBy("user", user, oldIdx); !ok || id != oldID {
		t.Errorf("IndexedBy(old) got=%d, %v; want %d", id, ok, oldID)
	}
	if p, err := k.KeyPurpose(oldID); err != nil || p != PurposePRF {
		t.Errorf("KeyPurpose got=%q, %v", p, err)
	}

	// The sentinel sealed before still checks; resealing moves it.
	if _, prfID, err := k.SentinelKeys(sentinel); err != nil || prfID != oldID {
		t.Fatalf("SentinelKeys before reseal: %d, %v; want %d", prfID, err, oldID)
	}
	fresh, changed, err := k.ResealSentinel(sentinel)
	if err != nil || !changed {
		t.Fatalf("ResealSentinel: %v, changed=%v", err, changed)
	}
	if _, prfID, err := k.SentinelKeys(fresh); err != nil || prfID != newID {
		t.Errorf("SentinelKeys after reseal: %d, %v; want %d", prfID, err, newID)
	}
	if _, changed, err := k.ResealSentinel(fresh); err != nil || changed {
		t.Errorf("second reseal: changed=%v, %v; want nothing to do", changed, err)
	}

	checkErr(t, k.Retire(newID), ErrPrimaryKey, "--index")
	if err := k.Retire(oldID); err != nil {
		t.Fatal(err)
	}
	kr := mustLoad(t, opts)
	if all := kr.BlindIndexes("user", user); len(all) != 1 || !bytes.Equal(all[0], newIdx) {
		t.Errorf("after retiring: BlindIndexes got=%x, want only the new index", all)
	}
	if _, ok := kr.IndexedBy("user", user, oldIdx); ok {
		t.Error("an index under a retired key still matches")
	}
	checkErr(t, kr.CheckSentinel(sentinel), ErrWrongKeys, "retired")
	if err := kr.CheckSentinel(fresh); err != nil {
		t.Errorf("resealed sentinel: %v", err)
	}
}
