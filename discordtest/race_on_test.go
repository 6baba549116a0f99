//go:build race

package discordtest

// raceEnabled reports whether the test binary was built with -race.
const raceEnabled = true
