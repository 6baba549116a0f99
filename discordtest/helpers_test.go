package discordtest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/disgoorg/disgo"
	"github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/json"
)

// testCommands are registered by every test bot.
var testCommands = []discord.ApplicationCommandCreate{
	discord.SlashCommandCreate{Name: "ping", Description: "Replies pong"},
	discord.SlashCommandCreate{
		Name:        "warn",
		Description: "Warn a member",
		Options: []discord.ApplicationCommandOption{
			discord.ApplicationCommandOptionUser{Name: "user", Description: "Who", Required: true},
			discord.ApplicationCommandOptionString{Name: "reason", Description: "Why", Required: true},
			discord.ApplicationCommandOptionBool{Name: "silent", Description: "No DM"},
		},
		DefaultMemberPermissions: nullPerm(discord.PermissionModerateMembers),
	},
	discord.SlashCommandCreate{
		Name:        "case",
		Description: "Cases",
		Options: []discord.ApplicationCommandOption{
			discord.ApplicationCommandOptionSubCommand{Name: "view", Description: "Show a case", Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionInt{Name: "number", Description: "Case number", Required: true, Autocomplete: true},
			}},
		},
	},
	discord.SlashCommandCreate{
		Name:        "config",
		Description: "Settings",
		Options: []discord.ApplicationCommandOption{
			discord.ApplicationCommandOptionSubCommandGroup{Name: "escalation", Description: "Escalation", Options: []discord.ApplicationCommandOptionSubCommand{
				{Name: "add", Description: "Add a step", Options: []discord.ApplicationCommandOption{
					discord.ApplicationCommandOptionInt{Name: "warnings", Description: "After", Required: true},
					discord.ApplicationCommandOptionRole{Name: "role", Description: "Role"},
					discord.ApplicationCommandOptionChannel{Name: "channel", Description: "Channel"},
				}},
			}},
		},
	},
}

func nullPerm(p discord.Permissions) *json.Nullable[discord.Permissions] {
	v := json.NewNullable(p)
	return &v
}

// newServer starts a server with spec validation, closed at the end of the
// test, which also fails the test on any unexpected violation unless
// allowViolations was called.
func newServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	// A short heartbeat interval, SerializeLogs and WaitHeartbeat keep
	// disgo's own data races ordered; see race.go.
	srv := NewServer(append([]Option{WithSpec("testdata/openapi.json"), WithHeartbeatInterval(150 * time.Millisecond)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// expectNoViolations fails the test if the server recorded any violation.
func expectNoViolations(t *testing.T, srv *Server) {
	t.Helper()
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// testLogger is disgo's logger: serialized (see race.go), and silent unless
// DISCORDTEST_DEBUG is set.
func testLogger() *slog.Logger {
	level := slog.LevelError + 4
	if os.Getenv("DISCORDTEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(SerializeLogs(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

// newBot connects a real disgo client with the mux, registers testCommands
// globally and waits for READY and every GUILD_CREATE.
func newBot(t *testing.T, srv *Server, mux *handler.Mux, extra ...gateway.ConfigOpt) bot.Client {
	t.Helper()
	return newBotToken(t, srv, srv.Token(), mux, true, extra...)
}

func newBotToken(t *testing.T, srv *Server, token string, mux *handler.Mux, wait bool, extra ...gateway.ConfigOpt) bot.Client {
	t.Helper()
	ready := make(chan struct{}, 1)
	gwOpts := append([]gateway.ConfigOpt{
		gateway.WithURL(srv.GatewayURL()),
		gateway.WithCompress(false),
		gateway.WithIntents(gateway.IntentGuilds),
	}, extra...)
	opts := []bot.ConfigOpt{
		bot.WithLogger(testLogger()),
		bot.WithEventListenerFunc(func(bot.Event) { SyncLogs() }),
		bot.WithRestClientConfigOpts(rest.WithURL(srv.APIURL())),
		bot.WithGatewayConfigOpts(gwOpts...),
		bot.WithEventListenerFunc(func(*events.GuildsReady) {
			select {
			case ready <- struct{}{}:
			default:
			}
		}),
	}
	if mux != nil {
		opts = append(opts, bot.WithEventListeners(mux))
	}
	client, err := disgo.New(token, opts...)
	if err != nil {
		t.Fatalf("disgo.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.WaitHeartbeat(ctx)
		SyncLogs()
		client.Close(ctx)
	})
	if !wait {
		return client
	}
	if err := handler.SyncCommands(client, testCommands, nil); err != nil {
		t.Fatalf("SyncCommands: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.OpenGateway(ctx); err != nil {
		t.Fatalf("OpenGateway: %v", err)
	}
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("no GuildsReady")
	}
	return client
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// restCode extracts the Discord JSON error code from a disgo REST error.
func restCode(err error) int {
	var re rest.Error
	if errors.As(err, &re) {
		return int(re.Code)
	}
	return -1
}
