package discordtest

// Guild events beyond AddGuild: the bot removed from a guild and added
// back, and a guild's outage and recovery, each with the gateway event
// Discord sends.

// RemoveBot takes the bot out of the guild, as an admin removing it does,
// and sends GUILD_DELETE without unavailable. The guild and its records in
// the fake stay, so that AddBotBack can return the bot to it.
func (g *Guild) RemoveBot() {
	s := g.srv
	s.mu.Lock()
	if m, ok := g.members[s.botID]; ok {
		s.removeMemberLocked(g, m)
	}
	s.mu.Unlock()
	s.broadcast("GUILD_DELETE", intentGuilds, obj{"id": g.ID.String()})
}

// AddBotBack adds the bot to the guild again, with its role, and sends
// GUILD_CREATE, as accepting a new invite does.
func (g *Guild) AddBotBack() {
	var roles []*Role
	if g.botRole != nil {
		roles = []*Role{g.botRole}
	}
	g.AddMember(MemberOptions{ID: g.srv.botID, Roles: roles})
	g.sendCreate()
}

// Outage sends GUILD_DELETE with unavailable: true, as Discord does when
// the guild's servers fail; the bot stays a member.
func (g *Guild) Outage() {
	g.srv.broadcast("GUILD_DELETE", intentGuilds, obj{"id": g.ID.String(), "unavailable": true})
}

// Recover sends GUILD_CREATE for the guild, as at the end of an outage.
func (g *Guild) Recover() { g.sendCreate() }

// sendCreate sends the guild's GUILD_CREATE to every session with the
// guilds intent.
func (g *Guild) sendCreate() {
	s := g.srv
	s.mu.Lock()
	targets := s.liveSessionsLocked()
	payloads := make([]any, len(targets))
	for i, ss := range targets {
		payloads[i] = s.guildCreatePayloadLocked(g, ss.intents)
	}
	s.mu.Unlock()
	for i, ss := range targets {
		if ss.intents&intentGuilds != 0 {
			ss.dispatch("GUILD_CREATE", payloads[i])
		}
	}
}
