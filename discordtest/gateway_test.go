package discordtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/disgoorg/disgo/gateway"
)

// countOps counts the inbound gateway frames with the opcode.
func countOps(srv *Server, op int) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == op {
			n++
		}
	}
	return n
}

// waitGateway polls the gateway log until cond holds.
func waitGateway(t *testing.T, srv *Server, what string, cond func([]GatewayMessage) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(srv.GatewayMessages()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testWrongToken(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})
	token := base64.RawStdEncoding.EncodeToString([]byte(srv.ApplicationID().String())) + ".wrong.token"
	client := newBotToken(t, srv, token, nil, false)
	if err := client.OpenGateway(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitGateway(t, srv, "close 4004", func(ms []GatewayMessage) bool {
		for _, m := range ms {
			if !m.Inbound && m.Op == -1 && string(m.D) == `{"close":4004}` {
				return true
			}
		}
		return false
	})
	// 4004 is final: disgo must not try again.
	time.Sleep(200 * time.Millisecond)
	if n := countOps(srv, opIdentify); n != 1 {
		t.Fatalf("IDENTIFY count got=%d, want 1", n)
	}
}

// TestGatewayDisruptions has a real disgo client survive a dropped
// connection, RECONNECT and INVALID_SESSION, and stop at close code 4004. disgo v0.18.15's reconnect path
// has data races of its own (see race.go) that no ordering can hide, so under
// -race these subtests run in a child `go test` without -race; the fake's
// side of the same protocol is covered under -race by TestGatewayProtocol.
func TestGatewayDisruptions(t *testing.T) {
	if raceEnabled {
		runWithoutRace(t)
		return
	}
	t.Run("WrongToken", testWrongToken)
	t.Run("DropResumes", testDropGatewayResumes)
	t.Run("ReconnectReplays", testReconnectReplays)
	t.Run("InvalidSessionReidentifies", testInvalidSessionReidentifies)
	t.Run("InvalidSessionResumable", testInvalidSessionResumable)
}

// runWithoutRace runs the current top-level test in a child go test built
// without the race detector.
func runWithoutRace(t *testing.T) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run the test without -race")
	}
	cmd := exec.Command(goBin, "test", "-race=false", "-count=1", "-run", "^"+t.Name()+"$", ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child go test without -race: %v\n%s", err, out)
	}
}

func testDropGatewayResumes(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	newBot(t, srv, pingMux())
	ctx := ctxT(t)
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	srv.DropGateway()
	waitGateway(t, srv, "RESUME", func([]GatewayMessage) bool { return countOps(srv, opResume) == 1 })
	r, err := srv.InvokeSlash(ctx, g, mod, "ping", nil)
	if err != nil || r.Content != "pong" {
		t.Fatalf("after resume got=%+v %v", r, err)
	}
	if n := countOps(srv, opIdentify); n != 1 {
		t.Errorf("IDENTIFY count got=%d, want 1 (resumed, not re-identified)", n)
	}
	expectNoViolations(t, srv)
}

func testReconnectReplays(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	newBot(t, srv, pingMux())
	ctx := ctxT(t)
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	srv.SendReconnect()
	r, err := srv.InvokeSlash(ctx, g, mod, "ping", nil)
	if err != nil || r.Content != "pong" {
		t.Fatalf("got=%+v %v", r, err)
	}
	waitGateway(t, srv, "RESUME", func([]GatewayMessage) bool { return countOps(srv, opResume) == 1 })
	expectNoViolations(t, srv)
}

func testInvalidSessionReidentifies(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	newBot(t, srv, pingMux())
	ctx := ctxT(t)
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	srv.InvalidateSession(false)
	waitGateway(t, srv, "second IDENTIFY", func([]GatewayMessage) bool { return countOps(srv, opIdentify) == 2 })
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := srv.InvokeSlash(ctx, g, mod, "ping", nil)
	if err != nil || r.Content != "pong" {
		t.Fatalf("after re-identify got=%+v %v", r, err)
	}
	if n := countOps(srv, opResume); n != 0 {
		t.Errorf("RESUME count got=%d, want 0", n)
	}
}

func testInvalidSessionResumable(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})
	newBot(t, srv, nil)
	ctx := ctxT(t)
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	srv.InvalidateSession(true)
	waitGateway(t, srv, "RESUME", func([]GatewayMessage) bool { return countOps(srv, opResume) == 1 })
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCompressedDispatches(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	newBot(t, srv, pingMux(), gateway.WithCompress(true))
	r, err := srv.InvokeSlash(ctxT(t), g, mod, "ping", nil)
	if err != nil || r.Content != "pong" {
		t.Fatalf("got=%+v %v", r, err)
	}
	var identify struct {
		D struct {
			Compress bool `json:"compress"`
		} `json:"d"`
	}
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == opIdentify {
			_ = json.Unmarshal(append([]byte(`{"d":`), append(m.D, '}')...), &identify)
		}
	}
	if !identify.D.Compress {
		t.Fatal("IDENTIFY did not ask for compression")
	}
}

func TestHeartbeatACKs(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})
	newBot(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	srv.StopHeartbeatACKs(true)
	acks := func() int {
		n := 0
		for _, m := range srv.GatewayMessages() {
			if !m.Inbound && m.Op == opHeartbeatACK {
				n++
			}
		}
		return n
	}
	before := acks()
	beats := countOps(srv, opHeartbeat)
	waitGateway(t, srv, "two more heartbeats", func([]GatewayMessage) bool { return countOps(srv, opHeartbeat) >= beats+2 })
	if got := acks(); got != before {
		t.Fatalf("ACKs got=%d, want %d while stopped", got, before)
	}
	srv.StopHeartbeatACKs(false)
}
