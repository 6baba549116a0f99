package bot

// routes is the bot's whole interaction surface: every slash command and
// subcommand, button and autocomplete it answers, with its handler. A
// command's definition (what Discord shows) lives in the command's file;
// TestRoutesCoverDefinitions checks that the two agree.
//
// deferred routes answer at once with an ephemeral "thinking…" and fill it
// in when done, so slow work never misses Discord's 3-second limit.
func (h *handlers) routes() []route {
	return []route{
		slash("/ping", h.handlePing),

		slash("/warn", h.deferred("warn", h.handleWarn)),
		slash("/warnings", h.handleWarnings),
		button(warningsPageRoute, 4, h.handleWarningsPage),
		slash("/unwarn", h.deferred("unwarn", h.handleUnwarn)),
		autocomplete("/unwarn", h.unwarnAutocomplete),
		// /case view only reads, but it defers too: the moderator check
		// may have to ask Discord for the guild, which can be slow.
		slash("/case/view", h.deferred("case view", h.handleCaseView)),
		slash("/case/reason", h.deferred("case reason", h.handleCaseReason)),
		slash("/note", h.deferred("note", h.handleNote)),

		slash("/timeout", h.deferred("timeout", h.handleAction(actionCommandOf("timeout")))),
		slash("/untimeout", h.deferred("untimeout", h.handleAction(actionCommandOf("untimeout")))),
		slash("/kick", h.deferred("kick", h.handleAction(actionCommandOf("kick")))),
		slash("/ban", h.deferred("ban", h.handleAction(actionCommandOf("ban")))),
		slash("/unban", h.deferred("unban", h.handleAction(actionCommandOf("unban")))),

		slash("/purge", h.deferred("purge", h.handlePurge)),
		slash("/modstats", h.deferred("modstats", h.handleModstats)),

		slash("/mywarnings", h.handleMyWarnings),
		slash("/privacy/export", h.handlePrivacyExport),
		slash("/privacy/erase", h.handlePrivacyErase),
		button(privacyEraseRoute, 4, h.handlePrivacyEraseButton),

		slash("/config/show", h.handleConfigShow),
		slash("/config/modlog", h.handleConfigModlog),
		slash("/config/modroles", h.handleConfigModroles),
		slash("/config/dm", h.handleConfigDM),
		slash("/config/expiry", h.handleConfigExpiry),
		slash("/config/moderator-names", h.handleConfigModeratorNames),
		slash("/config/retention", h.handleConfigRetention),
		slash("/config/escalation/add", h.handleEscalationAdd),
		slash("/config/escalation/remove", h.handleEscalationRemove),
		slash("/config/escalation/list", h.handleEscalationList),
		slash("/config/limits/show", h.handleConfigLimitsShow),
		slash("/config/limits/lift", h.handleConfigLimitsLift),
	}
}
