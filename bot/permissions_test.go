package bot

import (
	"errors"
	"slices"
	"testing"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// The guild every permission test runs in. Mods and Helpers share a
// position, as Discord allows; Mods has the lower ID, so it ranks higher.
const (
	permOwnerID  snowflake.ID = 10
	permBotID    snowflake.ID = 20
	permModID    snowflake.ID = 30
	permMemberID snowflake.ID = 40

	roleAdmins  snowflake.ID = 100
	roleMods    snowflake.ID = 101
	roleMembers snowflake.ID = 102
	roleHelpers snowflake.ID = 103
	roleBot     snowflake.ID = 104
	roleTrusted snowflake.ID = 105
	roleUnseen  snowflake.ID = 999
)

func permGuild() GuildFacts {
	return GuildFacts{
		OwnerID:    permOwnerID,
		BotID:      permBotID,
		ModRoleIDs: []snowflake.ID{roleTrusted},
		Roles: map[snowflake.ID]RoleFacts{
			roleAdmins:  {Position: 10, Name: "Admins"},
			roleBot:     {Position: 8, Name: "ModBot"},
			roleMods:    {Position: 5, Name: "Mods"},
			roleHelpers: {Position: 5, Name: "Helpers"},
			roleTrusted: {Position: 2, Name: "Trusted"},
			roleMembers: {Position: 1, Name: "Members"},
		},
	}
}

func permTarget(id snowflake.ID, roles ...snowflake.ID) Target {
	return Target{UserID: id, IsMember: true, RoleIDs: roles}
}

// wantRefusal checks that err is nil when want is "", and otherwise a
// *UserError showing exactly want.
func wantRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("got=%v, want nil", err)
		}
		return
	}
	var ue *UserError
	if !errors.As(err, &ue) {
		t.Fatalf("got=%#v, want *UserError %q", err, want)
	}
	if ue.Msg != want {
		t.Fatalf("got=%q, want %q", ue.Msg, want)
	}
}

func TestPermIsModerator(t *testing.T) {
	g := permGuild()
	for _, tt := range []struct {
		name  string
		actor Actor
		want  bool
	}{
		{"ModerateMembers", Actor{UserID: permModID, Permissions: discord.PermissionModerateMembers}, true},
		{"AdministratorImpliesAll", Actor{UserID: permModID, Permissions: discord.PermissionAdministrator}, true},
		{"ModRoleIsModerator", Actor{UserID: permModID, RoleIDs: []snowflake.ID{roleMembers, roleTrusted}}, true},
		{"Owner", Actor{UserID: permOwnerID}, true},
		{"ErrPlainMember", Actor{UserID: permMemberID, Permissions: discord.PermissionSendMessages, RoleIDs: []snowflake.ID{roleMembers}}, false},
		{"ErrKickIsNotEnough", Actor{UserID: permMemberID, Permissions: discord.PermissionKickMembers | discord.PermissionBanMembers}, false},
		{"ErrHigherRoleIsNotEnough", Actor{UserID: permMemberID, RoleIDs: []snowflake.ID{roleAdmins}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsModerator(tt.actor, g); got != tt.want {
				t.Fatalf("got=%v, want %v", got, tt.want)
			}
		})
	}
}

func TestPermCanManageGuild(t *testing.T) {
	for _, tt := range []struct {
		name string
		perm discord.Permissions
		want bool
	}{
		{"ManageServer", discord.PermissionManageGuild, true},
		{"AdministratorImpliesAll", discord.PermissionAdministrator, true},
		{"ErrModerator", discord.PermissionModerateMembers | discord.PermissionBanMembers, false},
		{"ErrNone", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanManageGuild(Actor{UserID: permModID, Permissions: tt.perm}); got != tt.want {
				t.Fatalf("got=%v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	g := permGuild()
	mod := Actor{UserID: permModID, Permissions: discord.PermissionModerateMembers, RoleIDs: []snowflake.ID{roleMembers, roleMods}}
	owner := Actor{UserID: permOwnerID, Permissions: discord.PermissionsAll}
	for _, tt := range []struct {
		name   string
		actor  Actor
		target Target
		verb   string
		want   string
	}{
		{"OK", mod, permTarget(permMemberID, roleMembers), "warn", ""},
		{"OKTargetHasNoRoles", mod, permTarget(permMemberID), "warn", ""},
		{"OKTieLowerIDRanksHigher", mod, permTarget(permMemberID, roleHelpers), "warn", ""},
		{"OwnerActsOnAdmin", owner, permTarget(permMemberID, roleAdmins), "ban", ""},
		{"NotMemberAllowed", Actor{UserID: permModID}, Target{UserID: permMemberID}, "ban", ""},
		{"ActorUnknownRoleIgnored", Actor{UserID: permModID, RoleIDs: []snowflake.ID{roleUnseen, roleMods}}, permTarget(permMemberID, roleMembers), "warn", ""},
		{"ErrSelf", mod, permTarget(permModID, roleMods), "warn", "You can't warn yourself."},
		{"ErrOwnerSelf", owner, permTarget(permOwnerID), "time out", "You can't time out yourself."},
		{"ErrBot", mod, permTarget(permBotID, roleBot), "kick", "You can't kick the bot."},
		{"ErrOwnerOnBot", owner, permTarget(permBotID, roleBot), "ban", "You can't ban the bot."},
		{"ErrOwner", mod, permTarget(permOwnerID), "warn", "You can't warn the server owner."},
		{"ErrOwnerAsAdmin", Actor{UserID: permModID, Permissions: discord.PermissionAdministrator, RoleIDs: []snowflake.ID{roleAdmins}}, permTarget(permOwnerID), "time out",
			"You can't time out the server owner."},
		{"ErrEqualRole", mod, permTarget(permMemberID, roleMods), "warn",
			"You can't warn someone whose highest role (@Mods) is not below yours."},
		{"ErrHigherRole", mod, permTarget(permMemberID, roleMembers, roleAdmins), "kick",
			"You can't kick someone whose highest role (@Admins) is not below yours."},
		{"ErrTieHigherIDRanksLower", Actor{UserID: permModID, RoleIDs: []snowflake.ID{roleHelpers}}, permTarget(permMemberID, roleMods), "ban",
			"You can't ban someone whose highest role (@Mods) is not below yours."},
		{"ErrSameTopRole", Actor{UserID: permModID, RoleIDs: []snowflake.ID{roleTrusted}}, permTarget(permMemberID, roleMembers, roleTrusted), "add a note to",
			"You can't add a note to someone whose highest role (@Trusted) is not below yours."},
		{"ErrNoRolesEither", Actor{UserID: permModID, Permissions: discord.PermissionModerateMembers}, permTarget(permMemberID), "warn",
			"You can't warn someone whose highest role (@everyone) is not below yours."},
		{"ErrUnknownTargetRole", mod, permTarget(permMemberID, roleMembers, roleUnseen), "warn", "I can't see all of that member's roles yet, so I can't tell whose role ranks higher. Try again in a minute."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantRefusal(t, CheckTarget(tt.actor, tt.target, g, tt.verb), tt.want)
		})
	}
}

func TestCheckBot(t *testing.T) {
	g := permGuild()
	bot := BotFacts{Permissions: discord.PermissionBanMembers | discord.PermissionKickMembers | discord.PermissionModerateMembers, RoleIDs: []snowflake.ID{roleBot}}
	admin := permTarget(permMemberID, roleMembers)
	admin.Permissions = discord.PermissionAdministrator
	for _, tt := range []struct {
		name   string
		bot    BotFacts
		target Target
		need   discord.Permissions
		verb   string
		want   string
	}{
		{"OK", bot, permTarget(permMemberID, roleMembers, roleMods), discord.PermissionBanMembers, "ban", ""},
		{"OKNoPermissionNeeded", BotFacts{RoleIDs: []snowflake.ID{roleBot}}, permTarget(permMemberID), 0, "warn", ""},
		{"AdministratorImpliesAll", BotFacts{Permissions: discord.PermissionAdministrator, RoleIDs: []snowflake.ID{roleBot}}, permTarget(permMemberID, roleMembers),
			discord.PermissionBanMembers | discord.PermissionEmbedLinks, "ban", ""},
		{"NotMemberAllowed", bot, Target{UserID: permMemberID}, discord.PermissionBanMembers, "ban", ""},
		{"BanAdministratorAllowed", bot, admin, discord.PermissionBanMembers, "ban", ""},
		{"BotMissingBan", BotFacts{Permissions: discord.PermissionKickMembers, RoleIDs: []snowflake.ID{roleBot}}, permTarget(permMemberID), discord.PermissionBanMembers, "ban",
			"I need the Ban Members permission to ban. A server admin can give it to my role in Server Settings → Roles."},
		{"BotMissingTimeout", BotFacts{}, Target{UserID: permMemberID}, discord.PermissionModerateMembers, "time out",
			"I need the Timeout Members permission to time out. A server admin can give it to my role in Server Settings → Roles."},
		{"BotMissingTwo", BotFacts{Permissions: discord.PermissionSendMessages}, permTarget(permMemberID),
			discord.PermissionBanMembers | discord.PermissionEmbedLinks | discord.PermissionSendMessages, "ban",
			"I need the Ban Members and Embed Links permissions to ban. A server admin can give them to my role in Server Settings → Roles."},
		{"BotRoleTooLow", bot, permTarget(permMemberID, roleMembers, roleAdmins), discord.PermissionBanMembers, "ban",
			"I can't ban them: their highest role (@Admins) is not below mine. Move my role above @Admins in Server Settings → Roles."},
		{"BotRoleEqual", bot, permTarget(permMemberID, roleBot), discord.PermissionKickMembers, "kick",
			"I can't kick them: their highest role (@ModBot) is not below mine. Move my role above @ModBot in Server Settings → Roles."},
		{"BotWithoutRoles", BotFacts{Permissions: discord.PermissionKickMembers}, permTarget(permMemberID, roleMembers), discord.PermissionKickMembers, "kick",
			"I can't kick them: their highest role (@Members) is not below mine. Move my role above @Members in Server Settings → Roles."},
		{"ErrOwner", bot, permTarget(permOwnerID), discord.PermissionBanMembers, "ban", "I can't ban the server owner: Discord doesn't allow it."},
		{"ErrSelf", bot, permTarget(permBotID, roleBot), discord.PermissionKickMembers, "kick", "I can't act on myself."},
		{"ErrTimeoutAdministrator", bot, admin, discord.PermissionModerateMembers, "time out",
			"I can't time out someone with the Administrator permission: Discord doesn't allow it."},
		{"ErrUnknownTargetRole", bot, permTarget(permMemberID, roleUnseen), discord.PermissionBanMembers, "ban", "I can't see all of that member's roles yet, so I can't tell whose role ranks higher. Try again in a minute."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantRefusal(t, CheckBot(tt.bot, tt.target, tt.need, g, tt.verb), tt.want)
		})
	}
}

func TestPermissionNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		perm discord.Permissions
		want string
	}{
		{"None", 0, ""},
		{"ModerateMembers", discord.PermissionModerateMembers, "Timeout Members"},
		{"KickMembers", discord.PermissionKickMembers, "Kick Members"},
		{"BanMembers", discord.PermissionBanMembers, "Ban Members"},
		{"ManageServer", discord.PermissionManageGuild, "Manage Server"},
		{"SendMessages", discord.PermissionSendMessages, "Send Messages"},
		{"EmbedLinks", discord.PermissionEmbedLinks, "Embed Links"},
		{"ViewChannel", discord.PermissionViewChannel, "View Channels"},
		{"Administrator", discord.PermissionAdministrator, "Administrator"},
		{"Two", discord.PermissionBanMembers | discord.PermissionKickMembers, "Kick Members and Ban Members"},
		{"Three", discord.PermissionEmbedLinks | discord.PermissionViewChannel | discord.PermissionSendMessages, "View Channels, Send Messages and Embed Links"},
		{"OutsideTable", discord.PermissionManageRoles, "Manage Roles"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := PermissionNames(tt.perm); got != tt.want {
				t.Fatalf("got=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestPermAdapters(t *testing.T) {
	roles := []snowflake.ID{roleMembers, roleMods}
	t.Run("Actor", func(t *testing.T) {
		m := discord.ResolvedMember{Member: discord.Member{User: discord.User{ID: permModID}, RoleIDs: roles}, Permissions: discord.PermissionModerateMembers}
		got := actorFrom(m)
		if got.UserID != permModID || got.Permissions != discord.PermissionModerateMembers || !slices.Equal(got.RoleIDs, roles) {
			t.Fatalf("got=%+v, want the member's ID, permissions and roles", got)
		}
	})
	t.Run("TargetMember", func(t *testing.T) {
		m := &discord.ResolvedMember{Member: discord.Member{User: discord.User{ID: permMemberID}, RoleIDs: roles}, Permissions: discord.PermissionAdministrator}
		got := targetFrom(permMemberID, m)
		if got.UserID != permMemberID || !got.IsMember || got.Permissions != discord.PermissionAdministrator || !slices.Equal(got.RoleIDs, roles) {
			t.Fatalf("got=%+v, want a member with its roles and permissions", got)
		}
	})
	t.Run("TargetNotMember", func(t *testing.T) {
		if got, want := targetFrom(permMemberID, nil), (Target{UserID: permMemberID}); got.UserID != want.UserID || got.IsMember || got.RoleIDs != nil {
			t.Fatalf("got=%+v, want %+v", got, want)
		}
	})
	t.Run("Bot", func(t *testing.T) {
		got := botFactsFrom(discord.PermissionBanMembers, discord.Member{User: discord.User{ID: permBotID}, RoleIDs: []snowflake.ID{roleBot}})
		if got.Permissions != discord.PermissionBanMembers || !slices.Equal(got.RoleIDs, []snowflake.ID{roleBot}) {
			t.Fatalf("got=%+v, want the bot's permissions and roles", got)
		}
	})
	t.Run("Guild", func(t *testing.T) {
		g := guildFactsFrom(permOwnerID, permBotID, []discord.Role{
			{ID: roleAdmins, Name: "Admins", Position: 10},
			{ID: roleMembers, Name: "Members", Position: 1},
		}, []snowflake.ID{roleTrusted})
		if g.OwnerID != permOwnerID || g.BotID != permBotID || !slices.Equal(g.ModRoleIDs, []snowflake.ID{roleTrusted}) {
			t.Fatalf("got=%+v, want owner, bot and moderator roles set", g)
		}
		if got, want := g.Roles[roleAdmins], (RoleFacts{Position: 10, Name: "Admins"}); got != want {
			t.Fatalf("got=%+v, want %+v", got, want)
		}
		err := CheckTarget(Actor{UserID: permModID, RoleIDs: []snowflake.ID{roleMembers}}, permTarget(permMemberID, roleAdmins), g, "warn")
		wantRefusal(t, err, "You can't warn someone whose highest role (@Admins) is not below yours.")
	})
}
