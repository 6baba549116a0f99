package bot

import (
	"errors"
	"strings"
	"testing"
)

func TestErrAttrMasksUserIDs(t *testing.T) {
	err := errors.New(`Delete "http://127.0.0.1:1/api/v10/guilds/200000000000000001/members/400000000000000002": connection refused`)
	got := errAttr(err).Value.String()
	if strings.Contains(got, "400000000000000002") {
		t.Errorf("errAttr got=%q, want the user ID masked", got)
	}
	if !strings.Contains(got, "/guilds/200000000000000001/members/{user}") {
		t.Errorf("errAttr got=%q, want the guild kept and the user masked", got)
	}
}
