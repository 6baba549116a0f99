// Package discordtest is a fake Discord for tests and demos, in the spirit of
// net/http/httptest: a REST API and a gateway on 127.0.0.1 that disgo cannot
// tell from Discord for everything the bot uses, with a model of guilds,
// roles, members, channels and bans, and checks of what Discord would refuse.
//
// # Use in a test
//
//	srv := discordtest.NewServer(discordtest.WithSpec(discordtest.SpecPath()))
//	defer srv.Close()
//	g := srv.AddGuild(discordtest.GuildOptions{Name: "Test"})
//	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{g.AddRole("mods", discord.PermissionModerateMembers, 5)}})
//	spammer := g.AddMember(discordtest.MemberOptions{Username: "spammer"})
//
//	// Point the bot at the fake: token, REST URL and gateway URL.
//	client, _ := disgo.New(srv.Token(),
//		bot.WithRestClientConfigOpts(rest.WithURL(srv.APIURL())),
//		bot.WithGatewayConfigOpts(gateway.WithURL(srv.GatewayURL()), gateway.WithIntents(gateway.IntentGuilds)),
//		bot.WithEventListeners(mux))
//	... register commands, client.OpenGateway(ctx) ...
//
//	// Act as the moderator: dispatch INTERACTION_CREATE and wait for the answer.
//	r, err := srv.InvokeSlash(ctx, g, mod, "warn", discordtest.Options{"user": spammer, "reason": "spam"})
//	// r.Content, r.Embeds, r.Ephemeral, r.Followups, r.Requests ...
//	// srv.Violations() and srv.Pings() should be empty for a correct bot.
//
// InvokeSlash takes "name", "name sub" or "name group sub" and types the
// options from the command the bot registered (it waits for registration).
// ClickButton, SelectMenu and Autocomplete cover the other interaction
// types. Messages and DMs return what the bot posted; Requests, RequestsTo,
// WaitFor and GatewayMessages return everything recorded.
//
// # What is enforced
//
// Interactions: one callback each, within 3 s (WithInteractionDeadline), of
// a type valid for the interaction; follow-ups and @original edits only
// after a callback. Messages: Discord's length, embed and component limits.
// Moderation: the bot's own permissions and role hierarchy (403 50013), DMs
// to users who closed them (403 50007), unknown members (10007), bans
// (10026) and deleted channels (10003). With WithSpec, every JSON request
// body is validated against Discord's OpenAPI description (testdata/). A
// request Discord would reject because of a bug is answered as Discord
// would and recorded as a Violation; a message that would notify people
// (no allowed_mentions, or one that allows the mention) is recorded as a
// Ping.
//
// # Faults
//
// RateLimit, FailNext and Delay act on REST routes, named by the patterns
// in Request.Route ("/channels/{channel_id}/messages"). DropGateway,
// SendReconnect, InvalidateSession, CloseGateway, RequestHeartbeat and
// StopHeartbeatACKs act on the gateway; sessions survive a dropped
// connection and RESUME replays missed dispatches.
//
// # disgo and the race detector
//
// disgo v0.18.15's gateway has data races of its own on Close and on every
// reconnect. See race.go for the recipe (SerializeLogs, a short
// WithHeartbeatInterval, WaitHeartbeat, SyncLogs) that keeps a -race test
// that only opens and closes a client clean; reconnects cannot be made clean.
//
// The package needs no files at run time (WithSpec is optional) and does not
// import testing, so `bot demo` can run it in the release binary.
package discordtest
