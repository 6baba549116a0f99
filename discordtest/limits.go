package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// Message is a message the bot sent: to a channel, a DM, or as an
// interaction response or follow-up. Values returned by the Server are
// copies.
type Message struct {
	ID        snowflake.ID
	ChannelID snowflake.ID
	GuildID   snowflake.ID // zero in DMs
	AuthorID  snowflake.ID
	Content   string
	Embeds    []discord.Embed
	// Components are the parsed top-level components; RawComponents the JSON
	// as sent.
	Components    []discord.ContainerComponent
	RawComponents json.RawMessage
	Flags         discord.MessageFlags
	// AllowedMentions is nil when the request had none.
	AllowedMentions *discord.AllowedMentions
	// Files are the attachments uploaded with the message.
	Files []File
	// InteractionID is set on interaction responses and follow-ups.
	InteractionID snowflake.ID
	CreatedAt     time.Time
	EditedAt      time.Time
	Deleted       bool
}

// Ephemeral reports whether only the invoking user sees the message.
func (m Message) Ephemeral() bool { return m.Flags.Has(discord.MessageFlagEphemeral) }

// CustomIDs lists the custom IDs of the message's interactive components.
func (m Message) CustomIDs() []string {
	var out []string
	for _, row := range m.Components {
		for _, c := range row.Components() {
			if id := c.ID(); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// messageBody is the part of a message create or edit body the fake reads.
type messageBody struct {
	Content         *string          `json:"content"`
	Embeds          *[]discord.Embed `json:"embeds"`
	Components      json.RawMessage  `json:"components"`
	Flags           *int             `json:"flags"`
	AllowedMentions json.RawMessage  `json:"allowed_mentions"`
}

// newMessage builds a message from a create body.
func (s *Server) newMessage(b messageBody, channelID, guildID snowflake.ID) *Message {
	m := &Message{ID: s.newID(), ChannelID: channelID, GuildID: guildID, AuthorID: s.botID, CreatedAt: time.Now()}
	if b.Flags != nil {
		m.Flags = discord.MessageFlags(*b.Flags)
	}
	m.apply(b)
	return m
}

// apply copies the fields present in b (an edit changes only those).
func (m *Message) apply(b messageBody) {
	if b.Content != nil {
		m.Content = *b.Content
	}
	if b.Embeds != nil {
		m.Embeds = *b.Embeds
	}
	if b.Components != nil && string(b.Components) != "null" {
		m.RawComponents = append(json.RawMessage(nil), b.Components...)
		m.Components = parseComponents(b.Components)
	}
	if am := parseAllowedMentions(b.AllowedMentions); am != nil {
		m.AllowedMentions = am
	}
}

func parseComponents(raw json.RawMessage) []discord.ContainerComponent {
	var us []discord.UnmarshalComponent
	if err := json.Unmarshal(raw, &us); err != nil {
		return nil
	}
	var out []discord.ContainerComponent
	for _, u := range us {
		if c, ok := u.Component.(discord.ContainerComponent); ok {
			out = append(out, c)
		}
	}
	return out
}

func parseAllowedMentions(raw json.RawMessage) *discord.AllowedMentions {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var am discord.AllowedMentions
	if err := json.Unmarshal(raw, &am); err != nil {
		return nil
	}
	return &am
}

// checkLimits returns why Discord would refuse the message, or "". create is
// true for new messages, which must not be empty.
func checkLimits(b messageBody, create bool) string {
	var problems []string
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		problems = append(problems, fmt.Sprintf("content: %d characters, limit 2000", utf8.RuneCountInString(*b.Content)))
	}
	var embeds []discord.Embed
	if b.Embeds != nil {
		embeds = *b.Embeds
	}
	if len(embeds) > 10 {
		problems = append(problems, fmt.Sprintf("embeds: %d, limit 10", len(embeds)))
	}
	total := 0
	field := func(name, v string, limit int) {
		n := utf8.RuneCountInString(v)
		total += n
		if n > limit {
			problems = append(problems, fmt.Sprintf("%s: %d characters, limit %d", name, n, limit))
		}
	}
	for i, e := range embeds {
		p := fmt.Sprintf("embeds[%d].", i)
		field(p+"title", e.Title, 256)
		field(p+"description", e.Description, 4096)
		if len(e.Fields) > 25 {
			problems = append(problems, fmt.Sprintf("%sfields: %d, limit 25", p, len(e.Fields)))
		}
		for j, f := range e.Fields {
			field(fmt.Sprintf("%sfields[%d].name", p, j), f.Name, 256)
			field(fmt.Sprintf("%sfields[%d].value", p, j), f.Value, 1024)
		}
		if e.Footer != nil {
			field(p+"footer.text", e.Footer.Text, 2048)
		}
		if e.Author != nil {
			field(p+"author.name", e.Author.Name, 256)
		}
	}
	if total > 6000 {
		problems = append(problems, fmt.Sprintf("embeds: %d characters in total, limit 6000", total))
	}
	if len(b.Components) > 0 && string(b.Components) != "null" {
		var rows []json.RawMessage
		if json.Unmarshal(b.Components, &rows) == nil && len(rows) > 5 {
			problems = append(problems, fmt.Sprintf("components: %d rows, limit 5", len(rows)))
		}
	}
	if create && (b.Content == nil || *b.Content == "") && len(embeds) == 0 && (len(b.Components) == 0 || string(b.Components) == "null" || string(b.Components) == "[]") {
		return "empty"
	}
	return strings.Join(problems, "; ")
}

// checkMessage is checkLimits for this request: a message with files is not
// empty.
func (c *call) checkMessage(b messageBody, create bool) string {
	return checkLimits(b, create && len(c.files) == 0)
}

// attach adds the request's uploaded files to the message.
func (c *call) attach(m *Message) {
	m.Files = append(m.Files, c.files...)
}

// limitError answers a message over the limits and records the violation.
func (c *call) limitError(problem string) (int, any) {
	if problem == "empty" {
		c.s.violate(c.r, c.route, ViolationLimits, "empty message")
		return fail(http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
	}
	c.s.violate(c.r, c.route, ViolationLimits, problem)
	return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: problem}
}

var (
	everyoneRe = regexp.MustCompile(`@(everyone|here)`)
	userRe     = regexp.MustCompile(`<@!?([0-9]+)>`)
	roleRe     = regexp.MustCompile(`<@&([0-9]+)>`)
)

// mentions returns the mentions in text that allowed_mentions (nil: the
// default, everything) lets through.
func mentions(text string, am *discord.AllowedMentions) []string {
	var parse []discord.AllowedMentionType
	var users, roles []snowflake.ID
	if am == nil {
		parse = discord.DefaultAllowedMentions.Parse
	} else {
		parse, users, roles = am.Parse, am.Users, am.Roles
	}
	var out []string
	if slices.Contains(parse, discord.AllowedMentionTypeEveryone) {
		out = append(out, everyoneRe.FindAllString(text, -1)...)
	}
	for _, m := range userRe.FindAllStringSubmatch(text, -1) {
		id, _ := snowflake.Parse(m[1])
		if slices.Contains(parse, discord.AllowedMentionTypeUsers) || slices.Contains(users, id) {
			out = append(out, m[0])
		}
	}
	for _, m := range roleRe.FindAllStringSubmatch(text, -1) {
		id, _ := snowflake.Parse(m[1])
		if slices.Contains(parse, discord.AllowedMentionTypeRoles) || slices.Contains(roles, id) {
			out = append(out, m[0])
		}
	}
	return out
}

// checkPings records a Ping if the message body would notify anyone.
func (c *call) checkPings(b messageBody) {
	am := parseAllowedMentions(b.AllowedMentions)
	var texts []string
	if b.Content != nil {
		texts = append(texts, *b.Content)
	}
	if b.Embeds != nil {
		for _, e := range *b.Embeds {
			texts = append(texts, e.Title, e.Description)
			for _, f := range e.Fields {
				texts = append(texts, f.Name, f.Value)
			}
			if e.Footer != nil {
				texts = append(texts, e.Footer.Text)
			}
			if e.Author != nil {
				texts = append(texts, e.Author.Name)
			}
		}
	}
	for _, t := range texts {
		if found := mentions(t, am); len(found) > 0 {
			p := Ping{Time: time.Now(), Method: c.r.Method, Path: strings.TrimPrefix(c.r.URL.Path, apiPrefix), Route: c.route, Mentions: found, Text: t}
			c.s.mu.Lock()
			c.s.pings = append(c.s.pings, p)
			c.s.bumpLocked()
			c.s.mu.Unlock()
		}
	}
}

// messageJSONLocked renders a message as Discord returns it.
func (s *Server) messageJSONLocked(m *Message) obj {
	embeds := m.Embeds
	if embeds == nil {
		embeds = []discord.Embed{}
	}
	comps := json.RawMessage("[]")
	if m.RawComponents != nil {
		comps = m.RawComponents
	}
	o := obj{
		"id":               m.ID.String(),
		"channel_id":       m.ChannelID.String(),
		"type":             0,
		"content":          m.Content,
		"embeds":           embeds,
		"components":       comps,
		"flags":            int(m.Flags),
		"author":           s.userJSONLocked(m.AuthorID),
		"timestamp":        ts(m.CreatedAt),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"mentions":         []any{},
		"mention_roles":    []any{},
		"attachments":      []any{},
		"pinned":           false,
	}
	if !m.EditedAt.IsZero() {
		o["edited_timestamp"] = ts(m.EditedAt)
	}
	var atts []any
	for _, f := range m.Files {
		url := "https://cdn.discordapp.com/attachments/" + m.ChannelID.String() + "/" + f.ID.String() + "/" + f.Name
		atts = append(atts, obj{"id": f.ID.String(), "filename": f.Name, "size": len(f.Data), "url": url, "proxy_url": url, "flags": 0})
	}
	if atts != nil {
		o["attachments"] = atts
	}
	if m.GuildID != 0 {
		o["guild_id"] = m.GuildID.String()
	}
	if m.InteractionID != 0 {
		o["type"] = 20
		o["webhook_id"] = s.appID.String()
		o["application_id"] = s.appID.String()
	}
	return o
}
