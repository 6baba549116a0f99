package discordtest

import (
	"context"
	"encoding/json"
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
	stopped := countOps(srv, opHeartbeat)
	srv.StopHeartbeatACKs(true)
	// An ACK of a heartbeat that arrived just before the stop may still
	// be on its way: count from the first heartbeat after it.
	waitGateway(t, srv, "a heartbeat after the stop", func([]GatewayMessage) bool { return countOps(srv, opHeartbeat) > stopped })
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
