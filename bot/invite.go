package bot

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/disgoorg/disgo/discord"
)

// basePermissions are needed by every guild the bot serves: posting to the
// modlog and sending embeds there.
const basePermissions = discord.PermissionViewChannel | discord.PermissionSendMessages | discord.PermissionEmbedLinks

// Permissions returns what the bot needs in a guild to run every command,
// and View Audit Log, without which Discord sends no audit-log entries and
// actions taken outside the bot are not recorded.
func Permissions(cmds []Command) discord.Permissions {
	p := basePermissions | manualActionPermission
	for _, c := range cmds {
		p |= c.BotPermissions
	}
	return p
}

// ApplicationID returns the application ID encoded in a bot token's first
// segment.
func ApplicationID(token string) (string, error) {
	first, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(first, "="))
	if err != nil || first == "" {
		return "", errors.New("the token is not a Discord bot token: copy it again from the Bot page of your application in the developer portal")
	}
	id := string(raw)
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", errors.New("the token is not a Discord bot token: copy it again from the Bot page of your application in the developer portal")
	}
	return id, nil
}

// InviteURL returns the OAuth2 link that adds the bot to a server with
// exactly the permissions its commands need, plus the commands scope.
func InviteURL(applicationID string, cmds []Command) string {
	q := url.Values{}
	q.Set("client_id", applicationID)
	q.Set("scope", "bot applications.commands")
	q.Set("permissions", strconv.FormatInt(int64(Permissions(cmds)), 10))
	return fmt.Sprintf("https://discord.com/oauth2/authorize?%s", q.Encode())
}
