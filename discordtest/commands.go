package discordtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/disgoorg/snowflake/v2"
)

// command is a registered application command: the JSON as Discord returns
// it, and the parts InvokeSlash needs.
type command struct {
	ID      snowflake.ID
	Name    string
	Type    int
	Options []commandOption
	raw     obj
}

// commandOption is an option or a subcommand (group) of a command.
type commandOption struct {
	Type         int             `json:"type"`
	Name         string          `json:"name"`
	Required     bool            `json:"required"`
	Autocomplete bool            `json:"autocomplete"`
	Options      []commandOption `json:"options"`
}

func (s *Server) commandRoutes(add func(string, string, bool, routeHandler)) {
	for _, prefix := range []string{"/applications/{application_id}", "/applications/{application_id}/guilds/{guild_id}"} {
		add("GET", prefix+"/commands", true, s.listCommands)
		add("PUT", prefix+"/commands", true, s.overwriteCommands)
		add("POST", prefix+"/commands", true, s.createCommand)
		for _, one := range []string{"/commands/{command_id}", "/command/{command_id}"} {
			add("GET", prefix+one, true, s.getCommand)
			add("PATCH", prefix+one, true, s.editCommand)
			add("DELETE", prefix+one, true, s.deleteCommand)
		}
	}
}

// commandScope checks the application ID and returns the guild ID of the
// route (0 for global commands).
func (c *call) commandScope() (snowflake.ID, int, any) {
	app, _ := c.pathID("application_id")
	if app != c.s.appID {
		status, body := fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
		return 0, status, body
	}
	if c.r.PathValue("guild_id") == "" {
		return 0, 0, nil
	}
	gid, _ := c.pathID("guild_id")
	c.s.mu.Lock()
	g := c.s.guildLocked(gid)
	c.s.mu.Unlock()
	if g == nil {
		status, body := fail(http.StatusNotFound, codeUnknownGuild, "Unknown Guild")
		return 0, status, body
	}
	return gid, 0, nil
}

// buildCommand turns a create body into a stored command, keeping the ID of
// an existing command with the same name and type, as Discord does.
func (s *Server) buildCommandLocked(raw obj, guildID snowflake.ID, existing []command) (command, error) {
	b, _ := json.Marshal(raw)
	var cmd command
	if err := json.Unmarshal(b, &cmd); err != nil {
		return command{}, err
	}
	if cmd.Type == 0 {
		cmd.Type = 1
	}
	cmd.ID = s.newID()
	for _, e := range existing {
		if e.Name == cmd.Name && e.Type == cmd.Type {
			cmd.ID = e.ID
		}
	}
	out := obj{}
	for k, v := range raw {
		out[k] = v
	}
	out["id"] = cmd.ID.String()
	out["application_id"] = s.appID.String()
	out["type"] = cmd.Type
	out["version"] = s.newID().String()
	if _, ok := out["description"]; !ok {
		out["description"] = ""
	}
	if _, ok := out["default_member_permissions"]; !ok {
		out["default_member_permissions"] = nil
	}
	if guildID != 0 {
		out["guild_id"] = guildID.String()
	}
	cmd.raw = out
	return cmd, nil
}

func (s *Server) listCommands(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	for _, cmd := range s.commands[gid] {
		out = append(out, cmd.raw)
	}
	return http.StatusOK, out
}

func (s *Server) overwriteCommands(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	var raws []obj
	if err := c.decode(&raws); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.commands[gid]
	cmds := make([]command, 0, len(raws))
	out := make([]obj, 0, len(raws))
	for _, raw := range raws {
		cmd, err := s.buildCommandLocked(raw, gid, old)
		if err != nil {
			return badBody(err)
		}
		if slices.ContainsFunc(cmds, func(o command) bool { return o.Name == cmd.Name && o.Type == cmd.Type }) {
			return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "duplicate command name " + cmd.Name}
		}
		cmds = append(cmds, cmd)
		out = append(out, cmd.raw)
	}
	s.commands[gid] = cmds
	s.bumpLocked()
	return http.StatusOK, out
}

func (s *Server) createCommand(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	var raw obj
	if err := c.decode(&raw); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd, err := s.buildCommandLocked(raw, gid, s.commands[gid])
	if err != nil {
		return badBody(err)
	}
	list := slices.DeleteFunc(s.commands[gid], func(o command) bool { return o.ID == cmd.ID })
	s.commands[gid] = append(list, cmd)
	s.bumpLocked()
	return http.StatusCreated, cmd.raw
}

// findCommandLocked returns the index of the route's command in its scope.
func (s *Server) findCommandLocked(c *call, gid snowflake.ID) int {
	id, _ := c.pathID("command_id")
	return slices.IndexFunc(s.commands[gid], func(o command) bool { return o.ID == id })
}

func (s *Server) getCommand(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findCommandLocked(c, gid)
	if i < 0 {
		return fail(http.StatusNotFound, codeUnknownCommand, "Unknown application command")
	}
	return http.StatusOK, s.commands[gid][i].raw
}

func (s *Server) editCommand(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	var patch obj
	if err := c.decode(&patch); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findCommandLocked(c, gid)
	if i < 0 {
		return fail(http.StatusNotFound, codeUnknownCommand, "Unknown application command")
	}
	merged := obj{}
	for k, v := range s.commands[gid][i].raw {
		merged[k] = v
	}
	for k, v := range patch {
		merged[k] = v
	}
	cmd, err := s.buildCommandLocked(merged, gid, s.commands[gid])
	if err != nil {
		return badBody(err)
	}
	s.commands[gid][i] = cmd
	s.bumpLocked()
	return http.StatusOK, cmd.raw
}

func (s *Server) deleteCommand(c *call) (int, any) {
	gid, status, body := c.commandScope()
	if status != 0 {
		return status, body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findCommandLocked(c, gid)
	if i < 0 {
		return fail(http.StatusNotFound, codeUnknownCommand, "Unknown application command")
	}
	s.commands[gid] = slices.Delete(s.commands[gid], i, i+1)
	s.bumpLocked()
	return http.StatusNoContent, nil
}

// Commands returns the registered commands of a guild (0: the global ones)
// as Discord would return them.
func (s *Server) Commands(guildID snowflake.ID) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, c := range s.commands[guildID] {
		out = append(out, c.raw)
	}
	return out
}

// findSlashLocked looks up a chat-input command by name for a guild, guild
// commands first.
func (s *Server) findSlashLocked(guildID snowflake.ID, name string) (command, bool) {
	for _, scope := range []snowflake.ID{guildID, 0} {
		for _, c := range s.commands[scope] {
			if c.Type == 1 && strings.EqualFold(c.Name, name) {
				return c, true
			}
		}
	}
	return command{}, false
}
