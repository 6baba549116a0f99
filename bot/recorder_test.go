package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/disgoorg/disgo/cache"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// restCall is one call a recordedREST received.
type restCall struct {
	method      string
	guild, user snowflake.ID
	reason      string // the X-Audit-Log-Reason header
	data        any    // what was sent: a response, an update, a message
}

// recordedREST implements REST by recording every call, for handler tests
// that need no fake Discord: each call succeeds unless fail names its
// method, and answers what a real Discord would in the simplest case.
type recordedREST struct {
	mu    sync.Mutex
	calls []restCall
	fail  map[string]error
}

func (r *recordedREST) record(method string, guild, user snowflake.ID, data any, opts []rest.RequestOpt) error {
	cfg := &rest.RequestConfig{Ctx: context.Background(), Request: &http.Request{Header: http.Header{}}}
	for _, o := range opts {
		o(cfg)
	}
	// Discord takes the reason URL-encoded.
	reason, err := url.PathUnescape(cfg.Request.Header.Get("X-Audit-Log-Reason"))
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, restCall{method: method, guild: guild, user: user, reason: reason, data: data})
	return r.fail[method]
}

// called returns the calls of method, in order.
func (r *recordedREST) called(method string) []restCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []restCall
	for _, c := range r.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (r *recordedREST) CreateInteractionResponse(id snowflake.ID, _ string, resp discord.InteractionResponse, opts ...rest.RequestOpt) error {
	return r.record("CreateInteractionResponse", 0, 0, resp, opts)
}

func (r *recordedREST) UpdateInteractionResponse(_ snowflake.ID, _ string, upd discord.MessageUpdate, opts ...rest.RequestOpt) (*discord.Message, error) {
	return &discord.Message{}, r.record("UpdateInteractionResponse", 0, 0, upd, opts)
}

func (r *recordedREST) CreateFollowupMessage(_ snowflake.ID, _ string, msg discord.MessageCreate, opts ...rest.RequestOpt) (*discord.Message, error) {
	return &discord.Message{}, r.record("CreateFollowupMessage", 0, 0, msg, opts)
}

func (r *recordedREST) DeleteMessage(ch, msg snowflake.ID, opts ...rest.RequestOpt) error {
	return r.record("DeleteMessage", 0, ch, msg, opts)
}

func (r *recordedREST) CreateDMChannel(user snowflake.ID, opts ...rest.RequestOpt) (*discord.DMChannel, error) {
	return &discord.DMChannel{}, r.record("CreateDMChannel", 0, user, nil, opts)
}

func (r *recordedREST) CreateMessage(ch snowflake.ID, msg discord.MessageCreate, opts ...rest.RequestOpt) (*discord.Message, error) {
	// A real ID, as Discord gives: the bot records its modlog posts by it.
	return &discord.Message{ID: snowflake.New(time.Now()), ChannelID: ch}, r.record("CreateMessage", 0, ch, msg, opts)
}

func (r *recordedREST) GetGuild(guild snowflake.ID, _ bool, opts ...rest.RequestOpt) (*discord.RestGuild, error) {
	err := r.record("GetGuild", guild, 0, nil, opts)
	return &discord.RestGuild{Guild: discord.Guild{ID: guild, Name: "Recorded Guild"}}, err
}

func (r *recordedREST) GetMember(guild, user snowflake.ID, opts ...rest.RequestOpt) (*discord.Member, error) {
	return &discord.Member{User: discord.User{ID: user}}, r.record("GetMember", guild, user, nil, opts)
}

func (r *recordedREST) GetUser(user snowflake.ID, opts ...rest.RequestOpt) (*discord.User, error) {
	return &discord.User{ID: user, Username: "user" + user.String()}, r.record("GetUser", 0, user, nil, opts)
}

func (r *recordedREST) UpdateMember(guild, user snowflake.ID, upd discord.MemberUpdate, opts ...rest.RequestOpt) (*discord.Member, error) {
	return &discord.Member{User: discord.User{ID: user}}, r.record("UpdateMember", guild, user, upd, opts)
}

func (r *recordedREST) RemoveMember(guild, user snowflake.ID, opts ...rest.RequestOpt) error {
	return r.record("RemoveMember", guild, user, nil, opts)
}

func (r *recordedREST) AddBan(guild, user snowflake.ID, d time.Duration, opts ...rest.RequestOpt) error {
	return r.record("AddBan", guild, user, d, opts)
}

func (r *recordedREST) DeleteBan(guild, user snowflake.ID, opts ...rest.RequestOpt) error {
	return r.record("DeleteBan", guild, user, nil, opts)
}

func (r *recordedREST) GetAuditLog(guild, _ snowflake.ID, _ discord.AuditLogEvent, _, _ snowflake.ID, _ int, opts ...rest.RequestOpt) (*discord.AuditLog, error) {
	return &discord.AuditLog{}, r.record("GetAuditLog", guild, 0, nil, opts)
}

func (r *recordedREST) SetGlobalCommands(_ snowflake.ID, cmds []discord.ApplicationCommandCreate, opts ...rest.RequestOpt) ([]discord.ApplicationCommand, error) {
	return nil, r.record("SetGlobalCommands", 0, 0, cmds, opts)
}

func (r *recordedREST) SetGuildCommands(_, guild snowflake.ID, cmds []discord.ApplicationCommandCreate, opts ...rest.RequestOpt) ([]discord.ApplicationCommand, error) {
	return nil, r.record("SetGuildCommands", guild, 0, cmds, opts)
}

func (r *recordedREST) Do(*rest.CompiledEndpoint, any, any, ...rest.RequestOpt) error {
	return errors.New("recordedREST: Do is not recorded")
}

// recordedHandlers returns handlers over stores that reach Discord only
// through rec and a cache the test fills, as the gateway would.
func recordedHandlers(stores Stores, rec *recordedREST, botID snowflake.ID, now func() time.Time) (*handlers, cache.Caches) {
	caches := cache.New(cache.WithCaches(cache.FlagGuilds | cache.FlagRoles | cache.FlagMembers))
	log := slog.New(slog.DiscardHandler)
	return &handlers{
		stores:  stores,
		discord: &discordAPI{rest: rec, cache: caches, botID: func() snowflake.ID { return botID }, log: log},
		now:     now,
		log:     log,
		version: "test",
		nudge:   func() {},
	}, caches
}
