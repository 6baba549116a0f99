package bot

// routes is the bot's whole interaction surface: every slash command and
// subcommand, context-menu entry, button, modal and autocomplete it answers, with its handler. A
// command's definition (what Discord shows) lives in the command's file;
// TestRoutesCoverDefinitions checks that the two agree.
//
// deferred routes answer at once with an ephemeral "thinking…" and fill it
// in when done, so slow work never misses Discord's 3-second limit.
func (h *handlers) routes() []route {
	return []route{
		slash("/ping", h.handlePing),

		// withPresets expands a reason typed as a preset's name; every
		// reason option autocompletes from the presets.
		slash("/warn", h.withPresets(h.deferred("warn", h.handleWarn))),
		autocomplete("/warn", h.presetAutocomplete),
		slash("/warnings", h.handleWarnings),
		button(warningsPageRoute, 4, h.handleWarningsPage),
		slash("/unwarn", h.withPresets(h.deferred("unwarn", h.handleUnwarn))),
		autocomplete("/unwarn", byOption(map[string]autocompleteHandler{"case": h.unwarnAutocomplete, "reason": h.presetAutocomplete})),
		slash("/clearwarnings", h.withPresets(h.handleClearWarnings)),
		autocomplete("/clearwarnings", h.presetAutocomplete),
		button(clearWarningsRoute, 5, h.handleClearWarningsButton),
		// /case view only reads, but it defers too: the moderator check
		// may have to ask Discord for the guild, which can be slow.
		slash("/case/view", h.deferred("case view", h.handleCaseView)),
		autocomplete("/case/view", h.caseAutocomplete),
		slash("/case/reason", h.withPresets(h.deferred("case reason", h.handleCaseReason))),
		autocomplete("/case/reason", byOption(map[string]autocompleteHandler{"number": h.caseAutocomplete, "reason": h.presetAutocomplete})),
		slash("/note", h.deferred("note", h.handleNote)),

		userMenu(menuWarn, h.handleWarnMenu),
		messageMenu(menuWarnMessage, h.handleWarnMessageMenu),
		modal(warnModalRoute, 2, h.handleWarnModal),
		modal(warnMessageModalRoute, 4, h.handleWarnModal),
		userMenu(menuWarnings, h.handleWarningsMenu),

		slash("/timeout", h.withPresets(h.deferred("timeout", h.handleAction(actionCommandOf("timeout"))))),
		autocomplete("/timeout", h.presetAutocomplete),
		slash("/untimeout", h.withPresets(h.deferred("untimeout", h.handleAction(actionCommandOf("untimeout"))))),
		autocomplete("/untimeout", h.presetAutocomplete),
		slash("/kick", h.withPresets(h.deferred("kick", h.handleAction(actionCommandOf("kick"))))),
		autocomplete("/kick", h.presetAutocomplete),
		slash("/ban", h.withPresets(h.deferred("ban", h.handleAction(actionCommandOf("ban"))))),
		autocomplete("/ban", h.presetAutocomplete),
		slash("/unban", h.withPresets(h.deferred("unban", h.handleAction(actionCommandOf("unban"))))),
		autocomplete("/unban", h.presetAutocomplete),

		slash("/purge", h.deferred("purge", h.handlePurge)),
		slash("/modstats", h.deferred("modstats", h.handleModstats)),

		slash("/mywarnings", h.handleMyWarnings),
		slash("/privacy/export", h.handlePrivacyExport),
		slash("/privacy/erase", h.handlePrivacyErase),
		button(privacyEraseRoute, 5, h.handlePrivacyEraseButton),

		slash("/config/show", h.handleConfigShow),
		slash("/config/modlog", h.handleConfigModlog),
		slash("/config/modroles", h.handleConfigModroles),
		slash("/config/dm", h.handleConfigDM),
		slash("/config/expiry", h.handleConfigExpiry),
		slash("/config/moderator-names", h.handleConfigModeratorNames),
		slash("/config/retention", h.handleConfigRetention),
		slash("/config/manual-actions", h.handleConfigManualActions),
		slash("/config/escalation/add", h.handleEscalationAdd),
		slash("/config/escalation/remove", h.handleEscalationRemove),
		slash("/config/escalation/list", h.handleEscalationList),
		slash("/config/limits/show", h.handleConfigLimitsShow),
		slash("/config/limits/lift", h.handleConfigLimitsLift),
		slash("/config/reasons/add", h.handlePresetAdd),
		slash("/config/reasons/remove", h.handlePresetRemove),
		autocomplete("/config/reasons/remove", h.presetNameAutocomplete),
		slash("/config/reasons/list", h.handlePresetList),
	}
}
