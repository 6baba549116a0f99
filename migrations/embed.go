// Package migrations holds the numbered goose migrations of the bot's SQLite
// schema, embedded so that the one binary carries them.
//
// Each file is NNNNN_name.sql with "-- +goose Up" and "-- +goose Down"
// sections. A released migration is never edited: a change to the schema is
// a new file with the next number, because databases in the field have
// already run the old one.
package migrations

import "embed"

// FS holds every migration file. storage hands it to goose's Provider.
//
//go:embed *.sql
var FS embed.FS
